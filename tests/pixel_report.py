"""A summary of the pixel corpus comparison with pydicom: how many files give identical arrays, and
the files pydicom cannot decode, with what dicomfast does with each. The tests assert
(tests/test_pixels.py); this prints, for docs/transforms.md and the closing notes.

Compressed files are also decoded by GDCM (``gdcmconv --raw``) and DCMTK (``dcmdjpeg``,
``dcmdjpls``, ``dcmdrle``; DCMTK has no free JPEG 2000 decoder), whose native output pydicom
reads: per file, which of pydicom / GDCM / DCMTK / dicomfast decode it, and whether dicomfast's
array is identical to each, within the lossy tolerance, or differs (:func:`codec_outcome`;
tests/test_codecs.py asserts that dicomfast decodes every file one of them decodes, within the
tolerance).

Lossy tolerance (:data:`LOSSY_MAX`, :data:`LOSSY_MEAN`): JPEG decoders may use other inverse DCTs
and chroma upsampling (IJG's integer IDCT in libjpeg-turbo, GDCM and DCMTK; ISO libjpeg's in
pylibjpeg), and YCbCr to RGB conversion in integers (libjpeg-turbo, DCMTK) or floats (pydicom):
a sample may differ by a few levels, the mean by a fraction of one. Lossless syntaxes: identical.

    .venv/bin/python tests/pixel_report.py
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
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
LOSSY_SYNTAXES = {
    "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.203",
}
LOSSY_MAX = 4
LOSSY_MEAN = 0.5
_DCMTK = {
    **dict.fromkeys(("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
                     "1.2.840.10008.1.2.4.70"), "dcmdjpeg"),
    **dict.fromkeys(("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"), "dcmdjpls"),
    "1.2.840.10008.1.2.5": "dcmdrle",
}
REFERENCES = ("pydicom", "gdcm", "dcmtk")


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
    syntax = str(pds.file_meta.get("TransferSyntaxUID", "")) if hasattr(pds, "file_meta") else ""
    if (lossy_file(path) or syntax in LOSSY_SYNTAXES) and agreement(ours, ref, True) != "differs":
        return "within tolerance (lossy)", ""
    return "differs", f"{ours.shape} {ours.dtype} vs {ref.shape} {ref.dtype}"


def _native_from(cmd: list[str], out: Path):
    """Run a converter that writes ``out`` (native pixel data), and pydicom's array of it; the
    exception when either fails."""
    try:
        proc = subprocess.run([*cmd, str(out)], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not out.exists():
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            return RuntimeError(lines[-1] if lines else f"exit {proc.returncode}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(out).pixel_array
    except Exception as exc:  # noqa: BLE001 - the reference's failure is reported
        return exc
    finally:
        out.unlink(missing_ok=True)


def reference_arrays(path, syntax: str) -> dict:
    """``{"pydicom" | "gdcm" | "dcmtk": array or the exception}``; a tool that is not installed,
    or that has no decoder for the syntax, is left out."""
    found: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found["pydicom"] = pydicom.dcmread(path).pixel_array
        except Exception as exc:  # noqa: BLE001
            found["pydicom"] = exc
    with tempfile.TemporaryDirectory() as tmp:
        if shutil.which("gdcmconv"):
            found["gdcm"] = _native_from(["gdcmconv", "--raw", str(path)], Path(tmp) / "gdcm.dcm")
        tool = _DCMTK.get(syntax)
        if tool and shutil.which(tool):
            found["dcmtk"] = _native_from([tool, str(path)], Path(tmp) / "dcmtk.dcm")
    return found


def agreement(ours, ref, lossy: bool) -> str:
    """"identical", "within tolerance" (lossy syntaxes only) or "differs"."""
    if ours.shape != ref.shape:
        return "differs"
    if np.array_equal(ours, ref):
        return "identical"
    if lossy:
        diff = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
        if diff.max() <= LOSSY_MAX and diff.mean() <= LOSSY_MEAN:
            return "within tolerance"
    return "differs"


def codec_outcome(path) -> dict:
    """A compressed file against every reference: ``syntax``, ``decoded_by`` (the references that
    decode it), ``dicomfast`` (None, or the exception), and ``agreement`` per reference that
    decodes it ("identical", "within tolerance", "differs")."""
    meta = dicomfast.read_file_meta(path)
    syntax = str(meta.get("TransferSyntaxUID", "")).rstrip("\0 ")
    refs = reference_arrays(path, syntax)
    decoded = {name: arr for name, arr in refs.items() if isinstance(arr, np.ndarray)}
    try:
        ours, error = dicomfast.pixel_array(dicomfast.dcmread(path)), None
    except Exception as exc:  # noqa: BLE001
        ours, error = None, exc
    lossy = syntax in LOSSY_SYNTAXES or lossy_file(path)
    return {
        "syntax": syntax,
        "decoded_by": sorted(decoded),
        "failed": {name: _short(exc) for name, exc in refs.items() if name not in decoded},
        "dicomfast": error,
        "agreement": {} if ours is None else {name: agreement(ours, ref, lossy) for name, ref in decoded.items()},
    }


def compressed_files() -> list[Path]:
    found = []
    for path in corpus_files():
        try:
            meta = dicomfast.read_file_meta(path)
        except Exception:  # noqa: BLE001
            continue
        syntax = str(meta.get("TransferSyntaxUID", "")).rstrip("\0 ")
        if syntax.startswith("1.2.840.10008.1.2.4.") or syntax == "1.2.840.10008.1.2.5":
            found.append(path)
    return found


def codec_report(paths) -> str:
    counts: Counter = Counter()
    decoded_by: Counter = Counter()
    lines = []
    for path in paths:
        r = codec_outcome(path)
        name = corpus_id(path)
        for ref in r["decoded_by"]:
            decoded_by[ref] += 1
        if r["dicomfast"] is None:
            decoded_by["dicomfast"] += 1
        if r["dicomfast"] is not None:
            kind = "dicomfast fails, a reference decodes" if r["decoded_by"] else "nobody decodes"
            lines.append(f"  [{kind}] {name}: {_short(r['dicomfast'])}; {r['failed']}")
        elif not r["decoded_by"]:
            kind = "only dicomfast decodes"
            lines.append(f"  [{kind}] {name}: {r['failed']}")
        elif "differs" in r["agreement"].values():
            kind = "differs from a reference"
            lines.append(f"  [{kind}] {name}: {r['agreement']}")
        elif "within tolerance" in r["agreement"].values():
            kind = "within lossy tolerance"
        else:
            kind = "identical to every reference that decodes it"
        counts[kind] += 1
    head = [f"compressed files: {len(paths)}; decoded by " + ", ".join(
        f"{ref} {decoded_by[ref]}" for ref in (*REFERENCES, "dicomfast"))]
    head += [f"{n:5d}  {kind}" for kind, n in counts.most_common()]
    return "\n".join(head + sorted(lines))


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
    print()
    print(codec_report(compressed_files()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
