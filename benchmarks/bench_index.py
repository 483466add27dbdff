"""Indexing a folder of DICOM files: dicomfast.index against the same job done with pydicom (issue 4).

    python benchmarks/bench_index.py [-n 2000] [--repeat 5] [--workers 2] [--memory 10000 100000] [--json out.json]

**Throughput.** The files are ``n`` slices of ``make_ct_series`` (the real GE CT header of pydicom's
``CT_small.dcm``, 262 top-level elements, 179 private; 64 x 64 pixels, since an index reads headers
only), written once into ``benchmarks/data/`` and read warm from the page cache. One pass indexes
the whole folder (the ``n`` files and the series' JSON manifest, which is a row with an error) into
an in-memory Arrow table sorted by path, with ``workers`` processes:

* dicomfast: ``dicomfast.index(folder, workers=2)``;
* pydicom: the same job as a user would write it: ``os.walk``, then a ``concurrent.futures.ProcessPoolExecutor`` of
  ``workers`` processes over chunks of 256 paths; each worker reads each file with
  ``pydicom.dcmread(path, stop_before_pixels=True, specific_tags=...)``, converts every value to the
  same typed column (pydicom's own DA/TM/DT classes for dates and times), catches the errors of a bad
  file, and returns one Arrow record batch per chunk; the parent concatenates and sorts.

Both produce the same table (checked: the benchmark says so, and leaves the case out if not). Passes
alternate between the two; the figure is the median over ``repeat`` passes, in files per second, and
the ratio dicomfast / pydicom (issue 4's target: at least 30x). Each pass includes starting the pool.

**Memory.** Peak memory while indexing ``N`` files (10,000 and 100,000 by default) streaming to
Parquet (``out=``) with ``workers`` processes. The ``N`` paths are the ``n`` files of the series
passed again and again (a lazy generator, so the list of paths is not held either): the point is
that memory does not grow with ``N``. Each size runs in a fresh Python process; this process samples
the resident memory of that process and of its workers every 20 ms with psutil and reports the peak
of their sum (without psutil: the peak of the indexing process, and the largest worker's, from
``getrusage``).

Numbers are printed (and written with ``--json``), never asserted: tests/test_benchmarks.py runs
:func:`run` once on tiny input so that this script cannot go stale.
"""
from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for where in (str(HERE), str(ROOT)):
    if where not in sys.path:
        sys.path.insert(0, where)

from make_ct_series import make_series  # noqa: E402

TARGET_SPEEDUP = 30.0
CHUNK = 256
DEFAULT_N = 2000
DEFAULT_MEMORY_SIZES = (10_000, 100_000)


# --- the pydicom job ----------------------------------------------------------------------------

def _pydicom_cell(element: Any, kind: str, multi: bool) -> Any:
    """What an index cell must hold, from pydicom's element (also tests/test_index.py's reference)."""
    from pydicom.multival import MultiValue
    from pydicom.valuerep import DA, DT, TM

    if element is None:
        return None
    value = element.value
    if value is None or (isinstance(value, (str, bytes, list, MultiValue)) and len(value) == 0):
        return None  # absent and empty (an empty OB too) are null
    convert = {
        "text": str, "int": int, "float": float, "binary": bytes,
        "date": lambda v: datetime.date.fromordinal(DA(v).toordinal()),
        "time": lambda v: TM(v).replace(),
        "datetime": lambda v: DT(v).replace(tzinfo=None),
    }[kind]
    items = list(value) if isinstance(value, (list, MultiValue)) else [value]
    if multi:
        return [convert(v) for v in items]
    if kind == "text" and len(items) > 1:
        return "\\".join(str(v) for v in items)
    return convert(items[0])


def _pydicom_chunk(paths: list[str], specs: tuple) -> Any:
    """One chunk of the pydicom job: the rows of ``paths`` as one record batch of the index's schema."""
    import pyarrow as pa
    import pydicom

    from dicomfast.collection.indexing import _schema

    schema = _schema(specs)
    keywords = [tag for _, tag, _, _ in specs]
    rows = []
    for path in paths:
        row: dict[str, Any] = {"path": path}
        try:
            st = os.stat(path)
            row["file_size"], row["mtime"] = st.st_size, st.st_mtime_ns // 1000
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=keywords)
            row["transfer_syntax"] = str(ds.file_meta.TransferSyntaxUID)
            for name, tag, kind, multi in specs:
                row[name] = _pydicom_cell(ds.get(tag), kind, multi)
            row["defects"] = []  # the benchmark's files are clean (pydicom says nothing of defects)
        except Exception as exc:  # noqa: BLE001 - as dicomfast.index: a bad file is a row
            row = {"path": path, "file_size": row.get("file_size"), "mtime": row.get("mtime"),
                   "error": str(exc), "error_type": type(exc).__name__}
        rows.append(row)
    return pa.RecordBatch.from_pylist(rows, schema=schema)


def pydicom_index(folder: str | Path, tags: tuple = (), workers: int = 2) -> Any:
    """The index of the files under ``folder`` made with pydicom in a process pool (the rival of
    ``dicomfast.index``)."""
    import pyarrow as pa

    from dicomfast.collection.indexing import _columns, _schema

    specs = _columns(tags)
    paths = []
    for where, dirs, files in os.walk(os.path.abspath(folder)):
        dirs.sort()
        paths += [os.path.join(where, name) for name in sorted(files)]
    chunks = [paths[i:i + CHUNK] for i in range(0, len(paths), CHUNK)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        batches = list(pool.map(functools.partial(_pydicom_chunk, specs=specs), chunks))
    return pa.Table.from_batches(batches, schema=_schema(specs)).sort_by("path").combine_chunks()


# --- throughput ---------------------------------------------------------------------------------

def _stats(seconds: list[float], n: int) -> dict[str, Any]:
    rates = sorted(n / s for s in seconds)
    return {
        "median_files_per_s": statistics.median(rates),
        "min_files_per_s": rates[0],
        "max_files_per_s": rates[-1],
        "median_us_per_file": statistics.median(seconds) / n * 1e6,
        "samples_s": seconds,
    }


def _same_job(ours: Any, theirs: Any) -> bool:
    """The same rows and cells; for a file that is not DICOM (the series' manifest), the same row
    with an error, whatever its message."""
    import pyarrow.compute as pc

    errors = ["error", "error_type", "warnings"]
    return (ours.drop_columns(errors).equals(theirs.drop_columns(errors))
            and pc.is_null(ours["error"]).equals(pc.is_null(theirs["error"])))


def throughput(folder: Path, repeat: int, workers: int) -> dict[str, Any]:
    import dicomfast

    ours = dicomfast.index(folder, workers=workers)
    theirs = pydicom_index(folder, workers=workers)
    same = _same_job(ours, theirs)
    times: dict[str, list[float]] = {"dicomfast": [], "pydicom": []}
    for _ in range(repeat):
        t = time.perf_counter()
        dicomfast.index(folder, workers=workers)
        times["dicomfast"].append(time.perf_counter() - t)
        if same:
            t = time.perf_counter()
            pydicom_index(folder, workers=workers)
            times["pydicom"].append(time.perf_counter() - t)
    result: dict[str, Any] = {
        "files": ours.num_rows,
        "workers": workers,
        "same_table": same,
        "dicomfast": _stats(times["dicomfast"], ours.num_rows),
    }
    if same:
        result["pydicom"] = _stats(times["pydicom"], ours.num_rows)
        ratio = result["dicomfast"]["median_files_per_s"] / result["pydicom"]["median_files_per_s"]
        result["speedup"] = {"value": ratio, "target": TARGET_SPEEDUP, "met": ratio >= TARGET_SPEEDUP}
    return result


# --- per-file cost against a bare header read (issue 13) -------------------------------------------

#: Rows of the per-file table, in the order they are timed and printed: (key, label).
COST_CASES = (
    ("walk", "walk: iter_files (the listing)"),
    ("stat", "stat: os.stat per file"),
    ("header_read", "bare read: dcmread(specific_tags=index tags)"),
    ("header_read_values", "bare read + values: ... + ds.get(kw) each"),
    ("index_read", "index's read: dcmread + ds._values(tags)"),
    ("convert", "value conversion into cells"),
    ("arrow", "Arrow building: columns -> record batch"),
    ("ipc", "IPC: a batch to bytes and back (pickled)"),
    ("assemble", "parent: from_batches + sort + combine"),
    ("chunk", "worker's whole job: _index_chunk"),
    ("index_1", "dicomfast.index(workers=1)"),
)
#: The reference of issue 13's target: the index's per-file cost per core within 2x of this.
REFERENCE = "header_read_values"
TARGET_OVER_READ = 2.0


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its waited-for children."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _cost_cases(folder: Path) -> tuple[dict[str, Any], int]:
    """The timed passes of :func:`per_file_costs`, each a function of no argument, and the number of
    files one pass handles."""
    import pickle

    import pyarrow as pa

    import dicomfast
    from dicomfast import datadict
    from dicomfast.collection import indexing

    specs = indexing._columns(())
    schema = indexing._schema(specs)
    files = list(indexing.iter_files(folder))
    dicom = [path for path in files if path.endswith(".dcm")]
    wanted = tuple(sorted({spec[1] for spec in specs}))
    keywords = [datadict.keyword_for_tag(tag) for _, tag, _, _ in specs]
    plan = [(wanted.index(tag), indexing._converter(kind, multi)) for _, tag, kind, multi in specs]
    chunks = [files[i:i + CHUNK] for i in range(0, len(files), CHUNK)]
    batches = [indexing._index_chunk(chunk, specs) for chunk in chunks]
    columns = [[_cells(pa, column) for column in batch.columns] for batch in batches]
    # the index's own read primitives (an older build, for a before/after run, has neither)
    if hasattr(dicomfast.Dataset, "_values"):
        def values_of(ds):
            return ds._values(wanted)
    else:
        def values_of(ds):
            return [ds._value(t, w, ds._vr(t, w)) if (w := ds._find(t)) >= 0 else None for t in wanted]
    column_array = getattr(indexing, "_column_array", None) or (lambda pa, cells, t: pa.array(cells, type=t))
    found = [values_of(dicomfast.dcmread(path, specific_tags=wanted)) for path in dicom]
    scale = len(files) / len(dicom)  # the cases over the DICOM files alone, per file of the folder

    def walk():
        list(indexing.iter_files(folder))

    def stat():
        for path in files:
            os.stat(path)

    def header_read():
        for path in dicom:
            dicomfast.dcmread(path, specific_tags=wanted)

    def header_read_values():
        for path in dicom:
            ds = dicomfast.dcmread(path, specific_tags=wanted)
            for keyword in keywords:
                ds.get(keyword)

    def index_read():
        for path in dicom:
            values_of(dicomfast.dcmread(path, specific_tags=wanted))

    if hasattr(indexing, "_row_cells"):
        picks = indexing._picks(specs, [(n, t, indexing._converter(k, m)) for n, t, k, m in specs], wanted)

        def convert():
            for values in found:
                indexing._row_cells(values, picks)
    else:
        def convert():
            for values in found:
                [None if (value := values[k]) is None else conv(value) for k, conv in plan]

    def arrow():
        for cells in columns:
            pa.RecordBatch.from_arrays([column_array(pa, column, field.type)
                                        for column, field in zip(cells, schema)], schema=schema)

    def ipc():  # what crosses from a worker: an IPC message of the batch (a pickled batch before)
        for batch in batches:
            if hasattr(indexing, "_batch_of"):
                message = pickle.dumps(batch.serialize().to_pybytes(), protocol=pickle.HIGHEST_PROTOCOL)
                indexing._batch_of(pa, schema, pickle.loads(message))
            else:
                pickle.loads(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))

    def assemble():
        pa.Table.from_batches(batches, schema=schema).sort_by("path").combine_chunks()

    def chunk():
        for paths in chunks:
            indexing._index_chunk(paths, specs)

    def index_1():
        dicomfast.index(folder, workers=1)

    cases = {"walk": walk, "stat": stat, "header_read": header_read, "header_read_values": header_read_values,
             "index_read": index_read, "convert": convert, "arrow": arrow, "ipc": ipc, "assemble": assemble,
             "chunk": chunk, "index_1": index_1}
    return {key: (cases[key], scale if key in ("header_read", "header_read_values", "index_read", "convert")
                  else 1.0) for key, _ in COST_CASES}, len(files)


def _cells(pa: Any, column: Any) -> list:
    """A column's cells as the index holds them before Arrow: dates, times and timestamps as ints."""
    if pa.types.is_date32(column.type):
        column = column.view(pa.int32())
    elif pa.types.is_time64(column.type) or pa.types.is_timestamp(column.type):
        column = column.view(pa.int64())
    return column.to_pylist()


def _pool_start(folder: Path, workers: int) -> None:
    """A pool of ``workers`` started, given one chunk of the folder each, and stopped: what every
    ``index(workers>1)`` pays besides the files (fork, first task, shutdown). The pool is the index's:
    with ``caller_share`` (this process works a share, ``workers - 1`` forked), where the tree has it."""
    import inspect

    from dicomfast.collection.executor import map_chunks

    files = list(iter_files_of(folder))[:workers]
    share = {"caller_share": True} if "caller_share" in inspect.signature(map_chunks).parameters else {}
    list(map_chunks(len, files, workers=workers, chunksize=1, **share))


def iter_files_of(folder: Path) -> Any:
    from dicomfast.collection.indexing import iter_files

    return iter_files(folder)


def per_file_costs(folder: Path, repeat: int, workers: tuple = (1, 2)) -> dict[str, Any]:
    """Issue 13: where an index's time goes, per file, against a bare header read of the same tags.

    In one process, in turns (a pass of every case, ``repeat`` times; the medians of the CPU time,
    ``time.process_time``, which other processes on a shared machine inflate far less than the wall
    time; the wall time is kept too): the parts of the
    job (walk, stat, the read, conversion, Arrow, IPC, the parent's assembly), the worker's whole job
    (``_index_chunk``), and ``index`` itself on each number of ``workers``. For ``index`` on a pool the
    cost per core is the CPU time of this process and its workers (``getrusage``) per file, which the
    machine's other load does not inflate as it does the wall time; on one worker CPU and wall agree.
    ``pool_start`` is a pool started and stopped with one trivial task per worker (ms for the whole,
    wall and CPU); the ``marginal`` cost per file is the index's CPU time less that, per file."""
    import dicomfast

    cases, n = _cost_cases(folder)
    samples: dict[str, list[float]] = {key: [] for key in cases}  # CPU seconds of this process
    walls: dict[str, list[float]] = {key: [] for key in cases}
    pooled: dict[int, dict[str, list[float]]] = {w: {"wall": [], "cpu": []} for w in workers if w > 1}
    pool_start: dict[int, dict[str, list[float]]] = {w: {"wall": [], "cpu": []} for w in pooled}
    for key, (func, _) in cases.items():
        func()  # warm: the page cache, the caches, the imports
    for _ in range(repeat):
        for key, (func, scale) in cases.items():
            cpu, t = time.process_time(), time.perf_counter()
            func()
            walls[key].append((time.perf_counter() - t) * scale)
            samples[key].append((time.process_time() - cpu) * scale)
        for w in pooled:
            cpu, t = _cpu_seconds(), time.perf_counter()
            dicomfast.index(folder, workers=w)
            wall, after = time.perf_counter() - t, _cpu_seconds()
            pooled[w]["wall"].append(wall)
            pooled[w]["cpu"].append(after[0] - cpu[0] + after[1] - cpu[1])
            cpu, t = _cpu_seconds(), time.perf_counter()
            _pool_start(folder, w)
            wall, after = time.perf_counter() - t, _cpu_seconds()
            pool_start[w]["wall"].append(wall)
            pool_start[w]["cpu"].append(after[0] - cpu[0] + after[1] - cpu[1])

    def us(seconds: list[float]) -> float:
        return statistics.median(seconds) / n * 1e6

    parts = {key: {"us_per_file": us(v), "q1_q3": _quartiles(v, n), "wall_us_per_file": us(walls[key])}
             for key, v in samples.items()}
    reference = parts[REFERENCE]["us_per_file"]
    floor = parts["header_read"]["us_per_file"]
    index: dict[str, Any] = {}
    for w in workers:
        if w == 1:
            cpu = marginal = parts["index_1"]["us_per_file"]
            wall = parts["index_1"]["wall_us_per_file"]
            start_ms = start_cpu_ms = 0.0
        else:
            wall, cpu = us(pooled[w]["wall"]), us(pooled[w]["cpu"])
            start_ms = statistics.median(pool_start[w]["wall"]) * 1e3
            start_cpu_ms = statistics.median(pool_start[w]["cpu"]) * 1e3
            marginal = cpu - start_cpu_ms * 1e3 / n
        index[str(w)] = {
            "workers": w,
            "wall_us_per_file": wall,
            "files_per_s": 1e6 / wall,
            "cpu_us_per_file": cpu,  # per core: the CPU time of all processes per file
            "over_read_values": cpu / reference,
            "over_read": cpu / floor,
            "met": cpu / reference <= TARGET_OVER_READ,
            "pool_start_ms": start_ms,
            "pool_start_cpu_ms": start_cpu_ms,
            # per file once the pool runs: the CPU time less the pool's start and stop
            "marginal_cpu_us_per_file": marginal,
            "marginal_over_read_values": marginal / reference,
        }
    return {"files": n, "repeat": repeat, "reference": REFERENCE, "target": TARGET_OVER_READ,
            "parts": parts, "index": index}


def _quartiles(seconds: list[float], n: int) -> list[float]:
    if len(seconds) < 2:
        return [seconds[0] / n * 1e6] * 2
    q = statistics.quantiles(seconds, n=4)
    return [q[0] / n * 1e6, q[2] / n * 1e6]


def profile_index(folder: Path, top: int = 20) -> str:
    """cProfile of ``index(folder, workers=1)`` (in this process: a pool's workers are not profiled),
    the ``top`` functions by their own time. Compiled functions (the scan, ``_values``) show as the
    time of their Python caller."""
    import cProfile
    import io
    import pstats

    import dicomfast

    dicomfast.index(folder, workers=1)
    profiler = cProfile.Profile()
    profiler.enable()
    dicomfast.index(folder, workers=1)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --- memory -------------------------------------------------------------------------------------

def _memory_child(n: int, folder: str, out: str, workers: int) -> None:
    """Run in a fresh process: index ``n`` paths (the folder's files over and over) into ``out``."""
    import resource

    import dicomfast
    from dicomfast.collection.indexing import iter_files

    files = list(iter_files(folder))
    paths = (files[i % len(files)] for i in range(n))
    t = time.perf_counter()
    dicomfast.index(paths, workers=workers, out=out)
    seconds = time.perf_counter() - t
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "self_peak_kb": self_kb, "largest_worker_peak_kb": children_kb}))


def memory(folder: Path, sizes: tuple, workers: int, out_dir: Path) -> dict[str, Any]:
    try:
        import psutil
    except ImportError:
        psutil = None
    results = {}
    for n in sizes:
        out = out_dir / f"memory_{n}.parquet"
        cmd = [sys.executable, __file__, "--_memory-child", str(n), str(folder), str(out), str(workers)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
        peak = 0
        if psutil is not None:
            try:
                parent = psutil.Process(proc.pid)
                while proc.poll() is None:
                    total = 0
                    for p in [parent, *parent.children(recursive=True)]:
                        try:
                            total += p.memory_info().rss
                        except psutil.Error:
                            pass
                    peak = max(peak, total)
                    time.sleep(0.02)
            except psutil.Error:
                pass
        stdout, _ = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"the memory run of {n} files failed ({proc.returncode})")
        child = json.loads(stdout.strip().splitlines()[-1])
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(out).metadata.num_rows
        out.unlink()
        results[str(n)] = {
            "files": n,
            "rows_written": rows,
            "seconds": child["seconds"],
            "files_per_s": n / child["seconds"],
            "peak_total_mb": peak / 2**20 if peak else None,
            "peak_indexer_mb": child["self_peak_kb"] / 1024,
            "peak_largest_worker_mb": child["largest_worker_peak_kb"] / 1024,
        }
    return {"workers": workers, "sampled_with": "psutil" if psutil else "getrusage", "runs": results}


# --- the whole benchmark ------------------------------------------------------------------------

def run(n_files: int = DEFAULT_N, repeat: int = 5, workers: int = 2, memory_sizes: tuple = DEFAULT_MEMORY_SIZES,
        data_dir: Path | None = None, costs: bool = True, profile: bool = False) -> dict[str, Any]:
    import bench_header

    data = Path(data_dir) if data_dir is not None else HERE / "data"
    folder = data / f"index_ct_{n_files}_64x64"
    make_series(folder, n_files, 64, 64)
    import dicomfast
    import pyarrow
    import pydicom

    result = {
        "machine": bench_header.machine_info(),
        "versions": {"dicomfast": dicomfast.__version__, "pydicom": pydicom.__version__, "pyarrow": pyarrow.__version__},
        "config": {"n_files": n_files, "repeat": repeat, "workers": workers, "memory_sizes": list(memory_sizes)},
        "throughput": throughput(folder, repeat, workers),
    }
    if costs:
        result["costs"] = per_file_costs(folder, repeat, tuple(sorted({1, workers})))
    if profile:
        result["profile"] = profile_index(folder)
    result["memory"] = memory(folder, memory_sizes, workers, data)
    return result


def format_report(result: dict[str, Any]) -> str:
    machine = result["machine"]
    tp = result["throughput"]
    lines = [
        f"dicomfast.index vs pydicom + ProcessPoolExecutor: {tp['files']} files, {tp['workers']} workers, "
        f"{machine.get('cpus_usable', machine['cpu_count'])} CPUs ({machine['cpu_model']}), load {machine.get('loadavg')}",
        f"{'':24}{'files/s (median)':>18}{'us/file':>10}{'min-max files/s':>22}",
    ]
    for name in ("dicomfast", "pydicom"):
        if name in tp:
            s = tp[name]
            lines.append(f"{name:24}{s['median_files_per_s']:>18,.0f}{s['median_us_per_file']:>10.1f}"
                         f"{s['min_files_per_s']:>11,.0f}-{s['max_files_per_s']:,.0f}")
    if tp["same_table"]:
        sp = tp["speedup"]
        lines.append(f"ratio dicomfast / pydicom: {sp['value']:.1f}x (target {sp['target']:.0f}x: "
                     f"{'met' if sp['met'] else 'NOT met'}); both made the same table")
    else:
        lines.append("pydicom's table differs from dicomfast's: its timing is left out")
    if "costs" in result:
        lines += ["", *format_costs(result["costs"])]
    if "profile" in result:
        lines += ["", "cProfile of index(workers=1), by own time:", result["profile"].rstrip()]
    mem = result["memory"]
    lines.append("")
    lines.append(f"peak memory streaming to Parquet, {mem['workers']} workers (sampled with {mem['sampled_with']}):")
    lines.append(f"{'files':>10}{'seconds':>10}{'files/s':>10}{'total MB':>10}{'indexer MB':>12}{'worker MB':>11}")
    for run_ in mem["runs"].values():
        total = f"{run_['peak_total_mb']:.0f}" if run_["peak_total_mb"] else "-"
        lines.append(f"{run_['files']:>10,}{run_['seconds']:>10.2f}{run_['files_per_s']:>10,.0f}{total:>10}"
                     f"{run_['peak_indexer_mb']:>12.0f}{run_['peak_largest_worker_mb']:>11.0f}")
    return "\n".join(lines)


def format_costs(costs: dict[str, Any]) -> list[str]:
    labels = dict(COST_CASES)
    lines = [f"where the time goes, per file ({costs['files']} files, median of {costs['repeat']} passes in turns; "
             "CPU time):", f"{'':46}{'CPU us/file':>12}{'q1-q3':>14}{'wall us/file':>14}"]
    for key, part in costs["parts"].items():
        q1, q3 = part["q1_q3"]
        lines.append(f"{labels[key]:46}{part['us_per_file']:>12.2f}{q1:>7.2f}-{q3:<6.2f}{part['wall_us_per_file']:>14.2f}")
    ref = costs["parts"][costs["reference"]]["us_per_file"]
    lines.append(f"index per file per core (CPU time of all its processes) against the bare read + values "
                 f"({ref:.2f} us; target {costs['target']:.0f}x):")
    lines.append(f"{'workers':>8}{'wall us/file':>14}{'files/s':>10}{'CPU us/file':>13}{'/ read+values':>15}"
                 f"{'/ read':>8}{'pool start ms (CPU)':>21}{'marginal us/file':>18}")
    for entry in costs["index"].values():
        lines.append(f"{entry['workers']:>8}{entry['wall_us_per_file']:>14.2f}{entry['files_per_s']:>10,.0f}"
                     f"{entry['cpu_us_per_file']:>13.2f}{entry['over_read_values']:>14.2f}x{entry['over_read']:>7.2f}x"
                     f"{entry['pool_start_ms']:>11.1f} ({entry['pool_start_cpu_ms']:.1f})"
                     f"{entry['marginal_cpu_us_per_file']:>12.2f} ({entry['marginal_over_read_values']:.2f}x)"
                     f"  {'met' if entry['met'] else 'NOT met'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--_memory-child":
        _memory_child(int(argv[1]), argv[2], argv[3], int(argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=DEFAULT_N, help=f"files of the series (default {DEFAULT_N})")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes per library (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--memory", type=int, nargs="*", default=list(DEFAULT_MEMORY_SIZES),
                        help="numbers of files for the memory runs (default 10000 100000; none to skip)")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the series is written (benchmarks/data)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    parser.add_argument("--no-costs", action="store_true", help="skip the per-file cost table (issue 13)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of index(workers=1)")
    args = parser.parse_args(argv)
    result = run(args.n, args.repeat, args.workers, tuple(args.memory), args.data_dir,
                 costs=not args.no_costs, profile=args.profile)
    print(format_report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
