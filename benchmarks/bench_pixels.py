"""Full read + pixel array, dicomfast against pydicom and against a bare read: issue 3's benchmark.

    python benchmarks/bench_pixels.py [-n 100] [--repeat 7] [--json out.json]

On the same 512 x 512 int16 CT series (``make_ct_series.make_series``, explicit VR little endian,
written once into ``benchmarks/data/`` and reused), read warm from the page cache, per file:

* ``fromfile``:        ``np.fromfile(path, np.uint8)``: the floor, the file's bytes in an array
* ``read_frombuffer``: ``open().read()`` + ``np.frombuffer`` of the pixel bytes (header length known)
* ``pydicom``:         ``pydicom.dcmread(path).pixel_array`` (a writeable copy)
* ``dicomfast``:       ``dicomfast.dcmread(path).pixel_array`` (a read-only view on the read bytes)
* ``dicomfast_copy``:  the same, then ``.copy()``: a writeable array like pydicom's
* ``dicomfast_direct``: ``dicomfast.read_pixels(path, rescale=False)`` (read_pixels' read): the
  header read, then the pixel bytes read straight from the file into a reused buffer (``pread``),
  no whole-file buffer, and copied into a new writeable array

Timing as in bench_header.py: one untimed pass per case, then ``repeat`` passes taking turns, the
median of the per-file times. Numbers are printed, never asserted: tests/test_benchmarks.py runs
:func:`run` once on a few small files so that this script cannot go stale.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
if str(HERE.parent) not in sys.path:  # run from a source checkout: the package next to benchmarks/
    sys.path.append(str(HERE.parent))

import per_file  # noqa: E402
from make_ct_series import make_series  # noqa: E402

CASES = (
    ("fromfile", "np.fromfile(path)            [floor]"),
    ("read_frombuffer", "open().read() + frombuffer"),
    ("pydicom", "pydicom   dcmread + pixel_array"),
    ("dicomfast", "dicomfast dcmread + pixel_array"),
    ("dicomfast_copy", "dicomfast ... + .copy()"),
    ("dicomfast_direct", "read_pixels(path, rescale=False)"),
)
# (name, numerator, denominator, target): a ratio is numerator time / denominator time.
RATIOS = (
    ("speedup_vs_pydicom", "pydicom", "dicomfast", 8.0),
    ("speedup_copy_vs_pydicom", "pydicom", "dicomfast_copy", None),
    ("over_fromfile", "dicomfast", "fromfile", None),
    ("over_read_frombuffer", "dicomfast", "read_frombuffer", None),
    ("fromfile_over_dicomfast", "fromfile", "dicomfast", 1.0),  # >= 1: no slower than the floor
    ("fromfile_over_direct", "fromfile", "dicomfast_direct", None),
)
DEFAULT_REPEAT = 7


def _reads(pixel_offset: int, count: int) -> dict[str, Callable[[str], Any]]:
    import numpy as np
    import pydicom

    import dicomfast

    def fromfile(path):
        return np.fromfile(path, np.uint8)

    def read_frombuffer(path):
        with open(path, "rb") as f:
            data = f.read()
        return np.frombuffer(data, "<i2", count=count, offset=pixel_offset)

    def pd(path):
        return pydicom.dcmread(path).pixel_array

    def df(path):
        return dicomfast.dcmread(path).pixel_array

    def df_copy(path):
        return dicomfast.dcmread(path).pixel_array.copy()

    def df_direct(path):
        return dicomfast.read_pixels(path, rescale=False)

    return {"fromfile": fromfile, "read_frombuffer": read_frombuffer, "pydicom": pd,
            "dicomfast": df, "dicomfast_copy": df_copy, "dicomfast_direct": df_direct}


def run(n_files: int = 100, repeat: int | None = None, quick: bool = False, *,
        data_dir: str | Path | None = None) -> dict[str, Any]:
    """Time every case on an ``n_files``-slice series; return the results (``quick``: 64 x 64
    slices and one pass, a smoke run whose timings mean little)."""
    import numpy as np
    import pydicom

    import dicomfast

    repeat, size, base = per_file.settings(n_files, repeat, quick, data_dir, DEFAULT_REPEAT, HERE)
    out = base / f"ct_explicit_{n_files}_{size}x{size}"
    paths = [os.fspath(p) for p in make_series(out, n_files, size, size)]

    ds = dicomfast.dcmread(paths[0])
    index = ds._find(0x7FE00010)
    offset, count = ds._tape.offset(index), ds.Rows * ds.Columns
    reads = _reads(offset, count)
    reference = pydicom.dcmread(paths[0]).pixel_array
    problems = {}
    for key in ("read_frombuffer", "dicomfast", "dicomfast_copy", "dicomfast_direct"):
        got = reads[key](paths[0]).reshape(reference.shape)
        if got.dtype != reference.dtype or not np.array_equal(got, reference):
            problems[key] = "differs from pydicom's pixel_array"
    order = [key for key, _ in CASES if key not in problems]
    times = per_file.time_cases(reads, order, paths, repeat)
    return per_file.result(
        versions={"pydicom": pydicom.__version__, "dicomfast": dicomfast.__version__, "numpy": np.__version__},
        n_files=n_files, repeat=repeat, size=size, quick=quick, paths=paths, directory=out, problems=problems,
        times=times, ratio_spec=RATIOS)


def format_report(result: dict[str, Any]) -> str:
    return per_file.format_report("full read + pixel_array", result, CASES)


def main(argv: list[str] | None = None) -> int:
    return per_file.main(__doc__, run, format_report, argv)


if __name__ == "__main__":
    sys.exit(main())
