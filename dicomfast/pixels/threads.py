"""A thread pool map for work that releases the GIL: per-file reads, pixel copies and transforms
(``dicomfast.collection``), and the frames of one file through the codecs (``native``).

One pool per call, shut down before returning: nothing outlives the call, so a caller forked into
a DataLoader worker never inherits a pool's threads or locks.
"""
from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, Callable, Sequence

__all__ = ["default_workers", "check_workers", "run", "frame_workers", "codec_threads", "THREADED_FRAME_BYTES"]


def default_workers() -> int:
    """Threads for file reads: twice the cores (reads wait on I/O part of the time), at most 16."""
    return max(1, min(16, 2 * (os.cpu_count() or 1)))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _in_dataloader_worker() -> bool:
    torch = sys.modules.get("torch")  # never imported here: only asked when the caller has it
    if torch is None:
        return False
    try:
        return torch.utils.data.get_worker_info() is not None
    except AttributeError:
        return False


#: Frames smaller than this decode faster on one thread than a pool's hand-off costs (by default;
#: ``workers=`` overrides): 64 x 64 x 16-bit frames measured 6x slower on 2 threads, 512 x 512 faster.
THREADED_FRAME_BYTES = 128 * 1024


def _free_cores() -> int:
    """Cores this call may take for CPU-bound work: 1 inside a DataLoader worker process or inside
    another pool's thread (the caller parallelises already); else the cores the load average leaves
    free (less this thread's own share of it), at least 1."""
    if _in_dataloader_worker() or threading.current_thread() is not threading.main_thread():
        return 1
    cores = _cores()
    try:
        # the load average counts this thread too while it works: the others' share is the rest
        busy = int(max(os.getloadavg()[0] - 1.0, 0.0) + 0.5)
    except (AttributeError, OSError):
        busy = 0
    return max(1, min(cores - busy, cores))


def frame_workers(frames: int) -> int:
    """Threads for decoding the ``frames`` of one file (CPU-bound codecs): one a free core
    (:func:`_free_cores`), at most one a frame."""
    return 1 if frames <= 1 else min(frames, _free_cores())


def codec_threads(frame_bytes: int) -> int:
    """Threads inside one codec call, for the codecs that can split a frame (OpenJPEG decodes a
    frame's code blocks in parallel): one a free core for a frame of at least
    :data:`THREADED_FRAME_BYTES` decoded on its own (one frame asked for, the first frame of a file,
    a single-frame image); 1 when the frames of a file are already spread over a pool's threads."""
    return 1 if frame_bytes < THREADED_FRAME_BYTES else _free_cores()


def check_workers(workers: Any, default: int | None = None) -> int:
    """``workers`` checked: a positive int, or None for ``default`` (:func:`default_workers` when
    that is None too)."""
    if workers is None:
        return default_workers() if default is None else default
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
