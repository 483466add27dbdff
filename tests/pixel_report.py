"""A summary of the pixel corpus comparison with pydicom: how many files give identical arrays, and
the files pydicom cannot decode, with what dicomfast does with each. The tests assert
(tests/test_pixels.py); this prints, for docs/transforms.md and the closing notes.

    .venv/bin/python tests/pixel_report.py
"""
from __future__ import annotations

import sys
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the checkout's dicomfast

import numpy as np  # noqa: E402
import pydicom  # noqa: E402

import dicomfast  # noqa: E402
from corpus import corpus_files, corpus_id  # noqa: E402
from make_reference_files import lossy_file  # noqa: E402

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:110]}" if str(exc) else type(exc).__name__


def outcome(path) -> tuple[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pds = pydicom.dcmread(path, force=True)
        except Exception as exc:  # noqa: BLE001 - any failure of the reference is reported
            return "not read by pydicom", _short(exc)
        if not any(k in pds for k in PIXEL_KEYWORDS):
            return "no pixel data", ""
        try:
            ref, ref_error = pds.pixel_array, None
        except Exception as exc:  # noqa: BLE001
            ref, ref_error = None, exc
    try:
        ours, our_error = dicomfast.pixel_array(dicomfast.dcmread(path, force=True)), None
    except Exception as exc:  # noqa: BLE001
        ours, our_error = None, exc
    if ref is None:
        if ours is not None:
            return "pydicom fails", f"dicomfast decodes it {ours.shape} {ours.dtype}; pydicom: {_short(ref_error)}"
        return "pydicom fails", f"dicomfast: {_short(our_error)}; pydicom: {_short(ref_error)}"
    if ours is None:
        return "dicomfast fails", _short(our_error)
    if ours.shape == ref.shape and np.array_equal(ours, ref, equal_nan=ours.dtype.kind == "f"):
        return "identical", ""
    if lossy_file(path):
        return "within tolerance (lossy)", ""
    return "differs", f"{ours.shape} {ours.dtype} vs {ref.shape} {ref.dtype}"


def main() -> int:
    counts: Counter = Counter()
    notes: list[tuple[str, str, str]] = []
    for path in corpus_files():
        kind, detail = outcome(path)
        counts[kind] += 1
        if kind not in ("identical", "no pixel data"):
            notes.append((kind, corpus_id(path), detail))
    for kind, n in counts.most_common():
        print(f"{n:5d}  {kind}")
    for kind, name, detail in sorted(notes):
        print(f"  [{kind}] {name}: {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
