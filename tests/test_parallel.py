"""dicomfast.collection.executor.map_chunks: the executor of index (and the command line's convert)."""
from __future__ import annotations

import builtins
import functools
import os

import pytest

from dicomfast.collection.executor import default_workers, map_chunks


def _pids(chunk):
    return os.getpid(), len(chunk)


def _fail_on_13(chunk):
    if 13 in chunk:
        raise KeyError(13)
    return sum(chunk)


def test_in_process_ordered_chunks():
    assert list(map_chunks(sum, range(10), workers=1, chunksize=3)) == [3, 12, 21, 9]
    assert list(map_chunks(sum, [], workers=4)) == []
    # one chunk in all: no pool is started
    assert list(map_chunks(_pids, range(5), workers=2, chunksize=5)) == [(os.getpid(), 5)]


def test_a_process_pool_keeps_order_and_bounds_the_pending_chunks():
    def items():
        for i in range(200):
            yield i

    results = list(map_chunks(_pids, items(), workers=2, chunksize=7, max_pending=3))
    assert [n for _, n in results] == [7] * 28 + [4]
    assert {pid for pid, _ in results} - {os.getpid()}  # ran in other processes
    unordered = list(map_chunks(sum, range(200), workers=2, chunksize=7, ordered=False))
    assert sorted(unordered) == sorted(sum(range(i, min(i + 7, 200))) for i in range(0, 200, 7))


@pytest.mark.parametrize("workers", [1, 2])
def test_an_exception_in_func_is_raised_here(workers):
    with pytest.raises(KeyError):
        list(map_chunks(_fail_on_13, range(100), workers=workers, chunksize=5))


def test_bad_arguments():
    with pytest.raises(ValueError):
        list(map_chunks(sum, range(3), chunksize=0))
    with pytest.raises(ValueError):
        list(map_chunks(sum, range(3), workers=0))
    assert default_workers() >= 1


def test_progress_without_tqdm_is_no_bar_and_no_error(monkeypatch):
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError("no tqdm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    assert list(map_chunks(sum, range(10), workers=1, chunksize=5, progress=True)) == [10, 35]


def test_progress_with_tqdm_counts_items(capsys):
    pytest.importorskip("tqdm")
    assert list(map_chunks(sum, range(10), workers=1, chunksize=5, progress="label")) == [10, 35]
    err = capsys.readouterr().err
    assert "label" in err and "10/10" in err


def test_a_multithreaded_caller_gets_workers_by_forkserver(dicom_tree):
    """fork is used only from a single-threaded process: with another thread running, the pool
    starts its workers from a fork server, which must import dicomfast on its own."""
    import threading

    pa = pytest.importorskip("pyarrow")
    import dicomfast
    from dicomfast.collection import executor as _parallel

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert _parallel._pool_context().get_start_method() != "fork"
        root, _ = dicom_tree
        pooled = dicomfast.index(root, workers=2, chunksize=8)
    finally:
        stop.set()
        thread.join()
    assert isinstance(pooled, pa.Table)
    assert pooled.equals(dicomfast.index(root, workers=1))


def _crash_on_7(chunk):
    if 7 in chunk:
        os._exit(3)  # a segfault in a decoder, as the pool sees it
    return list(chunk)


def _crashed(chunk):
    return [-1 - item for item in chunk]  # negative: "this item killed its worker"


@pytest.mark.parametrize("ordered", [True, False])
def test_a_dead_worker_costs_only_its_item_with_on_crash(ordered):
    results = list(map_chunks(_crash_on_7, range(20), workers=2, chunksize=4, ordered=ordered,
                              on_crash=_crashed))
    flat = [x for r in results for x in r]
    assert sorted(flat) == [-8] + [i for i in range(20) if i != 7]  # every item once, 7 as on_crash says
    # the chunks that were lost (7's, and any in flight with it) come back one result per item
    assert [4] in results and [-8] in results
    if ordered:
        assert [x if x >= 0 else -1 - x for x in flat] == list(range(20))


def test_a_dead_worker_without_on_crash_is_an_error():
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool):
        list(map_chunks(_crash_on_7, range(20), workers=2, chunksize=4))


def test_index_reports_a_file_that_kills_its_worker():
    pa = pytest.importorskip("pyarrow")
    from dicomfast.collection import indexing

    specs = indexing._columns(["Rows"])
    batch = indexing._crashed_chunk(["/a", "/b"], specs)
    assert batch.schema == indexing._schema(specs)
    rows = pa.Table.from_batches([batch]).to_pylist()
    assert [(r["path"], r["error_type"]) for r in rows] == [("/a", "WorkerCrashed"), ("/b", "WorkerCrashed")]


# --- caller_share: this process works through a share of the chunks itself ----------------------

# the caller's pid goes to func with functools.partial (a forkserver's worker imports this module anew)


def _slow_pids(chunk):
    import time

    time.sleep(0.005)  # long enough that the caller finds no result ready and takes a chunk
    return os.getpid(), list(chunk)


def test_caller_share_keeps_order_bounds_and_uses_one_process_fewer():
    taken = []

    def items():
        for i in range(120):
            taken.append(i)
            yield i

    results = []
    for result in map_chunks(_slow_pids, items(), workers=2, chunksize=4, max_pending=4, caller_share=True):
        results.append(result)
        # chunks taken from the items and not yet handed back: at most max_pending (and the one being built)
        assert len(taken) - 4 * len(results) <= 4 * (4 + 1)
    assert [x for _, chunk in results for x in chunk] == list(range(120))
    pids = {pid for pid, _ in results}
    assert os.getpid() in pids and len(pids) == 2  # the caller and one worker for workers=2
    unordered = list(map_chunks(_slow_pids, range(120), workers=3, chunksize=4, ordered=False, caller_share=True))
    assert sorted(x for _, chunk in unordered for x in chunk) == list(range(120))
    assert os.getpid() in {pid for pid, _ in unordered}


def _fail_in_caller(chunk, caller):
    import time

    time.sleep(0.005)
    if os.getpid() == caller:
        raise KeyError("caller")
    return sum(chunk)


def _fail_in_worker(chunk, caller):
    if os.getpid() != caller:
        raise KeyError("worker")
    return sum(chunk)


@pytest.mark.parametrize("func", [_fail_in_caller, _fail_in_worker])
def test_caller_share_raises_an_exception_of_func_wherever_it_ran(func, forking):
    before = _children()
    with pytest.raises(KeyError):
        list(map_chunks(functools.partial(func, caller=os.getpid()), range(100), workers=2, chunksize=5,
                        caller_share=True))
    assert _children() == before


def _crash_on_7_in_a_worker(chunk, caller):
    if 7 in chunk and os.getpid() != caller:
        os._exit(3)
    return list(chunk)


@pytest.mark.parametrize("ordered", [True, False])
def test_caller_share_a_dead_worker_costs_only_its_item_with_on_crash(ordered, forking):
    # the first chunks go to the pool before the caller takes one: 7's chunk (the second) runs in the worker
    crash = functools.partial(_crash_on_7_in_a_worker, caller=os.getpid())
    results = list(map_chunks(crash, range(40), workers=2, chunksize=4, ordered=ordered,
                              on_crash=_crashed, caller_share=True))
    flat = [x for r in results for x in r]
    assert sorted(flat) == [-8] + [i for i in range(40) if i != 7]
    if ordered:
        assert [x if x >= 0 else -1 - x for x in flat] == list(range(40))
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool):
        list(map_chunks(crash, range(40), workers=2, chunksize=4, caller_share=True))
    with pytest.raises(BrokenProcessPool):  # and with several workers, as many as there are
        list(map_chunks(crash, range(40), workers=4, chunksize=4, caller_share=True))


def test_caller_share_counts_progress(capsys):
    pytest.importorskip("tqdm")
    results = list(map_chunks(_slow_pids, range(40), workers=2, chunksize=4, progress="shared", caller_share=True))
    assert len(results) == 10
    err = capsys.readouterr().err
    assert "shared" in err and "40/40" in err


# --- the light pool of caller_share runs (forked workers on pipes, no threads) --------------------

def _big(chunk):
    return [item * 3 for item in chunk]  # answers larger than a pipe holds, as the tasks are


def _shout(chunk):
    print(f"chunk {chunk[0]}", flush=False)
    return len(chunk)


def _children():
    """This process's children (a fork server an earlier test started stays: compare before and after)."""
    psutil = pytest.importorskip("psutil")
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.fixture
def forking(monkeypatch):
    """The light pool is for a single-threaded caller (fork): other tests' threads (a progress bar's
    monitor) may still run, so the start method is pinned for these tests."""
    import multiprocessing

    from dicomfast.collection import executor

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork here")
    monkeypatch.setattr(executor, "_pool_context", lambda: multiprocessing.get_context("fork"))
    return executor


def test_the_light_pool_passes_large_tasks_and_answers_and_leaves_no_process(forking):
    before = _children()
    items = [bytes([i]) * 300_000 for i in range(24)]  # 1.2 MB a chunk each way: pipes fill both ways
    results = list(map_chunks(_big, items, workers=3, chunksize=4, caller_share=True))
    assert [x for r in results for x in r] == [item * 3 for item in items]
    assert _children() == before
    pool = forking._ForkWorkers(2)
    try:
        assert len(_children() - before) == 2
        futures = [pool.submit(_big, [b"x" * 200_000] * 3) for _ in range(6)]
        pool.wait_any(futures)
        assert [f.result() for f in futures] == [[b"x" * 600_000] * 3] * 6
    finally:
        pool.shutdown()
    assert _children() == before


def test_the_light_pool_reports_a_worker_exception_with_its_traceback(forking):
    pool = forking._ForkWorkers(1)
    try:
        future = pool.submit(_fail_on_13, list(range(10, 20)))
        with pytest.raises(KeyError) as caught:
            future.result()
        assert "_fail_on_13" in str(caught.value.__cause__)  # the worker's traceback
        assert pool.submit(sum, [1, 2]).result() == 3  # the worker goes on
    finally:
        pool.shutdown()


def test_the_light_pool_fails_only_the_chunks_of_a_dead_worker(forking):
    from concurrent.futures.process import BrokenProcessPool

    before = _children()
    pool = forking._ForkWorkers(2)
    try:
        doomed = pool.submit(_crash_on_7, [7])  # the first worker
        fine = pool.submit(_crash_on_7, [1, 2])  # the second
        with pytest.raises(BrokenProcessPool):
            doomed.result()
        assert fine.result() == [1, 2]
        assert pool.submit(_crash_on_7, [3]).result() == [3]  # on the survivor
    finally:
        pool.shutdown()
    assert _children() == before


def test_the_light_pool_writes_a_worker_s_output_once(forking, capfd):
    print("before", end="\n", flush=False)  # held in this process's buffer when a worker forks
    assert list(map_chunks(_shout, range(8), workers=2, chunksize=2, caller_share=True)) == [2] * 4
    out = capfd.readouterr().out
    assert out.count("before") == 1
    assert sorted(line for line in out.splitlines() if line.startswith("chunk")) == [
        "chunk 0", "chunk 2", "chunk 4", "chunk 6"]


def _long_in_worker(chunk, caller):
    import time

    if os.getpid() == caller:
        time.sleep(0.2)  # the worker has its chunk by now
        raise KeyError("caller")
    time.sleep(60)
    return chunk


def test_the_light_pool_ends_a_busy_worker_when_the_run_fails(forking):
    import time

    before = _children()
    began = time.monotonic()
    with pytest.raises(KeyError):
        # unordered: the caller's exception is raised as soon as its chunk is done
        list(map_chunks(functools.partial(_long_in_worker, caller=os.getpid()), range(40), workers=2,
                        chunksize=4, caller_share=True, ordered=False))
    assert time.monotonic() - began < 30  # not the worker's minute: its answer is not wanted
    assert _children() == before
