"""Compressed pixel data: dicomfast's decoders against pydicom's plugins and the raw codec floor.

    python benchmarks/bench_codecs.py [--repeat 7] [--quick] [--json out.json]

Files: per transfer syntax, files of the test corpus (pydicom's and pydicom-data's test files),
single-frame and multi-frame, and a 10-frame HTJ2K file made here from pydicom-data's
``emri_small.dcm`` (the corpus has none). For each file, in one process, the contestants take
turns decoding every frame (a whole ``pixel_array``):

* ``dicomfast``: ``dicomfast.pixel_array(ds, workers=1)``, the default backend order;
* ``dicomfast_2t``: the same on 2 threads (``workers=2``), multi-frame files only;
* ``dicomfast_pylibjpeg``: ``decoder="pylibjpeg"``, one thread (the backend before issue 9);
* ``pydicom_pylibjpeg`` / ``pydicom_gdcm``: ``pydicom.pixels.pixel_array(ds, decoding_plugin=...)``;
* ``floor``: imagecodecs called directly on the frames' bytes (already extracted), one thread: what
  the codec alone costs; ``floor_2t``: the same on 2 threads.

The figure is the median of ``repeat`` timed calls (after one warm-up call that also checks the
contestant can decode the file; one that cannot is left out). Ratios are ``other / dicomfast``
(above 1: dicomfast is faster); ``dicomfast / dicomfast_2t`` is the 2-thread speed-up. Numbers are
printed, never asserted; tests/test_benchmarks.py runs :func:`run` once with ``quick=True``.
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))  # the checkout's dicomfast

import dicomfast  # noqa: E402
from dicomfast.pixels.encapsulated import frame_bytes, frame_count  # noqa: E402

# (corpus id, what): per syntax, a single-frame file and, where the corpus has one, a multi-frame one
FILES = [
    ("pdd/color3d_jpeg_baseline.dcm", "JPEG baseline, 120 frames 640x480 YBR_FULL_422"),
    ("pd/SC_rgb_jpeg_dcmtk.dcm", "JPEG baseline, RGB 100x100"),
    ("pd/JPGExtended.dcm", "JPEG extended 12-bit"),
    ("pdd/JPEG-LL.dcm", "JPEG lossless SV1, 1024x256 16-bit"),
    ("pdd/JPGLosslessP14SV1_1s_1f_8b.dcm", "JPEG lossless SV1, 1024x768 8-bit"),
    ("pdd/emri_small_jpeg_ls_lossless.dcm", "JPEG-LS lossless, 10 frames 64x64"),
    ("pd/MR_small_jpeg_ls_lossless.dcm", "JPEG-LS lossless, 64x64"),
    ("pdd/693_J2KR.dcm", "JPEG 2000 lossless, CT 512x512"),
    ("pdd/RG1_J2KR.dcm", "JPEG 2000 lossless, CR 1955x1841"),
    ("pdd/MR2_J2KI.dcm", "JPEG 2000 lossy, MR 1024x1024"),
    ("pdd/emri_small_jpeg_2k_lossless.dcm", "JPEG 2000 lossless, 10 frames 64x64"),
    ("gen:htj2k", "HTJ2K lossless, 10 frames 64x64"),
    ("pdd/emri_small_RLE.dcm", "RLE, 10 frames 64x64"),
]
QUICK = {"pd/SC_rgb_jpeg_dcmtk.dcm", "pd/MR_small_jpeg_ls_lossless.dcm", "gen:htj2k"}


def _corpus() -> dict[str, Path]:
    from corpus import corpus_files, corpus_id

    return {corpus_id(p): p for p in corpus_files()}


def htj2k_file() -> bytes:
    """pydicom-data's 10-frame emri_small.dcm, each frame HTJ2K lossless (OpenJPH through
    imagecodecs), as a Part 10 file."""
    import imagecodecs
    import pydicom
    from pydicom.encaps import encapsulate
    from pydicom.uid import HTJ2KLossless

    src = _corpus()["pdd/emri_small.dcm"]
    ds = pydicom.dcmread(src)
    arr = ds.pixel_array
    ds.PixelData = encapsulate([imagecodecs.htj2k_encode(f, level=0) for f in arr])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = HTJ2KLossless
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _floor(ds) -> Callable[[], Any] | None:
    """imagecodecs called directly on the frames' bytes; None for a syntax it does not serve."""
    import imagecodecs as ic

    syntax = str(ds.file_meta.TransferSyntaxUID)
    funcs = {
        "1.2.840.10008.1.2.4.50": ic.jpeg8_decode, "1.2.840.10008.1.2.4.51": ic.jpeg8_decode,
        "1.2.840.10008.1.2.4.57": ic.jpeg8_decode, "1.2.840.10008.1.2.4.70": ic.jpeg8_decode,
        "1.2.840.10008.1.2.4.80": ic.jpegls_decode, "1.2.840.10008.1.2.4.81": ic.jpegls_decode,
        "1.2.840.10008.1.2.4.90": ic.jpeg2k_decode, "1.2.840.10008.1.2.4.91": ic.jpeg2k_decode,
        "1.2.840.10008.1.2.4.201": ic.htj2k_decode, "1.2.840.10008.1.2.4.202": ic.htj2k_decode,
        "1.2.840.10008.1.2.4.203": ic.htj2k_decode,
    }
    func = funcs.get(syntax)
    if func is None:
        return None
    frames = [bytes(frame_bytes(ds, i)) for i in range(frame_count(ds))]
    return lambda workers=1: _map(func, frames, workers)


def _map(func, frames, workers):
    if workers == 1:
        return [func(f) for f in frames]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(func, frames))


def _contestants(data: bytes) -> dict[str, Callable[[], Any]]:
    import pydicom
    from pydicom.pixels import pixel_array as pd_pixel_array

    ds = dicomfast.dcmread(data)
    nframes = frame_count(ds)
    cases: dict[str, Callable[[], Any]] = {
        "dicomfast": lambda: dicomfast.pixel_array(ds, workers=1),
    }
    if nframes > 1:
        cases["dicomfast_2t"] = lambda: dicomfast.pixel_array(ds, workers=2)
    syntax = str(ds.file_meta.TransferSyntaxUID)
    if syntax != "1.2.840.10008.1.2.5":
        cases["dicomfast_pylibjpeg"] = lambda: dicomfast.pixel_array(ds, decoder="pylibjpeg", workers=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pds = pydicom.dcmread(io.BytesIO(data))
    for plugin in ("pylibjpeg", "gdcm"):
        cases[f"pydicom_{plugin}"] = lambda plugin=plugin: pd_pixel_array(pds, decoding_plugin=plugin)
    floor = _floor(ds)
    if floor is not None:
        cases["floor"] = floor
        if nframes > 1:
            cases["floor_2t"] = lambda: floor(2)
    return cases


def _time(func: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(repeat: int = 7, quick: bool = False) -> dict:
    corpus = _corpus()
    result: dict[str, Any] = {"repeat": repeat, "files": {}}
    for key, what in FILES:
        if quick and key not in QUICK:
            continue
        if key == "gen:htj2k":
            data = htj2k_file()
        elif key in corpus:
            data = corpus[key].read_bytes()
        else:
            continue
        times: dict[str, float] = {}
        failed: dict[str, str] = {}
        for name, func in _contestants(data).items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    func()  # warm-up, and can it decode the file at all
                    times[name] = _time(func, repeat)
            except Exception as exc:  # noqa: BLE001 - a rival that cannot decode is reported, not timed
                failed[name] = f"{type(exc).__name__}: {str(exc)[:80]}"
        base = times.get("dicomfast")
        ratios = {name: t / base for name, t in times.items()} if base else {}
        if base and "dicomfast_2t" in times:
            ratios["speedup_2t"] = base / times["dicomfast_2t"]
        result["files"][key] = {"what": what, "times": times, "ratios": ratios, "failed": failed}
    return result


def report(result: dict) -> str:
    names = ["dicomfast", "dicomfast_2t", "dicomfast_pylibjpeg", "pydicom_pylibjpeg", "pydicom_gdcm", "floor", "floor_2t"]
    lines = ["median ms (ratio other / dicomfast 1 thread; above 1: dicomfast is faster)",
             "| file | " + " | ".join(names) + " | 2-thread speed-up |",
             "| --- |" + " --- |" * (len(names) + 1)]
    for key, r in result["files"].items():
        cells = []
        for name in names:
            if name in r["times"] and name in r["ratios"]:
                cells.append(f"{1000 * r['times'][name]:.2f} ({r['ratios'][name]:.2f})")
            elif name in r["times"]:
                cells.append(f"{1000 * r['times'][name]:.2f}")
            elif name in r["failed"]:
                cells.append("fails")
            else:
                cells.append("")
        speedup = r["ratios"].get("speedup_2t")
        lines.append(f"| {r['what']} | " + " | ".join(cells) + f" | {'' if speedup is None else f'{speedup:.2f}'} |")
    for key, r in result["files"].items():
        for name, why in r["failed"].items():
            lines.append(f"{key}: {name} fails: {why}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    result = run(args.repeat, args.quick)
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
