"""The JPEG family through the pylibjpeg plugins, imported on first use:

| transfer syntaxes | plugin (pip package) |
| --- | --- |
| JPEG Baseline, Extended, Lossless (Process 14 and SV1), JPEG-LS lossless and near-lossless | ``pylibjpeg-libjpeg`` (JPEG-LS falls back to ``pyjpegls``) |
| JPEG 2000 lossless and lossy, HTJ2K (lossless, RPCL, lossy) | ``pylibjpeg-openjpeg`` |

``pip install dicomfast[jpeg]`` installs them all. A missing plugin raises
:class:`~dicomfast.errors.MissingDecoderError` naming the package.
"""
from __future__ import annotations

import numpy

from ... import uid as _uid
from ...errors import DicomError, MissingDecoderError
from . import FrameLayout, from_buffer, itemsize_for_precision, register_backend, register_decoder, shift
from .._native import ybr_full_to_rgb
from .codestream import check_j2k_geometry, j2k_sign_precision, jpeg_header

__all__ = ["decode_jpeg", "decode_jpeg_ls", "decode_jpeg_2000", "JPEG", "JPEG_LS", "JPEG_2000"]

JPEG = frozenset(
    (_uid.JPEGBaseline8Bit, _uid.JPEGExtended12Bit, _uid.JPEGLossless, _uid.JPEGLosslessSV1)
)
JPEG_LS = frozenset((_uid.JPEGLSLossless, _uid.JPEGLSNearLossless))
JPEG_2000 = frozenset(
    (_uid.JPEG2000Lossless, _uid.JPEG2000, _uid.HTJ2KLossless, _uid.HTJ2KLosslessRPCL, _uid.HTJ2K)
)

_PLUGINS: dict[str, object] = {}


def _missing(package: str, what: str) -> MissingDecoderError:
    return MissingDecoderError(
        f"decoding {what} needs the {package} plugin: pip install dicomfast[jpeg] "
        f"(or pip install {package})",
        package=package,
    )


def _libjpeg():
    if "libjpeg" not in _PLUGINS:
        try:
            from libjpeg.utils import decode_pixel_data
        except ImportError:
            decode_pixel_data = None
        _PLUGINS["libjpeg"] = decode_pixel_data
    return _PLUGINS["libjpeg"]


def _openjpeg():
    if "openjpeg" not in _PLUGINS:
        try:
            from openjpeg.utils import decode_pixel_data
        except ImportError:
            decode_pixel_data = None
        _PLUGINS["openjpeg"] = decode_pixel_data
    return _PLUGINS["openjpeg"]


def _jpegls():
    if "jpeg_ls" not in _PLUGINS:
        try:
            from jpeg_ls import decode_pixel_data as _charls
        except ImportError:
            decode_pixel_data = None
        else:
            def decode_pixel_data(src, version=2, **options):
                return _charls(src)[0]  # (bytearray, parameters)
        _PLUGINS["jpeg_ls"] = decode_pixel_data
    return _PLUGINS["jpeg_ls"]


def _decode_with(func, data, what: str, **options) -> bytes:
    try:
        return func(bytes(data), version=2, **options)
    except (RuntimeError, ValueError, TypeError, OSError, ArithmeticError) as exc:
        # ArithmeticError: a plugin converting a corrupt header's field raises OverflowError
        raise DicomError(f"the {what} codestream cannot be decoded: {exc}") from exc
    except MemoryError as exc:
        # The plugin allocates what a (corrupt) codestream header declares before it finds the
        # damage: an image far larger than the dataset's is a bad file, not a lack of memory.
        raise DicomError(f"the {what} codestream declares an image too large to decode") from exc


def decode_jpeg(data, p: FrameLayout, out: numpy.ndarray | None = None) -> numpy.ndarray:
    """One JPEG frame (libjpeg); the bits above Bits Stored cleared (or sign-extended); RGB data
    whose codestream holds YCbCr converted (``JpegHeader.ycbcr``)."""
    if p.bits_allocated == 1:
        raise DicomError("JPEG cannot hold 1 bit allocated data")
    func = _libjpeg()
    if func is None:
        raise _missing("pylibjpeg-libjpeg", "JPEG")
    arr = from_buffer(_decode_with(func, data, "JPEG"), p, p.bits_allocated // 8, p.planar, "JPEG", out)
    shift(arr, p.bits_allocated - p.bits_stored)
    if p.samples == 3 and p.photometric == "RGB" and arr.dtype == numpy.uint8:
        header = jpeg_header(data)
        if header is not None and header.ycbcr:  # libjpeg leaves the YCbCr the encoder made
            flat = arr.reshape(-1)
            ybr_full_to_rgb(flat, flat)
    return arr


def decode_jpeg_ls(data, p: FrameLayout, out: numpy.ndarray | None = None) -> numpy.ndarray:
    """One JPEG-LS frame (libjpeg, else pyjpegls); signed data sign-extended from the
    codestream's precision, as pydicom does."""
    if p.bits_allocated == 1:
        raise DicomError("JPEG-LS cannot hold 1 bit allocated data")
    func = _libjpeg() or _jpegls()
    if func is None:
        raise _missing("pylibjpeg-libjpeg", "JPEG-LS")
    header = jpeg_header(data)
    precision = (header.precision if header is not None else 0) or p.bits_stored
    itemsize = itemsize_for_precision(precision, 0) if precision <= 16 else p.bits_allocated // 8
    arr = from_buffer(_decode_with(func, data, "JPEG-LS"), p, itemsize, 0, "JPEG-LS", out)
    if p.signed:
        shift(arr, 8 * arr.dtype.itemsize - precision)
    return arr


def decode_jpeg_2000(data, p: FrameLayout, out: numpy.ndarray | None = None) -> numpy.ndarray:
    """One JPEG 2000 or HTJ2K frame (openjpeg); monochrome data whose codestream signedness
    differs from Pixel Representation sign-extended from the codestream's precision."""
    func = _openjpeg()
    if func is None:
        raise _missing("pylibjpeg-openjpeg", "JPEG 2000")
    check_j2k_geometry(data, p.rows, p.columns, p.samples)
    is_signed, precision = j2k_sign_precision(data)
    if precision is None:
        precision = p.bits_stored
    if is_signed is None:
        is_signed = p.signed
    itemsize = itemsize_for_precision(precision, p.bits_allocated)
    arr = from_buffer(_decode_with(func, data, "JPEG 2000"), p, itemsize, p.planar, "JPEG 2000", out)
    if p.photometric in ("MONOCHROME1", "MONOCHROME2") and is_signed != p.signed:
        shift(arr, 8 * arr.dtype.itemsize - precision)
    return arr


def _package(syntax: str) -> str:
    return "pylibjpeg-openjpeg" if syntax in JPEG_2000 else "pylibjpeg-libjpeg"


def _available(syntax: str) -> bool:
    if syntax in JPEG_2000:
        return _openjpeg() is not None
    if syntax in JPEG_LS:
        return _libjpeg() is not None or _jpegls() is not None
    return _libjpeg() is not None


register_backend("pylibjpeg", _package, _available)
for _syntax in JPEG:
    register_decoder(_syntax, decode_jpeg, "pylibjpeg")
for _syntax in JPEG_LS:
    register_decoder(_syntax, decode_jpeg_ls, "pylibjpeg")
for _syntax in JPEG_2000:
    register_decoder(_syntax, decode_jpeg_2000, "pylibjpeg")
del _syntax
