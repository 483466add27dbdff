"""Run a function over chunks of a stream of items: in this process, in a process pool, or on Dask.

:func:`map_chunks` is the one executor of the collection jobs (``dicomfast.index``, the command
line's ``convert``). Whatever runs the work, it

* takes ``items`` lazily (a directory walk of millions of files is never held as a list),
* groups them into lists of ``chunksize`` and calls ``func(chunk)`` once per list, where it runs,
* keeps at most ``max_pending`` chunks in flight, so memory is bounded by the chunks in flight
  and not by the number of items,
* yields ``func(chunk)`` results in the order of the chunks (``ordered=False``: as they finish),
* advances a tqdm bar by the number of items per finished chunk when ``progress`` is true and tqdm
  imports (without tqdm: no bar, no error),
* with ``on_crash``, survives a worker process that dies (a crash in a decoder, the OOM killer):
  the chunks that were in flight are run again one item at a time, each alone in a fresh pool so
  that the culprit is known, and an item that kills a worker again gives ``on_crash([item])``.

``func`` and its results cross process boundaries: ``func`` must be picklable (a module-level
function, or a ``functools.partial`` of one) and should return something cheap to pickle (an Arrow
record batch, a small summary), not a per-item list of large objects.
"""

from __future__ import annotations

import collections
import gc
import itertools
import multiprocessing
import os
import pickle
import select
import signal
import struct
import sys
from concurrent.futures import CancelledError, Future
from concurrent.futures.process import BrokenProcessPool
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
    on_crash: Callable[[list[T]], R] | None = None,
    caller_share: bool = False,
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

    A worker process that dies raises ``BrokenProcessPool`` here, unless ``on_crash`` is given: then
    each chunk that was in flight and lost is run again item by item (so its result comes back as one
    result per item, ``func([item])``, in order), each item alone in a new pool, and an item that
    kills its worker again is reported as ``on_crash([item])`` (called in this process) instead.
    On Dask, the scheduler itself retries the tasks of a lost worker (``allowed-failures``).

    ``caller_share=True``: this process works through a share of the chunks itself (whenever no result
    is ready and fewer than ``max_pending`` chunks are out), so a run on ``workers`` processes forks
    ``workers - 1``; from a single-threaded process they are plain forked workers fed through pipes
    (:class:`_ForkWorkers`), without a ``ProcessPoolExecutor``'s threads. It saves the start, the
    copy-on-write faults and the exit of one process, which is most of what a pool costs a short run.
    Results, their order, the bound on pending chunks, progress and exceptions are as without it, and a
    worker that dies is recovered the same way; but a crash in a chunk that this process runs ends this
    process, as with ``workers=1``: only for a ``func`` that cannot crash the interpreter (the index's
    header reads, not a decoder).
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
                results = _in_pool(func, chunks, n, max(1, max_pending or 2 * n), ordered, on_crash, caller_share)
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


class _Pool:
    """A process pool that can be replaced by a new one when a worker dies: a
    ``ProcessPoolExecutor``, or (``light``, when workers start by ``fork``) a :class:`_ForkWorkers`."""

    def __init__(self, workers: int, light: bool = False):
        self.workers = workers
        self.light = light
        self.executor = self._new()

    def _new(self) -> Any:
        # asked each time: a pool renewed after a crash may find threads running (a progress bar's)
        if self.light and _pool_context().get_start_method() == "fork":
            return _ForkWorkers(self.workers)
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=self.workers, mp_context=_pool_context())

    def renew(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.executor = self._new()

    def wait_any(self, futures: list) -> None:
        """Until one of ``futures`` is done."""
        if isinstance(self.executor, _ForkWorkers):
            self.executor.wait_any(futures)
        else:
            from concurrent.futures import FIRST_COMPLETED, wait

            wait(futures, return_when=FIRST_COMPLETED)


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process (its ``__cause__``)."""

    def __str__(self) -> str:
        return self.args[0]


class _ForkFuture(Future):
    """A future of :class:`_ForkWorkers`: asking whether it is done, or for its result, reads what
    the workers sent back (there is no thread that would)."""

    def __init__(self, workers: "_ForkWorkers"):
        super().__init__()
        self._workers = workers

    def done(self) -> bool:
        if not super().done():
            self._workers.pump(block=False)
        return super().done()

    def result(self, timeout: float | None = None) -> Any:
        while not super().done():
            if not self._workers.pump(block=True):
                raise BrokenProcessPool("the pool was shut down before this chunk's answer came")
        return super().result()


_HEADER = struct.Struct("<Q")


class _ForkWorkers:
    """Forked worker processes, each fed through a pipe of its own and answering through another: a
    pool without the threads, queues and process objects of a ``ProcessPoolExecutor``, whose start and
    stop cost several milliseconds of CPU (threads in this process, and the pages they touch, which
    after a fork are each copied). Used for ``caller_share`` runs from a single-threaded process.

    ``submit`` gives a chunk to the worker with the fewest in flight; a message is a length and a
    pickle: ``(func, chunk)`` one way, ``(ok, result or exception, traceback)`` the other. A worker
    that dies (its pipe ends) fails its chunks in flight with ``BrokenProcessPool``; the others go on.
    """

    def __init__(self, workers: int):
        self._children: list[dict] = []
        try:
            for _ in range(workers):
                self._children.append(self._fork())
        except BaseException:
            self.shutdown()
            raise

    def _fork(self) -> dict:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        _flush_std_streams()  # else what they hold would be written by the worker too
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            code = 0
            try:
                os.close(task_w)
                os.close(result_r)
                for sibling in self._children:  # a sibling's pipe held open here would hide its end
                    for fd in (sibling["task"], sibling["result"]):
                        os.close(fd)
                _fork_worker(task_r, result_w)
            except BaseException:  # noqa: BLE001 - nothing may escape into the caller's code
                code = 1
            finally:
                _flush_std_streams()
                os._exit(code)
        os.close(task_r)
        os.close(result_w)
        os.set_blocking(task_w, False)
        return {"pid": pid, "task": task_w, "result": result_r, "buffer": bytearray(),
                "inflight": collections.deque(), "alive": True}

    def submit(self, func: Any, chunk: Any) -> Future:
        live = [c for c in self._children if c["alive"]]
        if not live:
            raise BrokenProcessPool("every worker process of the pool has died")
        child = min(live, key=lambda c: len(c["inflight"]))
        future = _ForkFuture(self)
        message = pickle.dumps((func, chunk), protocol=pickle.HIGHEST_PROTOCOL)
        child["inflight"].append(future)
        self._send(child, _HEADER.pack(len(message)) + message)
        return future

    def _send(self, child: dict, data: bytes) -> None:
        view = memoryview(data)
        while view and child["alive"]:
            try:
                view = view[os.write(child["task"], view):]
            except BlockingIOError:
                # the pipe is full: read answers meanwhile, or a worker writing one and this
                # process writing a task would wait on each other forever
                readable = [c["result"] for c in self._children if c["alive"]]
                select.select(readable, [child["task"]], [])
                self.pump(block=False)
            except BrokenPipeError:
                self.pump(block=True)  # its end is read there, and its chunks fail

    def pump(self, block: bool) -> bool:
        """Read what the workers have sent (wait for something when ``block``), and settle futures.
        False if no worker has a chunk in flight (nothing to wait for)."""
        live = [c for c in self._children if c["alive"] and c["inflight"]]
        if not live:
            return False
        by_fd = {c["result"]: c for c in live}
        readable, _, _ = select.select(list(by_fd), [], [], None if block else 0)
        for fd in readable:
            child = by_fd[fd]
            data = os.read(fd, 1 << 20)
            if not data:
                self._lost(child)
                continue
            buffer = child["buffer"]
            buffer += data
            while len(buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(buffer)
                if len(buffer) < _HEADER.size + size:
                    break
                message = bytes(buffer[_HEADER.size:_HEADER.size + size])
                del buffer[:_HEADER.size + size]
                future = child["inflight"].popleft()
                if Future.done(future):  # cancelled meanwhile (not the override: it would read here again)
                    continue
                try:
                    ok, value, trace = pickle.loads(message)
                except Exception as exc:  # noqa: BLE001 - a result that does not unpickle here
                    future.set_exception(exc)
                    continue
                if ok:
                    future.set_result(value)
                else:
                    value.__cause__ = _RemoteTraceback(trace)
                    future.set_exception(value)
        return True

    def _lost(self, child: dict) -> None:
        child["alive"] = False
        os.close(child["task"])
        os.close(child["result"])
        _, status = os.waitpid(child["pid"], 0)
        while child["inflight"]:
            future = child["inflight"].popleft()
            if not Future.done(future):
                future.set_exception(BrokenProcessPool(
                    f"a worker process died (wait status {status}) while running a chunk"))

    def wait_any(self, futures: list) -> None:
        while not any(Future.done(f) for f in futures):
            if not self.pump(block=True):
                return

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """End the workers. An idle worker is told to exit; one with chunks in flight (after an
        exception or an interrupt here) is killed with ``cancel_futures``, as nobody will read its
        answers, else it finishes them (unread) first."""
        for child in self._children:
            if child["alive"]:
                child["alive"] = False
                if cancel_futures and child["inflight"]:  # answers still to come (cancelled or not)
                    os.kill(child["pid"], signal.SIGKILL)
                else:
                    try:  # the end, said: a pipe's end is not seen while a later fork holds it open
                        os.write(child["task"], _HEADER.pack(0))
                    except OSError:
                        pass  # gone
                os.close(child["task"])
                os.close(child["result"])
                os.waitpid(child["pid"], 0)
                for future in child["inflight"]:
                    future.cancel()
                child["inflight"].clear()


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


def _fork_worker(task_r: int, result_w: int) -> None:
    """A worker's loop: read ``(func, chunk)``, answer ``func(chunk)``, until the pipe ends."""
    import traceback

    tasks = os.fdopen(task_r, "rb")
    while True:
        header = tasks.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        (size,) = _HEADER.unpack(header)
        if not size:
            return
        func, chunk = pickle.loads(tasks.read(size))
        try:
            answer = (True, func(chunk), None)
        except Exception as exc:  # noqa: BLE001 - the caller raises it
            answer = (False, exc, traceback.format_exc())
        try:
            message = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an answer that does not pickle
            message = pickle.dumps((False, RuntimeError(f"the worker's answer does not pickle: {exc!r}"),
                                    traceback.format_exc()), protocol=pickle.HIGHEST_PROTOCOL)
        data = memoryview(_HEADER.pack(len(message)) + message)
        while data:
            data = data[os.write(result_w, data):]


def _in_pool(func, chunks, workers, max_pending, ordered, on_crash, caller_share=False):
    """(item count, result) per chunk. A pending entry is ``[count, future, chunk, results, pooled]``;
    ``results`` is a list of (count, result) once a crash recovery has run its chunk again, ``pooled``
    whether the chunk went to the pool (else this process ran it: ``caller_share``)."""
    frozen = _freeze()
    pool = _Pool(workers - 1 if caller_share else workers, light=caller_share)
    # with a share of its own, this process keeps two chunks per worker at the pool and works
    # through the next chunk itself whenever no result is ready; else the pool gets all it may
    pool_limit = min(max_pending, 2 * pool.workers) if caller_share else max_pending
    pending: collections.deque = collections.deque()
    chunks = iter(chunks)
    more = True
    in_pool = 0
    try:
        while more or pending:
            while more and len(pending) < max_pending and in_pool < pool_limit:
                chunk = next(chunks, None)
                if chunk is None:
                    more = False
                    break
                try:
                    future = pool.executor.submit(func, chunk)
                except BrokenProcessPool:  # a worker died since the last look: the pool takes no more
                    if on_crash is None:
                        raise
                    _recover(pool, func, pending, on_crash)
                    future = pool.executor.submit(func, chunk)
                pending.append([len(chunk), future, chunk, None, True])
                in_pool += 1
            if ordered:
                head = pending[0] if pending else None
                ready = [head] if head is not None and (head[3] is not None or head[1].done()) else []
            else:
                ready = [e for e in pending if e[3] is not None or e[1].done()]
            if not ready:
                if caller_share and more and len(pending) < max_pending:
                    chunk = next(chunks, None)
                    if chunk is None:
                        more = False
                    else:
                        pending.append([len(chunk), _run_here(func, chunk), chunk, None, False])
                    continue
                if not pending:
                    continue
                # nothing to do here but wait: in order, for the first chunk; else, for any
                if ordered:
                    ready = [pending[0]]
                else:
                    waiting = [e[1] for e in pending if e[3] is None]
                    if waiting:
                        pool.wait_any(waiting)
                    ready = [e for e in pending if e[3] is not None or e[1].done()]
            for entry in ready:
                if entry[3] is None:
                    try:
                        entry[3] = [(entry[0], entry[1].result())]
                    except BrokenProcessPool:
                        if on_crash is None:
                            raise
                        _recover(pool, func, pending, on_crash)
                pending.remove(entry)
                in_pool -= entry[4]
                yield from entry[3]
    finally:
        for entry in pending:
            entry[1].cancel()
        pool.executor.shutdown(wait=True, cancel_futures=True)
        if frozen:
            gc.unfreeze()


def _run_here(func, chunk):
    """``func(chunk)`` run in this process, as a finished future: its result, or the exception it
    raised, comes back at its turn, as a pool's would."""
    future: Future = Future()
    try:
        future.set_result(func(chunk))
    except Exception as exc:  # noqa: BLE001 - raised by result(), in the chunk's turn
        future.set_exception(exc)
    return future


def _freeze() -> bool:
    """Move the objects that exist now out of the garbage collector's sight while a pool runs
    (``gc.freeze``): a collection in this process or in a forked worker then walks only the objects
    made since, where it walked every object of every imported module, and, writing to them, made
    the kernel copy their pages into each worker (copy-on-write). True if it froze (undo with
    ``gc.unfreeze()``); a process that froze objects of its own (a pre-fork server) is left alone."""
    if not gc.isenabled() or gc.get_freeze_count():
        return False
    gc.freeze()
    return True


def _recover(pool, func, pending, on_crash) -> None:
    """After a worker died: keep what finished, run every lost chunk again one item at a time."""
    lost = []
    for entry in pending:
        if entry[3] is not None:
            continue
        future = entry[1]
        try:
            # a chunk still running in a surviving worker finishes; the pool breaks only its own
            entry[3] = [(entry[0], future.result())]
        except (BrokenProcessPool, CancelledError):
            lost.append(entry)
    pool.renew()
    for entry in lost:
        results = []
        for item in entry[2]:
            # alone in flight: if the pool breaks now, this item is the one that broke it
            try:
                results.append((1, pool.executor.submit(func, [item]).result()))
            except BrokenProcessPool:
                results.append((1, on_crash([item])))
                pool.renew()
        entry[3] = results


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
