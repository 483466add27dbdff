"""Compressed test files that the corpus lacks, made here with Pillow, imagecodecs and pydicom from
pydicom's examples_rgb_color.dcm and pydicom-data's native images (issue 9), by
make_reference_files.generate().

The 1-bit JPEG 2000 and the HTJ2K files join the corpus (``gen/codec_*.dcm``), so every corpus test
(pydicom as the reference) and tests/pixel_report.py (GDCM and DCMTK beside it) read them. The RGB
JPEG files go to :data:`COLOUR_DIR`, outside the corpus: there pydicom, GDCM and DCMTK disagree
with the codestream (they leave the YCbCr samples of ``ids123`` and ``adobe1`` unconverted, and
GDCM and DCMTK those of ``jfif`` too), so tests/test_codecs.py compares them with the image they
were encoded from, and pixel_report.py lists what each reference gives.

* ``codec_rgb_jpeg_jfif``: Photometric Interpretation RGB, a JPEG baseline codestream in YCbCr
  with a JFIF APP0 marker and component identifiers 1, 2, 3 (what Pillow writes);
* ``codec_rgb_jpeg_ids123``: the same codestream without the APP0 marker (identifiers 1, 2, 3);
* ``codec_rgb_jpeg_adobe1``: the APP0 marker replaced by an Adobe APP14 marker with transform 1;
* ``codec_rgb_jpeg_adobe0``: an RGB codestream (libjpeg-turbo's Adobe APP14 transform 0);
* ``codec_liver_j2k`` / ``codec_liver_nonbyte_aligned_j2k``: pydicom-data's 1-bit liver.dcm (3
  frames), each frame JPEG 2000 lossless; the second cropped to 509 x 511, so a frame's bits do
  not end on a byte;
* ``codec_emri_htj2k`` / ``codec_emri_htj2k_rpcl``: pydicom-data's 10-frame emri_small.dcm in HTJ2K
  lossless (OpenJPH), and in HTJ2K lossless RPCL (the RPCL progression order).
"""
from __future__ import annotations

import os
import struct
import warnings
from io import BytesIO
from pathlib import Path

__all__ = ["COLOUR", "CORPUS", "COLOUR_DIR", "colour_source", "generate"]

COLOUR = ("codec_rgb_jpeg_jfif", "codec_rgb_jpeg_ids123", "codec_rgb_jpeg_adobe1", "codec_rgb_jpeg_adobe0")
CORPUS = ("codec_liver_j2k", "codec_liver_nonbyte_aligned_j2k", "codec_emri_htj2k", "codec_emri_htj2k_rpcl")
COLOUR_DIR = Path(__file__).resolve().parent / "data" / "generated_colour"
COLOUR_SOURCE = "examples_rgb_color.dcm"  # in pydicom's test files


def colour_source(test_files: Path):
    """The native RGB image the COLOUR files were encoded from (pydicom's pixel array)."""
    import pydicom

    return pydicom.dcmread(test_files / COLOUR_SOURCE).pixel_array


def _segments(jpeg: bytes) -> list[tuple[int, bytes]]:
    """(marker, whole segment) up to the SOS, then (0xDA, the rest)."""
    out, pos = [], 2
    while True:
        marker = jpeg[pos + 1]
        if marker == 0xDA:
            out.append((marker, jpeg[pos:]))
            return out
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        out.append((marker, jpeg[pos : pos + 2 + length]))
        pos += 2 + length


def _without_app0(jpeg: bytes, replacement: bytes = b"") -> bytes:
    return b"\xff\xd8" + b"".join(replacement if m == 0xE0 else seg for m, seg in _segments(jpeg))


def _adobe(transform: int) -> bytes:
    body = b"Adobe" + struct.pack(">HHHB", 100, 0, 0, transform)
    return b"\xff\xee" + struct.pack(">H", len(body) + 2) + body


def _save(ds, out: Path) -> None:
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    ds.save_as(tmp, enforce_file_format=True)
    tmp.replace(out)


def _encapsulated(ds, frames: list[bytes], syntax: str):
    from pydicom.encaps import encapsulate

    ds.PixelData = encapsulate(frames)
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = syntax
    return ds


def _rgb_jpegs(test_files: Path) -> dict[str, tuple[bytes, object]]:
    import imagecodecs
    import pydicom
    from PIL import Image

    src = pydicom.dcmread(test_files / COLOUR_SOURCE)
    arr = src.pixel_array
    buf = BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=95, subsampling=0)  # JFIF, YCbCr 4:4:4, ids 1 2 3
    jfif = buf.getvalue()
    streams = {
        "codec_rgb_jpeg_jfif": jfif,
        "codec_rgb_jpeg_ids123": _without_app0(jfif),
        "codec_rgb_jpeg_adobe1": _without_app0(jfif, _adobe(1)),
        "codec_rgb_jpeg_adobe0": imagecodecs.jpeg8_encode(arr, level=95, colorspace="RGB", outcolorspace="RGB",
                                                          subsampling="444"),
    }
    return {name: (stream, src) for name, stream in streams.items()}


def generate(out_dir: Path, test_files: Path, data_store: Path | None, force: bool = False) -> list[Path]:
    """Write the files of :data:`CORPUS` into ``out_dir`` and those of :data:`COLOUR` into
    :data:`COLOUR_DIR`, those missing (all with ``force``); ``test_files``: pydicom's test files,
    ``data_store``: pydicom-data's (None: not installed). Returns the files written; a library
    that is missing leaves its files out."""
    try:
        import imagecodecs
        import numpy as np
        import pydicom
        from pydicom.uid import HTJ2KLossless, HTJ2KLosslessRPCL, JPEG2000Lossless, JPEGBaseline8Bit
    except ImportError:
        return []
    COLOUR_DIR.mkdir(parents=True, exist_ok=True)
    wanted = [n for n in COLOUR if force or not (COLOUR_DIR / f"{n}.dcm").exists()]
    wanted += [n for n in CORPUS if force or not (out_dir / f"{n}.dcm").exists()]
    if not wanted:
        return []
    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if any(n.startswith("codec_rgb_jpeg") for n in wanted):
            for name, (stream, src) in _rgb_jpegs(test_files).items():
                if name in wanted:
                    ds = src.copy()
                    ds.file_meta = src.file_meta.copy()
                    ds.PhotometricInterpretation = "RGB"
                    ds.PlanarConfiguration = 0
                    ds.LossyImageCompression = "01"
                    _save(_encapsulated(ds, [stream], JPEGBaseline8Bit), COLOUR_DIR / f"{name}.dcm")
                    written.append(COLOUR_DIR / f"{name}.dcm")
        if data_store is None:
            return written
        liver = data_store / "liver.dcm"
        if liver.exists():
            for name, (rows, cols) in (("codec_liver_j2k", (None, None)),
                                       ("codec_liver_nonbyte_aligned_j2k", (509, 511))):
                if name not in wanted:
                    continue
                ds = pydicom.dcmread(liver)
                frames = ds.pixel_array
                frames = frames if frames.ndim == 3 else frames[None]
                if rows is not None:
                    frames = np.ascontiguousarray(frames[:, :rows, :cols])
                    ds.Rows, ds.Columns = rows, cols
                streams = [imagecodecs.jpeg2k_encode(f.astype(np.uint8), level=0, bitspersample=1, codecformat="J2K",
                                                      reversible=True)
                           for f in frames]
                _save(_encapsulated(ds, streams, JPEG2000Lossless), out_dir / f"{name}.dcm")
                written.append(out_dir / f"{name}.dcm")
        emri = data_store / "emri_small.dcm"
        if emri.exists():
            for name, syntax, options in (("codec_emri_htj2k", HTJ2KLossless, {}),
                                          ("codec_emri_htj2k_rpcl", HTJ2KLosslessRPCL, {})):
                if name not in wanted:
                    continue
                ds = pydicom.dcmread(emri)
                streams = [_htj2k(f, syntax == HTJ2KLosslessRPCL) for f in ds.pixel_array]
                _save(_encapsulated(ds, streams, syntax), out_dir / f"{name}.dcm")
                written.append(out_dir / f"{name}.dcm")
    return written


def _htj2k(frame, rpcl: bool) -> bytes:
    """One frame in HTJ2K lossless (OpenJPH, whose progression order is RPCL; with a TLM marker for
    the RPCL syntax)."""
    import imagecodecs

    return imagecodecs.htj2k_encode(frame, level=0, reversible=True, tlm=rpcl)
