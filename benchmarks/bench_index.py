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
        data_dir: Path | None = None) -> dict[str, Any]:
    import bench_header

    data = Path(data_dir) if data_dir is not None else HERE / "data"
    folder = data / f"index_ct_{n_files}_64x64"
    make_series(folder, n_files, 64, 64)
    import dicomfast
    import pyarrow
    import pydicom

    return {
        "machine": bench_header.machine_info(),
        "versions": {"dicomfast": dicomfast.__version__, "pydicom": pydicom.__version__, "pyarrow": pyarrow.__version__},
        "config": {"n_files": n_files, "repeat": repeat, "workers": workers, "memory_sizes": list(memory_sizes)},
        "throughput": throughput(folder, repeat, workers),
        "memory": memory(folder, memory_sizes, workers, data),
    }


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
    mem = result["memory"]
    lines.append("")
    lines.append(f"peak memory streaming to Parquet, {mem['workers']} workers (sampled with {mem['sampled_with']}):")
    lines.append(f"{'files':>10}{'seconds':>10}{'files/s':>10}{'total MB':>10}{'indexer MB':>12}{'worker MB':>11}")
    for run_ in mem["runs"].values():
        total = f"{run_['peak_total_mb']:.0f}" if run_["peak_total_mb"] else "-"
        lines.append(f"{run_['files']:>10,}{run_['seconds']:>10.2f}{run_['files_per_s']:>10,.0f}{total:>10}"
                     f"{run_['peak_indexer_mb']:>12.0f}{run_['peak_largest_worker_mb']:>11.0f}")
    return "\n".join(lines)


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
    args = parser.parse_args(argv)
    result = run(args.n, args.repeat, args.workers, tuple(args.memory), args.data_dir)
    print(format_report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
