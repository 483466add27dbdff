"""Write reference files made by DCMTK and GDCM into tests/data/generated/ (gitignored).

Other toolkits' writers are the second reference beside pydicom: the same content in every
uncompressed transfer syntax (and deflate), encoded by code that is not pydicom's. A handful of
pydicom's test files are converted, chosen for what they exercise:

    CT_small       private tags (GE), a sequence, signed 16-bit pixels
    MR_small       a plain MR image
    rtplan         deeply nested sequences, no pixels
    rtstruct       long sequences of contours (DS multi-values)
    rtdose         multi-frame, 32-bit pixels
    test-SR        structured report: sequences many levels deep
    chrH31         Japanese, ISO 2022 escape sequences
    chrX1          UTF-8 (ISO_IR 192)

Outputs are named ``<source-stem>__<tool>_<syntax>.dcm``, e.g. ``CT_small__dcmtk_bigendian.dcm``,
with <syntax> one of implicit (implicit VR LE), explicit (explicit VR LE), bigendian (explicit VR
BE, retired, DCMTK only: gdcmconv cannot write it) and deflated (deflated explicit VR LE).

Compressed pixel data, the second half (``ENCODINGS``): the same images encoded by DCMTK's
``dcmcjpeg`` (JPEG baseline, extended 12-bit, lossless SV1), ``dcmcjpls`` (JPEG-LS lossless and
near-lossless) and ``dcmcrle``, and by ``gdcmconv`` (``--j2k`` lossless and lossy, ``--jpegls``,
``--rle``), named ``<source-stem>__<tool>_<encoding>.dcm``. Besides CT_small, MR_small and rtdose
(15 frames of 32 bits: RLE only), three small images are written first with pydicom, for what the
codecs need and the test files lack (``PIXEL_SOURCES``):

    mono8_3f     3 frames, 8 bits, MONOCHROME2 (baseline JPEG takes 8 bits only)
    mono12_2f    2 frames, 12 of 16 bits, MONOCHROME2 (extended JPEG: 12 bits)
    rgb8         RGB, 8 bits, odd width (colour transforms and subsampling in the codecs)

Tests compare every file's pixels with pydicom's (tests/test_pixels.py, via tests/corpus.py): lossy
encodings are marked by ``lossy_file`` so that the comparison allows the codecs' tolerance.

Idempotent and fast: an output newer than its source and than this script is kept. Missing tools
are skipped and reported; a conversion that a tool refuses is reported and skipped.

Run by tests/conftest.py at the start of every pytest session; by hand::

    python tests/make_reference_files.py [--force]
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import codec_files

HERE = Path(__file__).resolve().parent
GENERATED_DIR = HERE / "data" / "generated"

# (directory under pydicom/data, file name)
SOURCES = [
    ("test_files", "CT_small.dcm"),
    ("test_files", "MR_small.dcm"),
    ("test_files", "rtplan.dcm"),
    ("test_files", "rtstruct.dcm"),
    ("test_files", "rtdose.dcm"),
    ("test_files", "test-SR.dcm"),
    ("charset_files", "chrH31.dcm"),
    ("charset_files", "chrX1.dcm"),
]

# tool -> (executable, Debian package, {syntax: command-line options})
TOOLS = {
    "dcmtk": (
        "dcmconv",
        "dcmtk",
        {"implicit": ["+ti"], "explicit": ["+te"], "bigendian": ["+tb"], "deflated": ["+td"]},
    ),
    "gdcm": (
        "gdcmconv",
        "libgdcm-tools",
        {"implicit": ["-M"], "explicit": ["-X"], "deflated": ["-d"]},
    ),
}


# Synthetic sources for the pixel encodings: name -> (frames, rows, columns, samples, bits stored).
PIXEL_SOURCES = {
    "mono8_3f": (3, 48, 64, 1, 8),
    "mono12_2f": (2, 48, 64, 1, 12),
    "rgb8": (1, 40, 63, 3, 8),
}
_CT, _MR, _DOSE = "test_files/CT_small.dcm", "test_files/MR_small.dcm", "test_files/rtdose.dcm"
_M8, _M12, _RGB = "gen:mono8_3f", "gen:mono12_2f", "gen:rgb8"

# (tool, encoding, executable, Debian package, options, sources, lossy)
ENCODINGS = [
    ("dcmtk", "jpeg_baseline", "dcmcjpeg", "dcmtk", ["+eb"], [_M8, _RGB], True),
    ("dcmtk", "jpeg_extended", "dcmcjpeg", "dcmtk", ["+ee"], [_M12, _M8], True),
    ("dcmtk", "jpeg_lossless_sv1", "dcmcjpeg", "dcmtk", ["+e1"], [_CT, _MR, _M8, _M12, _RGB], False),
    ("dcmtk", "jpegls_lossless", "dcmcjpls", "dcmtk", ["+el"], [_CT, _MR, _M8, _M12, _RGB], False),
    ("dcmtk", "jpegls_near", "dcmcjpls", "dcmtk", ["+en"], [_M8, _M12, _RGB], True),  # signed: refused
    ("dcmtk", "rle", "dcmcrle", "dcmtk", [], [_CT, _M8, _RGB, _DOSE], False),
    ("gdcm", "j2k", "gdcmconv", "libgdcm-tools", ["--j2k"], [_CT, _MR, _M8, _M12, _RGB], False),
    ("gdcm", "j2k_lossy", "gdcmconv", "libgdcm-tools", ["--j2k", "--lossy", "-q", "60"], [_CT, _M8, _RGB], True),
    ("gdcm", "jpegls", "gdcmconv", "libgdcm-tools", ["--jpegls"], [_CT, _MR, _M8, _M12, _RGB], False),
    ("gdcm", "rle", "gdcmconv", "libgdcm-tools", ["--rle"], [_CT, _M8, _RGB, _DOSE], False),
]
_LOSSY = {f"__{tool}_{encoding}.dcm" for tool, encoding, *_rest, lossy in ENCODINGS if lossy}


def lossy_file(path: str | Path) -> bool:
    """Whether a generated file holds lossy-compressed pixel data (compare with a tolerance)."""
    name = Path(path).name
    return any(name.endswith(suffix) for suffix in _LOSSY)


@dataclass
class Report:
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (output name, reason)
    missing_tools: dict[str, str] = field(default_factory=dict)  # tool -> reason

    @property
    def files(self) -> list[Path]:
        return sorted(self.written + self.kept)

    def summary(self) -> str:
        parts = [f"{len(self.files)} in {GENERATED_DIR.relative_to(HERE.parent)}"]
        if self.written:
            parts.append(f"{len(self.written)} new")
        for tool, reason in sorted(self.missing_tools.items()):
            parts.append(f"{tool} skipped: {reason}")
        if self.failed:
            parts.append(f"{len(self.failed)} conversions refused: " + ", ".join(n for n, _ in self.failed))
        return "; ".join(parts)


def pydicom_data_dir() -> Path:
    """pydicom's bundled data directory, found without importing pydicom.data (whose helpers
    download files and may hang without a network)."""
    spec = importlib.util.find_spec("pydicom")
    if spec is None or spec.origin is None:
        raise RuntimeError("pydicom is not installed: pip install -e .[test]")
    return Path(spec.origin).parent / "data"


def missing_tools() -> dict[str, str]:
    """Tools that are not on PATH, with a reason that says how to get them."""
    missing = {}
    executables = [(tool, exe, package) for tool, (exe, package, _) in TOOLS.items()]
    executables += [(tool, exe, package) for tool, _, exe, package, *_ in ENCODINGS]
    for tool, exe, package in executables:
        if tool not in missing and shutil.which(exe) is None:
            missing[tool] = f"{exe} not found (apt-get install {package}, or run ci/setup.sh as root)"
    return missing


def _write_pixel_source(name: str, out: Path) -> None:
    """One synthetic image of PIXEL_SOURCES, deterministic: smooth gradients plus a fixed noise."""
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    frames, rows, cols, samples, bits = PIXEL_SOURCES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    yy, xx = np.mgrid[:rows, :cols]
    top = (1 << bits) - 1
    planes = []
    for f in range(frames):
        for c in range(samples):
            base = (xx * 3 + yy * 5 + f * 17 + c * 40) / (cols * 3 + rows * 5 + 100) * top
            planes.append(np.clip(base + rng.normal(0, top / 40, base.shape), 0, top))
    arr = np.stack(planes).reshape(frames, samples, rows, cols).transpose(0, 2, 3, 1)
    dtype = np.uint8 if bits <= 8 else np.uint16
    arr = np.round(arr).astype(dtype)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.543.{len(name)}.{bits}"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.543.1"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.543.2"
    ds.Modality = "OT"
    ds.PatientName = "Synthetic^Image"
    ds.PatientID = name
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, samples
    ds.PhotometricInterpretation = "RGB" if samples == 3 else "MONOCHROME2"
    if samples == 3:
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    data = arr.tobytes()
    ds.PixelData = data + b"\0" * (len(data) % 2)
    ds["PixelData"].VR = "OB" if bits <= 8 else "OW"
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    ds.save_as(tmp, enforce_file_format=True)
    tmp.replace(out)


def _source_path(source: str, data: Path, report: Report, force: bool) -> Path:
    if not source.startswith("gen:"):
        return data / source
    name = source[4:]
    out = GENERATED_DIR / f"{name}.dcm"
    if force or not out.exists() or out.stat().st_mtime < Path(__file__).stat().st_mtime:
        _write_pixel_source(name, out)
        report.written.append(out)
    return out


def _convert(cmd: list[str], out: Path, report: Report) -> None:
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    cmd = [*cmd, str(tmp)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        report.failed.append((out.name, "timed out"))
        tmp.unlink(missing_ok=True)
        return
    if proc.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
        reason = (proc.stderr or proc.stdout).strip().splitlines()
        report.failed.append((out.name, reason[-1] if reason else f"exit {proc.returncode}"))
        tmp.unlink(missing_ok=True)
        out.unlink(missing_ok=True)
        return
    tmp.replace(out)
    report.written.append(out)


def _generate_encodings(report: Report, data: Path, force: bool) -> None:
    sources: dict[str, Path] = {}
    for tool, encoding, exe, _, options, names, _ in ENCODINGS:
        if tool in report.missing_tools:
            continue
        for source_name in names:
            if source_name not in sources:
                sources[source_name] = _source_path(source_name, data, report, force)
            source = sources[source_name]
            if not source.exists():
                report.failed.append((source.name, f"source {source} not found"))
                continue
            out = GENERATED_DIR / f"{source.stem}__{tool}_{encoding}.dcm"
            if not force and _up_to_date(out, source):
                report.kept.append(out)
                continue
            _convert([exe, *options, str(source)], out, report)


def _up_to_date(out: Path, source: Path) -> bool:
    if not out.exists():
        return False
    mtime = out.stat().st_mtime
    return mtime >= source.stat().st_mtime and mtime >= Path(__file__).stat().st_mtime


def generate(force: bool = False) -> Report:
    report = Report(missing_tools=missing_tools())
    GENERATED_DIR.mkdir(parents=True, exist_ok=True)
    data = pydicom_data_dir()
    for tool, (exe, _, syntaxes) in TOOLS.items():
        if tool in report.missing_tools:
            continue
        for folder, name in SOURCES:
            source = data / folder / name
            if not source.exists():
                report.failed.append((name, f"source {source} not found"))
                continue
            for syntax, options in syntaxes.items():
                out = GENERATED_DIR / f"{source.stem}__{tool}_{syntax}.dcm"
                if not force and _up_to_date(out, source):
                    report.kept.append(out)
                    continue
                tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
                cmd = [exe, *options, str(source), str(tmp)]
                try:
                    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
                except subprocess.TimeoutExpired:
                    report.failed.append((out.name, "timed out"))
                    tmp.unlink(missing_ok=True)
                    continue
                if proc.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
                    reason = (proc.stderr or proc.stdout).strip().splitlines()
                    report.failed.append((out.name, reason[-1] if reason else f"exit {proc.returncode}"))
                    tmp.unlink(missing_ok=True)
                    out.unlink(missing_ok=True)
                    continue
                tmp.replace(out)
                report.written.append(out)
    _generate_encodings(report, data, force)
    report.written += codec_files.generate(GENERATED_DIR, data / "test_files", _package_data("data_store"), force)
    return report


def _package_data(name: str) -> Path | None:
    """The ``data`` folder of an installed package (pydicom-data's ``data_store``), or None."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    return folder if folder.is_dir() else None


def main(argv: list[str]) -> int:
    report = generate(force="--force" in argv)
    print("reference files:", report.summary())
    for name, reason in report.failed:
        print(f"  refused {name}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
