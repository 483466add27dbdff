"""Run a function over chunks of a stream of items: in this process, in a process pool, or on Dask.

:func:`map_chunks` is the one executor of the collection jobs (``dicomfast.index``, the command
line's ``convert``). Whatever runs the work, it

* takes ``items`` lazily (a directory walk of millions of files is never held as a list),
* groups them into lists of ``chunksize`` and calls ``func(chunk)`` once per list, where it runs,
* keeps at most ``max_pending`` chunks in flight, so memory is bounded by the chunks in flight
  and not by the number of items,
* yields ``func(chunk)`` results in the order of the chunks (``ordered=False``: as they finish),
* advances a tqdm bar by the number of items per finished chunk when ``progress`` is true and tqdm
  imports (without tqdm: no bar, no error).

``func`` and its results cross process boundaries: ``func`` must be picklable (a module-level
function, or a ``functools.partial`` of one) and should return something cheap to pickle (an Arrow
record batch, a small summary), not a per-item list of large objects.
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import os
import sys
from typing import Any, Callable, Iterable, Iterator, TypeVar

__all__ = ["map_chunks", "default_workers"]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_CHUNKSIZE = 256


def default_workers() -> int:
    """The processes to use when the caller does not say: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def map_chunks(
    func: Callable[[list[T]], R],
    items: Iterable[T],
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | str = False,
    chunksize: int = DEFAULT_CHUNKSIZE,
    max_pending: int | None = None,
    ordered: bool = True,
    total: int | None = None,
) -> Iterator[R]:
    """Yield ``func(chunk)`` for consecutive chunks (lists of up to ``chunksize`` items) of ``items``.

    Where the chunks run:

    * ``scheduler`` a ``dask.distributed.Client``, or the address of a Dask scheduler
      (``"tcp://host:8786"``; a client is opened for the call and closed after it): on that cluster;
      ``workers`` is then ignored;
    * else ``workers=1``, or all items fit in one chunk: in this process, one chunk after another;
    * else a process pool of ``workers`` processes (``None``: one per CPU, :func:`default_workers`).

    At most ``max_pending`` chunks (default: twice the workers, at least 2) are submitted and not yet
    yielded. ``progress`` true shows a tqdm bar counting items (a string is its label); ``total`` is its
    end (default ``len(items)`` when ``items`` has a length). An exception raised by ``func`` is raised
    here, after the pending chunks are cancelled: a ``func`` that must not stop the run catches its own.
    """
    if chunksize < 1:
        raise ValueError(f"chunksize must be at least 1, not {chunksize}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    chunks = _chunked(items, chunksize)
    bar = None
    try:
        if scheduler is not None:
            results = _on_dask(func, chunks, scheduler, max_pending, ordered)
        else:
            n = default_workers() if workers is None else workers
            first = next(chunks, None)
            if first is None:
                return
            second = next(chunks, None)
            chunks = itertools.chain([first], [] if second is None else [second], chunks)
            if n == 1 or second is None:  # a pool would cost more than it saves
                results = ((len(chunk), func(chunk)) for chunk in chunks)
            else:
                results = _in_pool(func, chunks, n, max_pending or 2 * n, ordered)
        for count, result in results:
            if progress:
                # made at the first result, after the pool has forked: a bar runs a monitor thread
                if bar is None:
                    bar = _progress_bar(progress, total)
                if bar is not False:
                    bar.update(count)
            yield result
    finally:
        if bar is not None and bar is not False:
            bar.close()


def _chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while True:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield chunk


def _progress_bar(progress: bool | str, total: int | None) -> Any:
    """A tqdm bar, or False without tqdm: the bar is a nicety (pip install 'dicomfast[progress]')."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return False
    label = progress if isinstance(progress, str) else None
    return tqdm(total=total, desc=label, unit="file", dynamic_ncols=True, file=sys.stderr)


def _pool_context() -> Any:
    """How worker processes start: fork where it is safe and cheap, else forkserver or spawn.

    Forking a process that runs other threads can copy a lock that some thread holds, and the
    child deadlocks on it; so fork only from a single-threaded process (on Linux; macOS's system
    libraries are not fork-safe at all).
    """
    import threading

    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def _in_pool(func, chunks, workers, max_pending, ordered):
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
        pending: collections.deque = collections.deque()
        try:
            for chunk in itertools.chain(chunks, [None]):
                if chunk is not None:
                    pending.append((len(chunk), pool.submit(func, chunk)))
                    if len(pending) < max_pending:
                        continue
                # full (or no more chunks): hand back what is done, in order or as it finishes
                while pending and (chunk is None or len(pending) >= max_pending):
                    if ordered:
                        count, future = pending.popleft()
                        yield count, future.result()
                    else:
                        done, _ = wait([f for _, f in pending], return_when=FIRST_COMPLETED)
                        for entry in [e for e in pending if e[1] in done]:
                            pending.remove(entry)
                            yield entry[0], entry[1].result()
        finally:
            for _, future in pending:
                future.cancel()


def _on_dask(func, chunks, scheduler, max_pending, ordered):
    try:
        from distributed import Client, wait
    except ImportError:
        raise ImportError(
            "running on a Dask cluster needs dask.distributed: pip install 'dicomfast[dask]'"
        ) from None
    own_client = isinstance(scheduler, str)
    client = Client(scheduler) if own_client else scheduler
    if not isinstance(client, Client):
        raise TypeError(f"scheduler is a dask.distributed.Client or a scheduler address, not {type(scheduler).__name__}")
    try:
        if max_pending is None:
            threads = sum(client.nthreads().values()) or 1
            max_pending = 2 * threads
        pending: collections.deque = collections.deque()
        try:
            for chunk in itertools.chain(chunks, [None]):
                if chunk is not None:
                    # pure=False: two chunks with equal contents are still two tasks
                    pending.append((len(chunk), client.submit(func, chunk, pure=False)))
                    if len(pending) < max_pending:
                        continue
                while pending and (chunk is None or len(pending) >= max_pending):
                    if ordered:
                        count, future = pending.popleft()
                        yield count, future.result()
                    else:
                        wait([f for _, f in pending], return_when="FIRST_COMPLETED")
                        for entry in [e for e in pending if e[1].done()]:
                            pending.remove(entry)
                            yield entry[0], entry[1].result()
        finally:
            for _, future in pending:
                future.cancel()
    finally:
        if own_client:
            client.close()
