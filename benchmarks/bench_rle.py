"""RLE Lossless decoding: dicomfast's kernel against pylibjpeg-rle and pydicom's own decoder.

    python benchmarks/bench_rle.py [--repeat 15] [--json out.json]

Frames: every RLE Lossless file of the test corpus (pydicom's and pydicom-data's test files), frame
0 of each, and a 512 x 512 16-bit signed CT frame (the phantom of ``make_ct_series``) encoded with
pydicom's RLE encoder. For each frame, in one process, the decoders take turns:

* ``dicomfast``: ``dicomfast.pixels.codecs._rle.decode_rle_frame`` (the compiled kernel, GIL released)
* ``dicomfast_frame``: ``dicomfast.pixels.codecs.decode_frame`` (frame lookup, kernel, dtype and bits)
* ``pylibjpeg_rle``: ``rle.utils.decode_pixel_data(version=2)`` (Rust), if installed
* ``pydicom``: pydicom's pure-Python ``_rle_decode_frame``, the default without plugins

A sample is the mean time of a batch of calls sized to take ~5 ms, the decoders taking turns sample
by sample; the figure is the median of ``repeat`` samples. Ratios are ``other / dicomfast`` (above 1: dicomfast is faster). Numbers are
printed, never asserted; tests/test_bench_rle.py runs :func:`run` once with ``quick=True``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import dicomfast  # noqa: E402
from dicomfast.pixels.codecs._rle import decode_rle_frame  # noqa: E402
from dicomfast.pixels.codecs import decode_frame  # noqa: E402
from dicomfast.pixels.encapsulated import frame_bytes  # noqa: E402

RLE_UID = "1.2.840.10008.1.2.5"


def _corpus_rle_files() -> list[tuple[str, Path]]:
    from corpus import corpus_files, corpus_id

    found = []
    for path in corpus_files():
        try:
            meta = dicomfast.read_file_meta(path)
            ts = str(meta.get("TransferSyntaxUID", "")).rstrip("\0 ")
        except Exception:
            continue
        if ts == RLE_UID:
            found.append((corpus_id(path), path))
    return found


def _ct_frame_file() -> bytes:
    """A 512 x 512 16-bit signed CT frame, RLE encoded by pydicom, as a Part 10 file."""
    import io

    import make_ct_series
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, RLELossless

    arr = make_ct_series._Phantom(512, 512, 7, SimpleNamespace(ImagePositionPatient=[0, 0, 0])).slice(0.3, 5)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5"
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.PixelData = arr.tobytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.compress(RLELossless, arr)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _time(cases: dict[str, Callable[[], Any]], repeat: int, quick: bool) -> dict[str, dict[str, float]]:
    """Per-call times of each case; the cases take turns, sample by sample, so that a slow spell
    of the machine falls on all of them alike."""
    batches = {}
    for case, func in cases.items():
        func()  # warm
        t0 = time.perf_counter()
        func()
        once = max(time.perf_counter() - t0, 1e-7)
        batches[case] = 1 if quick else max(1, int(0.005 / once))
    samples: dict[str, list[float]] = {case: [] for case in cases}
    for _ in range(repeat):
        for case, func in cases.items():
            batch = batches[case]
            t0 = time.perf_counter_ns()
            for _ in range(batch):
                func()
            samples[case].append((time.perf_counter_ns() - t0) / batch / 1000.0)
    return {case: {"median_us": statistics.median(s), "min_us": min(s)} for case, s in samples.items()}


def _decoders(ds, data: memoryview) -> dict[str, Callable[[], Any]]:
    rows, cols = int(ds.Rows), int(ds.Columns)
    spp, bits = int(ds.get("SamplesPerPixel", 1)), int(ds.BitsAllocated)
    raw = bytes(data)
    cases: dict[str, Callable[[], Any]] = {
        "dicomfast": lambda: decode_rle_frame(data, rows, cols, spp, bits),
        "dicomfast_frame": lambda: decode_frame(ds, 0),
    }
    try:
        from rle.utils import decode_pixel_data as rle_decode

        cases["pylibjpeg_rle"] = lambda: rle_decode(
            raw, version=2, rows=rows, columns=cols, samples_per_pixel=spp, bits_allocated=bits
        )
    except ImportError:
        pass
    try:
        from pydicom.pixels.decoders.rle import _rle_decode_frame

        cases["pydicom"] = lambda: _rle_decode_frame(raw, rows, cols, spp, bits)
    except ImportError:
        pass
    return cases


def run(repeat: int = 15, quick: bool = False) -> dict[str, Any]:
    inputs: list[tuple[str, Any]] = []
    inputs.append(("ct_512x512_16bit", dicomfast.dcmread(_ct_frame_file())))
    files = _corpus_rle_files()
    if quick:
        files = files[:2]
    for name, path in files:
        inputs.append((name, dicomfast.dcmread(path)))
    results: dict[str, Any] = {"frames": {}, "versions": {}}
    for mod in ("numpy", "pydicom", "rle"):
        try:
            results["versions"][mod] = getattr(__import__(mod), "__version__", "?")
        except ImportError:
            results["versions"][mod] = None
    for name, ds in inputs:
        data = frame_bytes(ds, 0)
        cases = _decoders(ds, data)
        if quick:
            cases.pop("pydicom", None) if name.startswith("ct_") else None
        times = _time(cases, repeat, quick)
        base = times["dicomfast"]["median_us"]
        results["frames"][name] = {
            "shape": [int(ds.Rows), int(ds.Columns), int(ds.get("SamplesPerPixel", 1))],
            "bits": int(ds.BitsAllocated),
            "encoded_bytes": len(data),
            "times": times,
            "ratios": {case: t["median_us"] / base for case, t in times.items()},
        }
    return results


def report(results: dict[str, Any]) -> str:
    cases = ["dicomfast", "dicomfast_frame", "pylibjpeg_rle", "pydicom"]
    lines = [f"{'frame':40s} " + " ".join(f"{c:>16s}" for c in cases) + "   (median us; x = other / dicomfast)"]
    for name, r in results["frames"].items():
        cells = []
        for c in cases:
            t = r["times"].get(c)
            cells.append(f"{'-':>16s}" if t is None else f"{t['median_us']:9.1f} {r['ratios'][c]:5.2f}x")
        lines.append(f"{name[:40]:40s} " + " ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    results = run(repeat=args.repeat)
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
