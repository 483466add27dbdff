"""A thread pool map for per-file work that releases the GIL (reads, pixel copies, transforms).

One pool per call, shut down before returning: nothing outlives the call, so a caller forked into
a DataLoader worker never inherits a pool's threads or locks.
"""
from __future__ import annotations

import os
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, Callable, Sequence

__all__ = ["default_workers", "check_workers", "run"]


def default_workers() -> int:
    """Threads for file reads: twice the cores (reads wait on I/O part of the time), at most 16."""
    return max(1, min(16, 2 * (os.cpu_count() or 1)))


def check_workers(workers: Any) -> int:
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise TypeError(f"workers must be an int or None, not {type(workers).__name__}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    return workers


def run(func: Callable[[int, Any], Any], items: Sequence[Any], workers: int) -> list:
    """``[func(i, item) for i, item in enumerate(items)]``, on ``workers`` threads.

    The first exception (in input order among those raised) is raised once every task has
    stopped: tasks not yet started are cancelled, running ones are waited for, so none is still
    writing into a caller's array after this returns.
    """
    n = len(items)
    if workers <= 1 or n <= 1:
        return [func(i, item) for i, item in enumerate(items)]
    with ThreadPoolExecutor(max_workers=min(workers, n)) as pool:
        futures = [pool.submit(func, i, item) for i, item in enumerate(items)]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        if pending:
            for f in pending:
                f.cancel()
            wait(pending)
    for f in futures:
        if not f.cancelled() and f.exception() is not None:
            raise f.exception()
    return [f.result() for f in futures]
