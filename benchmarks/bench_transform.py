"""Rescale + window to uint8 of one CT slice: dicomfast's fused pass against NumPy and pydicom.

    python benchmarks/bench_transform.py [--size 512] [--repeat 51] [--number 20] [--threads 2]

The slice is a synthetic 512 x 512 int16 CT (air, soft tissue with noise, a bone ring; stored values
with Rescale Intercept -1024), windowed at centre 40 / width 400 (LINEAR). Cases:

* ``dicomfast_window_uint8``: ``dicomfast.window(arr, 40, 400, intercept=-1024, out=out)``, one pass.
* ``numpy_float64`` / ``numpy_float32``: NumPy's best expression of the same maths with the rescale and
  window folded into one multiply-add, preallocated buffers and in-place ufuncs:
  ``multiply, add, clip, rint`` into a float buffer, then a cast into the preallocated uint8 output.
  ``numpy_best`` is the faster of the two.
* ``pydicom_modality_voi``: ``pydicom.pixels.processing.apply_modality_lut`` then ``apply_voi_lut``
  (float64 output: what a pydicom user calls; it does more work, which is the point of comparing).
* ``dicomfast_modality_voi``: dicomfast's functions of the same names (float64 output too).
* with ``--threads N``: ``dicomfast_window_uint8_threads``, the first case with
  ``_transform.set_num_threads(N)`` around each call (OpenMP; off by default, see docs/transforms.md).

Each sample is ``number`` calls timed with ``time.perf_counter``, divided by ``number``; the figure is
the median of ``repeat`` samples, cases taking turns sample by sample. Numbers are printed, never
asserted: tests/test_transforms.py runs :func:`run` once on a small slice.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a source checkout: the checkout's dicomfast
    sys.path.insert(0, str(ROOT))

import dicomfast  # noqa: E402
from dicomfast.pixels import _transform  # noqa: E402

CENTER, WIDTH, SLOPE, INTERCEPT = 40.0, 400.0, 1.0, -1024.0


def make_slice(size: int = 512, seed: int = 0) -> np.ndarray:
    """Stored values (int16) of a CT-like slice: HU + 1024."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size - 0.5
    r = np.hypot(xx / 0.9, yy / 0.7)
    hu = np.full((size, size), -1000.0)
    hu[r < 0.45] = 40.0
    hu[(r >= 0.40) & (r < 0.45)] = 900.0
    hu += rng.normal(0, 20, hu.shape)
    return np.round(hu - INTERCEPT).astype(np.int16)


def _pydicom_dataset():
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsStored = 16
    ds.PixelRepresentation = 1
    ds.RescaleSlope = SLOPE
    ds.RescaleIntercept = INTERCEPT
    ds.WindowCenter = CENTER
    ds.WindowWidth = WIDTH
    return ds


def cases(arr: np.ndarray, threads: int = 1) -> dict:
    out = np.empty(arr.shape, np.uint8)
    buf64 = np.empty(arr.shape, np.float64)
    buf32 = np.empty(arr.shape, np.float32)
    # LINEAR: t = ((y - (c - 0.5)) / (w - 1) + 0.5), y = x * slope + intercept; scaled by 255.
    a = SLOPE / (WIDTH - 1) * 255
    b = ((INTERCEPT - (CENTER - 0.5)) / (WIDTH - 1) + 0.5) * 255

    def dicomfast_window_uint8():
        return dicomfast.window(arr, CENTER, WIDTH, slope=SLOPE, intercept=INTERCEPT, out=out)

    def numpy_expression(buf, a=a, b=b):
        a, b = buf.dtype.type(a), buf.dtype.type(b)

        def numpy_case():
            np.multiply(arr, a, out=buf)
            np.add(buf, b, out=buf)
            np.clip(buf, 0, 255, out=buf)
            np.rint(buf, out=buf)
            np.copyto(out, buf, casting="unsafe")
            return out

        return numpy_case

    def dicomfast_window_uint8_threads():
        old = _transform.set_num_threads(threads)
        try:
            return dicomfast.window(arr, CENTER, WIDTH, slope=SLOPE, intercept=INTERCEPT, out=out)
        finally:
            _transform.set_num_threads(old)

    found = {
        "dicomfast_window_uint8": dicomfast_window_uint8,
        "numpy_float64": numpy_expression(buf64),
        "numpy_float32": numpy_expression(buf32),
    }
    try:
        from pydicom.pixels import processing as pp
    except ImportError:  # pragma: no cover - pydicom is a test dependency
        pp = None
    ds = _pydicom_dataset()
    if pp is not None:
        found["pydicom_modality_voi"] = lambda: pp.apply_voi_lut(pp.apply_modality_lut(arr, ds), ds)
    found["dicomfast_modality_voi"] = lambda: dicomfast.apply_voi_lut(dicomfast.apply_modality_lut(arr, ds), ds)
    if threads > 1:
        found["dicomfast_window_uint8_threads"] = dicomfast_window_uint8_threads
    return found


def run(size: int = 512, repeat: int = 51, number: int = 20, threads: int = 1) -> dict:
    arr = make_slice(size)
    todo = cases(arr, threads)
    samples: dict[str, list[float]] = {name: [] for name in todo}
    for fn in todo.values():  # warm up
        fn()
    for _ in range(repeat):
        for name, fn in todo.items():
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - t0) / number)
    times = {name: statistics.median(s) for name, s in samples.items()}
    times["numpy_best"] = min(times["numpy_float64"], times["numpy_float32"])
    fused = times["dicomfast_window_uint8"]
    ratios = {"numpy_best_over_dicomfast": times["numpy_best"] / fused}
    if "dicomfast_window_uint8_threads" in times:
        ratios["numpy_best_over_dicomfast_threads"] = times["numpy_best"] / times["dicomfast_window_uint8_threads"]
    if "pydicom_modality_voi" in times:
        ratios["pydicom_over_dicomfast_window"] = times["pydicom_modality_voi"] / fused
        ratios["pydicom_over_dicomfast_modality_voi"] = times["pydicom_modality_voi"] / times["dicomfast_modality_voi"]
    return {
        "config": {"size": size, "repeat": repeat, "number": number, "threads": threads},
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "numpy": np.__version__},
        "times": times,
        "ratios": ratios,
    }


def format_report(result: dict) -> str:
    size = result["config"]["size"]
    lines = [f"rescale + window, {size} x {size} int16 slice (median of {result['config']['repeat']} samples)"]
    for name, t in result["times"].items():
        lines.append(f"  {name:<28} {t * 1e6:10.1f} us")
    for name, r in result["ratios"].items():
        lines.append(f"  {name:<40} {r:6.1f}x")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--repeat", type=int, default=51)
    p.add_argument("--number", type=int, default=20)
    p.add_argument("--threads", type=int, default=1, help="also time the window with this many OpenMP threads")
    args = p.parse_args(argv)
    print(format_report(run(args.size, args.repeat, args.number, args.threads)))


if __name__ == "__main__":
    main()
