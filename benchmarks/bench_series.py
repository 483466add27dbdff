"""A series into a volume, and a batch of files into one array: dicomfast against pydicom.

    python benchmarks/bench_series.py [-n 300] [--repeat 5] [--workers N] [--json out.json]

On the 512 x 512 int16 CT series of ``make_ct_series.make_series`` (explicit VR little endian,
written once into ``benchmarks/data/`` and reused), warm from the page cache:

**load_series** (per series): the whole job, Hounsfield units as float32 (z, y, x) in geometric order.

* ``pydicom``:            ``dcmread`` every file, sort by Image Position (Patient) projected on the
  normal of Image Orientation (Patient), ``apply_modality_lut`` each slice into a preallocated
  float32 array: what a careful pydicom user writes
* ``dicomfast``:          ``dicomfast.load_series(paths)`` (default threads)
* ``dicomfast_1thread``:  the same with ``workers=1``

**read_batch** (per file): N files into one (N, rows, cols) float32 array of Hounsfield units, in
the given order (no sorting): a DataLoader's batch.

* ``pydicom_loop``:       ``apply_modality_lut(dcmread(p).pixel_array, ds)`` into ``out[i]``
* ``read_batch``:         ``dicomfast.read_batch(paths, out)`` (default threads)
* ``read_batch_1thread``: the same with ``workers=1``

The results are checked against pydicom's first. One untimed pass per case, then ``repeat`` passes
taking turns; medians. Numbers are printed, never asserted: tests/test_bench_series.py runs
:func:`run` once on a tiny series so that this script cannot go stale.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
if str(HERE.parent) not in sys.path:  # run from a source checkout: the package next to benchmarks/
    sys.path.append(str(HERE.parent))

from bench_header import _stats, machine_info  # noqa: E402
from make_ct_series import make_series  # noqa: E402

SERIES_CASES = (
    ("pydicom", "pydicom   read, sort, stack, modality LUT"),
    ("dicomfast", "dicomfast load_series"),
    ("dicomfast_1thread", "dicomfast load_series(workers=1)"),
)
BATCH_CASES = (
    ("pydicom_loop", "pydicom   loop into out[i]"),
    ("read_batch", "dicomfast read_batch(paths, out)"),
    ("read_batch_1thread", "dicomfast read_batch(workers=1)"),
)
# (name, numerator, denominator): a ratio is numerator time / denominator time
RATIOS = (
    ("load_series_vs_pydicom", "pydicom", "dicomfast"),
    ("load_series_1thread_vs_pydicom", "pydicom", "dicomfast_1thread"),
    ("read_batch_vs_pydicom", "pydicom_loop", "read_batch"),
    ("read_batch_1thread_vs_pydicom", "pydicom_loop", "read_batch_1thread"),
)
DEFAULT_REPEAT = 5


def pydicom_series(paths: list[str]):
    """The job done with pydicom: read, sort by geometry, stack, modality LUT; float32 (z, y, x)."""
    import numpy as np
    import pydicom
    from pydicom.pixels import apply_modality_lut

    datasets = [pydicom.dcmread(p) for p in paths]
    iop = np.array([float(v) for v in datasets[0].ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    datasets.sort(key=lambda ds: float(np.dot([float(v) for v in ds.ImagePositionPatient], normal)))
    first = datasets[0]
    out = np.empty((len(datasets), first.Rows, first.Columns), np.float32)
    for k, ds in enumerate(datasets):
        out[k] = apply_modality_lut(ds.pixel_array, ds)
    return out


def _series_jobs(workers: int | None) -> dict[str, Callable[[list[str]], Any]]:
    import dicomfast

    return {
        "pydicom": pydicom_series,
        "dicomfast": lambda paths: dicomfast.load_series(paths, workers=workers).array,
        "dicomfast_1thread": lambda paths: dicomfast.load_series(paths, workers=1).array,
    }


def _batch_jobs(out, workers: int | None) -> dict[str, Callable[[list[str]], Any]]:
    import pydicom
    from pydicom.pixels import apply_modality_lut

    import dicomfast

    def loop(paths):
        for i, p in enumerate(paths):
            ds = pydicom.dcmread(p)
            out[i] = apply_modality_lut(ds.pixel_array, ds)
        return out

    return {
        "pydicom_loop": loop,
        "read_batch": lambda paths: dicomfast.read_batch(paths, out, workers=workers),
        "read_batch_1thread": lambda paths: dicomfast.read_batch(paths, out, workers=1),
    }


def _time(jobs: dict[str, Callable], paths: list[str], repeat: int, per_file: bool) -> dict[str, dict]:
    """Per-case stats of ``repeat`` timed passes (one untimed first), in us per series or per file."""
    for job in jobs.values():
        job(paths)
    samples: dict[str, list[float]] = {key: [] for key in jobs}
    for _ in range(repeat):
        for key, job in jobs.items():
            gc.collect()
            start = time.perf_counter_ns()
            job(paths)
            elapsed = time.perf_counter_ns() - start
            samples[key].append(elapsed / len(paths) if per_file else elapsed)
    return {key: _stats(v) for key, v in samples.items()}


def run(n_files: int = 300, repeat: int | None = None, quick: bool = False, *, workers: int | None = None,
        data_dir: str | Path | None = None) -> dict[str, Any]:
    """Time both jobs on an ``n_files``-slice series; return the results (``quick``: 64 x 64
    slices and one pass, a smoke run whose timings mean little)."""
    import random

    import numpy as np
    import pydicom

    import dicomfast
    from dicomfast.collection.threads import default_workers

    if repeat is None:
        repeat = 1 if quick else DEFAULT_REPEAT
    if repeat < 1 or n_files < 2:
        raise ValueError("repeat must be at least 1 and n_files at least 2")
    size = 64 if quick else 512
    base = Path(data_dir) if data_dir is not None else HERE / "data"
    out_dir = base / f"ct_explicit_{n_files}_{size}x{size}"
    paths = [os.fspath(p) for p in make_series(out_dir, n_files, size, size)]
    random.Random(0).shuffle(paths)  # as a directory listing might give them: the sort is part of the job

    problems = {}
    reference = pydicom_series(paths)
    series_jobs = _series_jobs(workers)
    for key in ("dicomfast", "dicomfast_1thread"):
        if not np.array_equal(series_jobs[key](paths), reference):
            problems[key] = "differs from the pydicom volume"
    out = np.empty((n_files, size, size), np.float32)
    batch_jobs = _batch_jobs(out, workers)
    batch_jobs["pydicom_loop"](paths)
    batch_reference = out.copy()
    for key in ("read_batch", "read_batch_1thread"):
        out[:] = np.nan
        if not np.array_equal(batch_jobs[key](paths), batch_reference):
            problems[key] = "differs from the pydicom loop"
    series_jobs = {k: v for k, v in series_jobs.items() if k not in problems}
    batch_jobs = {k: v for k, v in batch_jobs.items() if k not in problems}

    series_times = _time(series_jobs, paths, repeat, per_file=False)
    batch_times = _time(batch_jobs, paths, repeat, per_file=True)
    times = {**series_times, **batch_times}
    ratios = {}
    for name, num, den in RATIOS:
        if num in times and den in times:
            ratios[name] = {"value": times[num]["median_us"] / times[den]["median_us"],
                            "numerator": num, "denominator": den}
    return {
        "machine": machine_info(),
        "versions": {"pydicom": pydicom.__version__, "dicomfast": dicomfast.__version__, "numpy": np.__version__},
        "config": {"n_files": n_files, "repeat": repeat, "rows": size, "cols": size, "quick": quick,
                   "workers": workers if workers is not None else default_workers(),
                   "cache": "warm (one untimed pass per case before timing)"},
        "files": {"dir": os.fspath(out_dir), "count": len(paths), "bytes_each": os.path.getsize(paths[0])},
        "problems": problems,
        "series_times": series_times,
        "batch_times": batch_times,
        "ratios": ratios,
    }


def format_report(result: dict[str, Any]) -> str:
    cfg = result["config"]
    lines = [f"{cfg['n_files']} x {cfg['rows']}x{cfg['cols']} int16 CT slices, {cfg['repeat']} passes, "
             f"{cfg['workers']} threads by default, {result['machine']['cpu_count']} cores (median, p25-p75)",
             "load_series: the whole series into float32 HU (z, y, x)"]
    labels = dict(SERIES_CASES + BATCH_CASES)
    for key, s in result["series_times"].items():
        lines.append(f"  {labels[key]:<44} {s['median_us'] / 1e3:9.1f} ms  "
                     f"({s['p25_us'] / 1e3:.1f}-{s['p75_us'] / 1e3:.1f})")
    lines.append("read_batch: N files into one float32 (N, rows, cols) array, per file")
    for key, s in result["batch_times"].items():
        lines.append(f"  {labels[key]:<44} {s['median_us']:9.1f} us  ({s['p25_us']:.1f}-{s['p75_us']:.1f})")
    for key, why in result["problems"].items():
        lines.append(f"  {labels[key]:<44} left out: {why}")
    for name, r in result["ratios"].items():
        lines.append(f"  {name:<44} {r['value']:9.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--n-files", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None, help="threads (default: dicomfast's)")
    parser.add_argument("--quick", action="store_true", help="64 x 64 slices, one pass (a smoke run)")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    result = run(args.n_files, args.repeat, args.quick, workers=args.workers, data_dir=args.data_dir)
    print(format_report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
