"""The whole path from a file to display values: read -> Hounsfield units -> window -> uint8.

    python benchmarks/bench_read_pixels.py [-n 100] [--repeat 7] [--json out.json]

On the 512 x 512 int16 CT series of ``make_ct_series.make_series`` with a CT soft-tissue window
added to every file (Window Center 40, Window Width 400; written once into ``benchmarks/data/``
and reused), read warm from the page cache, per file:

* ``pydicom``:        ``ds = pydicom.dcmread(path)``, ``ds.pixel_array``, ``apply_modality_lut``,
  ``apply_voi_lut`` (float64 over the output range: pydicom stops there, still short of uint8)
* ``dicomfast``:      ``dicomfast.read_pixels(path, window="dataset")``: a new uint8 array
* ``dicomfast_out``:  the same into a preallocated uint8 array (``out=``), as a batch loader does
* ``dicomfast_hu``:   ``dicomfast.read_pixels(path)``: Hounsfield units, float32
* ``fromfile``:       ``np.fromfile(path)``: the file's bytes, for scale

Timing as in bench_header.py: one untimed pass per case, then ``repeat`` passes taking turns, the
median of the per-file times. Before timing, every file's dicomfast output is checked against
pydicom's result scaled to 0..255 and rounded (equal, or one unit off at a rounding tie). Numbers
are printed, never asserted: tests/test_bench_pixels.py runs :func:`run` once on small files.
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

CENTER, WIDTH = 40.0, 400.0
CASES = (
    ("pydicom", "pydicom   read + modality + VOI"),
    ("dicomfast", "dicomfast read_pixels(window='dataset')"),
    ("dicomfast_out", "dicomfast ... out=preallocated"),
    ("dicomfast_hu", "dicomfast read_pixels() -> HU"),
    ("fromfile", "np.fromfile(path)  [scale]"),
)
# (name, numerator, denominator, target): a ratio is numerator time / denominator time.
RATIOS = (
    ("speedup_vs_pydicom", "pydicom", "dicomfast", 40.0),
    ("speedup_out_vs_pydicom", "pydicom", "dicomfast_out", 40.0),
    ("dicomfast_over_fromfile", "dicomfast", "fromfile", None),
)
DEFAULT_REPEAT = 7


def windowed_series(n_files: int, size: int, base: Path) -> list[str]:
    """The CT series with Window Center/Width added (written once, then reused)."""
    import pydicom

    out = base / f"ct_window_{n_files}_{size}x{size}"
    source = make_series(base / f"ct_explicit_{n_files}_{size}x{size}", n_files, size, size)
    paths = [out / p.name for p in source]
    if all(p.exists() for p in paths):
        return [os.fspath(p) for p in paths]
    out.mkdir(parents=True, exist_ok=True)
    for src, dst in zip(source, paths):
        ds = pydicom.dcmread(src)
        ds.WindowCenter = CENTER
        ds.WindowWidth = WIDTH
        tmp = dst.with_suffix(".tmp")
        ds.save_as(tmp, enforce_file_format=True)
        os.replace(tmp, dst)
    return [os.fspath(p) for p in paths]


def _reads(shape: tuple[int, int]) -> dict[str, Callable[[str], Any]]:
    import numpy as np
    import pydicom
    from pydicom.pixels import processing as pp

    import dicomfast

    out = np.empty(shape, np.uint8)

    def pd(path):
        ds = pydicom.dcmread(path)
        return pp.apply_voi_lut(pp.apply_modality_lut(ds.pixel_array, ds), ds)

    def df(path):
        return dicomfast.read_pixels(path, window="dataset")

    def df_out(path):
        return dicomfast.read_pixels(path, window="dataset", out=out)

    def df_hu(path):
        return dicomfast.read_pixels(path)

    def fromfile(path):
        return np.fromfile(path, np.uint8)

    return {"pydicom": pd, "dicomfast": df, "dicomfast_out": df_out, "dicomfast_hu": df_hu,
            "fromfile": fromfile}


def _check(paths: list[str]) -> dict[str, str]:
    """dicomfast's outputs against pydicom's, for every file."""
    import numpy as np
    import pydicom
    from pydicom.pixels import processing as pp

    import dicomfast

    problems = {}
    for path in paths:
        ds = pydicom.dcmread(path)
        hu = pp.apply_modality_lut(ds.pixel_array, ds)
        if not np.array_equal(dicomfast.read_pixels(path), hu.astype(np.float32)):
            problems["dicomfast_hu"] = f"{path}: differs from pydicom's apply_modality_lut"
        voi = pp.apply_voi_lut(hu, ds)
        bits = int(ds.BitsStored)
        y_min = -(2 ** (bits - 1)) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        y_max = (2 ** (bits - 1) - 1) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        expected = np.floor((voi - y_min) / (y_max - y_min) * 255 + 0.5)
        got = dicomfast.read_pixels(path, window="dataset")
        if got.dtype != np.uint8 or np.abs(got.astype(np.float64) - expected).max() > 1:
            problems["dicomfast"] = f"{path}: differs from pydicom's apply_voi_lut, rounded"
    return problems


def run(n_files: int = 100, repeat: int | None = None, quick: bool = False, *,
        data_dir: str | Path | None = None) -> dict[str, Any]:
    """Time every case on an ``n_files``-slice series; return the results (``quick``: 64 x 64
    slices and one pass, a smoke run whose timings mean little)."""
    import numpy as np
    import pydicom

    import dicomfast

    repeat, size, base = per_file.settings(n_files, repeat, quick, data_dir, DEFAULT_REPEAT, HERE)
    paths = windowed_series(n_files, size, base)
    problems = _check(paths)
    reads = _reads((size, size))
    order = [key for key, _ in CASES if key not in problems]
    times = per_file.time_cases(reads, order, paths, repeat)
    return per_file.result(
        versions={"pydicom": pydicom.__version__, "dicomfast": dicomfast.__version__, "numpy": np.__version__},
        n_files=n_files, repeat=repeat, size=size, quick=quick, paths=paths, directory=os.path.dirname(paths[0]),
        problems=problems, times=times, ratio_spec=RATIOS, window=[CENTER, WIDTH])


def format_report(result: dict[str, Any]) -> str:
    return per_file.format_report("read -> HU -> window -> uint8", result, CASES)


def main(argv: list[str] | None = None) -> int:
    return per_file.main(__doc__, run, format_report, argv)


if __name__ == "__main__":
    sys.exit(main())
