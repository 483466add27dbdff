"""Generate a synthetic but realistic CT series for benchmarks and the demo.

The header is a real one: ``CT_small.dcm`` from pydicom's test files, a GE CT image (GE MEDICAL
SYSTEMS, RHAPSODE) as rewritten by David Clunie's dctool. Read with ``stop_before_pixels=True`` it
has 256 top-level elements, 179 of them private (GE groups 0009, 0019, 0021, 0023, 0027, 0043,
0045), one sequence (Other Patient IDs Sequence, 2 items): 260 elements counting the nested ones.
It is the richest real CT header shipped with pydicom and pydicom-data.

What this script changes, so that the series looks like a modern thin-slice CT acquisition:

* ADDED, not in the source file: six standard CT attributes that real scanners write, so that the
  header also exercises sequences and nesting: Procedure Code Sequence, Referenced Image Sequence
  (a scout), Anatomic Region Sequence, Request Attributes Sequence (with a nested Scheduled Protocol
  Code Sequence), CTDI Phantom Type Code Sequence and CTDIvol. That is 23 elements more: 262
  top-level, 283 in all. Every value is made up but valid.
* Rows and Columns become ``rows`` x ``cols`` (512 x 512 by default); the original Pixel Spacing
  (0.661468 mm, which matches its Reconstruction Diameter of 338.67 mm at 512 pixels) is kept.
* Slice Thickness and Spacing Between Slices become 1.25 mm.
* The Data Set Trailing Padding (FFFC,FFFC) after the pixels is dropped.
* UIDs (study, series, frame of reference, SOP instances) are derived from ``seed``, so the same
  arguments give byte-identical files.

Per slice, only these vary: SOP Instance UID (and the meta group's copy), Instance Number, Image
Position (Patient), Slice Location and Pixel Data: a cheap, deterministic, anatomy-like int16
pattern (body, fat ring, lungs, spine, table, fixed noise) in stored values with the header's
Rescale Intercept of -1024 and Pixel Padding Value of -2000 outside the field of view.

Usage::

    python benchmarks/make_ct_series.py OUT_DIR [-n 300] [--rows 512 --cols 512] [--implicit]

or from Python: ``make_series(out_dir, n=300, rows=512, cols=512, implicit=False)``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info
from pydicom.sequence import Sequence
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    PYDICOM_ROOT_UID,
    generate_uid,
)

SOURCE_NAME = "CT_small.dcm"
SLICE_SPACING = 1.25
_MANIFEST = "series.json"
# The elements that differ from slice to slice; everything else is encoded once.
_VARYING = (0x00080018, 0x00200013, 0x00200032, 0x00201041, 0x7FE00010)
_FORMAT_VERSION = 1  # bump when the output changes, so cached series are regenerated


def source_path() -> Path:
    """Path of the real CT file whose header the series reuses (without importing pydicom.data,
    whose helpers may try the network)."""
    spec = importlib.util.find_spec("pydicom")
    root = Path(spec.origin).parent
    return root / "data" / "test_files" / SOURCE_NAME


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _add_standard_sequences(ds: Dataset, seed: int) -> None:
    """The documented additions (see the module docstring): 6 top-level, 23 elements in all."""
    ds.ProcedureCodeSequence = Sequence([_code("CTCHABPEL", "L", "CT CHEST ABDOMEN PELVIS W CONTRAST")])

    scout = Dataset()
    scout.ReferencedSOPClassUID = CTImageStorage
    scout.ReferencedSOPInstanceUID = _uid(seed, "scout")
    ds.ReferencedImageSequence = Sequence([scout])

    ds.AnatomicRegionSequence = Sequence([_code("818981001", "SCT", "Abdomen")])

    request = Dataset()
    request.RequestedProcedureID = "RP0001"
    request.ScheduledProcedureStepID = "SPS0001"
    request.ScheduledProtocolCodeSequence = Sequence([_code("P5-C0102", "99GEMS", "Chest/Abd/Pelvis 1.25mm")])
    ds.RequestAttributesSequence = Sequence([request])

    ds.CTDIPhantomTypeCodeSequence = Sequence([_code("113691", "DCM", "IEC Body Dosimetry Phantom")])
    ds.CTDIvol = 11.62


def _uid(seed: int, *parts: object) -> str:
    return generate_uid(PYDICOM_ROOT_UID, entropy_srcs=["dicomfast-ct-series", str(seed), *map(str, parts)])


def _template(rows: int, cols: int, implicit: bool, seed: int) -> Dataset:
    ds = pydicom.dcmread(source_path())
    for tag in (0xFFFCFFFC, 0x7FE00010):
        if tag in ds:
            del ds[tag]
    _add_standard_sequences(ds, seed)
    ds.StudyInstanceUID = _uid(seed, "study")
    ds.SeriesInstanceUID = _uid(seed, "series")
    ds.FrameOfReferenceUID = _uid(seed, "frame-of-reference")
    ds.Rows = rows
    ds.Columns = cols
    ds.SliceThickness = f"{SLICE_SPACING:.2f}"
    ds.SpacingBetweenSlices = f"{SLICE_SPACING:.2f}"
    ds.PixelData = b""
    ds["PixelData"].VR = "OW"

    ds.preamble = b"\0" * 128
    meta = ds.file_meta
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    meta.ImplementationVersionName = "DICOMFAST_GEN"
    # Turn every raw element into a decoded one once, so that each write below does not
    # convert them again (implicit output needs the VRs resolved).
    for _ in ds.iterall():
        pass
    return ds


class _Encoder:
    """pydicom's own encoder, used once for the fixed runs of elements and per slice only for the
    few varying ones: the same bytes as ``ds.save_as(path, enforce_file_format=True)`` (checked by
    ``--check``), several times faster."""

    def __init__(self, ds: Dataset):
        self.implicit = ds.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
        self.encodings = ds.get("SpecificCharacterSet", "ISO_IR 6")
        # parts: bytes for a fixed run, or an int tag for a varying element, in tag order
        self.parts: list[bytes | int] = []
        run: list = []
        for elem in ds:
            if elem.tag in _VARYING:
                if run:
                    self.parts.append(self._encode(run))
                    run = []
                self.parts.append(int(elem.tag))
            else:
                run.append(elem)
        if run:
            self.parts.append(self._encode(run))

    def _fp(self) -> DicomBytesIO:
        fp = DicomBytesIO()
        fp.is_little_endian = True
        fp.is_implicit_VR = self.implicit
        return fp

    def _encode(self, elements) -> bytes:
        fp = self._fp()
        for elem in elements:
            write_data_element(fp, elem, self.encodings)
        return fp.getvalue()

    def encode(self, ds: Dataset) -> bytes:
        fp = self._fp()
        fp.write(ds.preamble + b"DICM")
        write_file_meta_info(fp, ds.file_meta, enforce_standard=True)
        for part in self.parts:
            if isinstance(part, bytes):
                fp.write(part)
            else:
                write_data_element(fp, ds[part], self.encodings)
        return fp.getvalue()


class _Phantom:
    """Anatomy-like slices in stored values (HU + 1024), cheap to compute: a few ellipses."""

    def __init__(self, rows: int, cols: int, seed: int, ds: Dataset):
        self.origin = tuple(float(v) for v in ds.ImagePositionPatient)
        y, x = np.mgrid[-1 : 1 : rows * 1j, -1 : 1 : cols * 1j].astype(np.float32)
        self.x, self.y = x, y
        self.r2 = x * x + y * y
        rng = np.random.default_rng(seed)
        self.noise = rng.integers(-20, 21, size=(rows, cols), dtype=np.int16)

    def slice(self, t: float, shift: int) -> np.ndarray:
        """``t`` in [0, 1] runs from the top of the series to the bottom."""
        x, y = self.x, self.y
        out = np.full(x.shape, 24, np.int16)  # air, -1000 HU
        a = 0.78 + 0.06 * np.sin(np.pi * t)
        b = 0.55 + 0.05 * np.sin(np.pi * t)
        body = (x / a) ** 2 + (y / b) ** 2
        out[body <= 1.0] = 924  # fat, -100 HU
        out[body <= 0.86] = 1064  # soft tissue, 40 HU
        if t < 0.55:  # lungs in the upper part of the series
            s = np.sin(np.pi * t / 0.55)
            for cx in (-0.33, 0.33):
                lung = ((x - cx) / (0.22 * s + 0.02)) ** 2 + ((y + 0.05) / (0.32 * s + 0.02)) ** 2
                out[lung <= 1.0] = 174  # lung, -850 HU
        spine = x * x + (y - 0.38) ** 2
        out[spine <= 0.012] = 1724  # bone, 700 HU
        out[spine <= 0.004] = 1284  # marrow, 260 HU
        out[(y > 0.72) & (y < 0.78) & (np.abs(x) < 0.9)] = 1224  # table, 200 HU
        out += np.roll(self.noise, shift, axis=1)
        out[self.r2 > 1.0] = -2000  # outside the reconstructed circle: Pixel Padding Value
        return out


def _set_slice(ds: Dataset, phantom: _Phantom, i: int, n: int, seed: int) -> None:
    x0, y0, z0 = phantom.origin
    z = round(z0 - i * SLICE_SPACING, 4)
    sop_uid = _uid(seed, "sop", i)
    ds.SOPInstanceUID = sop_uid
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.InstanceNumber = i + 1
    ds.ImagePositionPatient = [x0, y0, z]
    ds.SliceLocation = z
    t = i / (n - 1) if n > 1 else 0.0
    ds.PixelData = phantom.slice(t, shift=i % 7).tobytes()


def check_encoder(n: int = 3, rows: int = 64, cols: int = 64) -> bool:
    """True if the fast path writes exactly what ``Dataset.save_as`` writes, in both syntaxes."""
    from io import BytesIO

    for implicit in (False, True):
        ds = _template(rows, cols, implicit, 0)
        encoder = _Encoder(ds)
        phantom = _Phantom(rows, cols, 0, ds)
        for i in range(n):
            _set_slice(ds, phantom, i, n, 0)
            reference = BytesIO()
            ds.save_as(reference, enforce_file_format=True)
            if encoder.encode(ds) != reference.getvalue():
                return False
    return True


def _manifest(n: int, rows: int, cols: int, implicit: bool, seed: int) -> dict:
    return {"format": _FORMAT_VERSION, "n": n, "rows": rows, "cols": cols, "implicit": implicit, "seed": seed}


def make_series(
    out_dir: str | Path,
    n: int = 300,
    rows: int = 512,
    cols: int = 512,
    implicit: bool = False,
    *,
    seed: int = 0,
    reuse: bool = True,
) -> list[Path]:
    """Write an ``n``-slice CT series into ``out_dir`` and return the file paths, in slice order.

    With ``reuse`` (the default), a directory that already holds the same series (same arguments,
    all files present) is returned as it is.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"CT{i + 1:04d}.dcm" for i in range(n)]
    manifest = _manifest(n, rows, cols, implicit, seed)
    manifest_path = out / _MANIFEST
    if reuse and manifest_path.exists() and all(p.exists() for p in paths):
        try:
            if json.loads(manifest_path.read_text()) == manifest:
                return paths
        except ValueError:
            pass
    manifest_path.unlink(missing_ok=True)
    for stale in out.glob("CT[0-9][0-9][0-9][0-9].dcm"):
        stale.unlink()

    ds = _template(rows, cols, implicit, seed)
    encoder = _Encoder(ds)
    phantom = _Phantom(rows, cols, seed, ds)
    for i, path in enumerate(paths):
        _set_slice(ds, phantom, i, n, seed)
        path.write_bytes(encoder.encode(ds))
    manifest_path.write_text(json.dumps(manifest))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("-n", type=int, default=300, help="number of slices (default 300)")
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--cols", type=int, default=512)
    parser.add_argument("--implicit", action="store_true", help="implicit VR little endian (default: explicit)")
    parser.add_argument("--seed", type=int, default=0, help="derives the UIDs and the noise")
    parser.add_argument("--force", action="store_true", help="regenerate even if the series is there")
    parser.add_argument("--check", action="store_true", help="first check the fast writer against save_as")
    args = parser.parse_args(argv)
    if args.check:
        if not check_encoder():
            print("check FAILED: the fast writer differs from Dataset.save_as", file=sys.stderr)
            return 1
        print("check passed: the fast writer writes what Dataset.save_as writes")
    start = time.perf_counter()
    paths = make_series(args.out_dir, args.n, args.rows, args.cols, args.implicit, seed=args.seed, reuse=not args.force)
    syntax = "implicit" if args.implicit else "explicit"
    print(f"{len(paths)} slices ({args.rows}x{args.cols}, {syntax} VR LE) in {args.out_dir} "
          f"[{time.perf_counter() - start:.2f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
