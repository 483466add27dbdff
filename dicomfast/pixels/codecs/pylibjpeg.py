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
from . import FrameLayout, from_buffer, itemsize_for_precision, register_decoder, shift
from .codestream import j2k_geometry, j2k_sign_precision, jpeg_precision

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


def _check_j2k_geometry(data, p: FrameLayout) -> None:
    """A codestream that declares a far larger image (or a pathological tiling) than the dataset is
    corrupt: refuse it before the decoder allocates, or spends minutes on, what it declares."""
    geometry = j2k_geometry(data)
    if geometry is None:
        return
    width, height, components, tiles = geometry
    if width * height > 4 * p.rows * p.columns or components > 4 or tiles > 4096:
        raise DicomError(
            f"the JPEG 2000 codestream declares {width} x {height} x {components} in {tiles} tile(s); "
            f"the dataset is {p.rows} x {p.columns} x {p.samples}")



def decode_jpeg(data, p: FrameLayout) -> numpy.ndarray:
    """One JPEG frame (libjpeg); the bits above Bits Stored cleared (or sign-extended)."""
    func = _libjpeg()
    if func is None:
        raise _missing("pylibjpeg-libjpeg", "JPEG")
    arr = from_buffer(_decode_with(func, data, "JPEG"), p, p.bits_allocated // 8, p.planar, "JPEG")
    shift(arr, p.bits_allocated - p.bits_stored)
    return arr


def decode_jpeg_ls(data, p: FrameLayout) -> numpy.ndarray:
    """One JPEG-LS frame (libjpeg, else pyjpegls); signed data sign-extended from the
    codestream's precision, as pydicom does."""
    func = _libjpeg() or _jpegls()
    if func is None:
        raise _missing("pylibjpeg-libjpeg", "JPEG-LS")
    precision = jpeg_precision(data) or p.bits_stored
    itemsize = itemsize_for_precision(precision, 0) if precision <= 16 else p.bits_allocated // 8
    arr = from_buffer(_decode_with(func, data, "JPEG-LS"), p, itemsize, 0, "JPEG-LS")
    if p.signed:
        shift(arr, 8 * arr.dtype.itemsize - precision)
    return arr


def decode_jpeg_2000(data, p: FrameLayout) -> numpy.ndarray:
    """One JPEG 2000 or HTJ2K frame (openjpeg); monochrome data whose codestream signedness
    differs from Pixel Representation sign-extended from the codestream's precision."""
    func = _openjpeg()
    if func is None:
        raise _missing("pylibjpeg-openjpeg", "JPEG 2000")
    _check_j2k_geometry(data, p)
    is_signed, precision = j2k_sign_precision(data)
    if precision is None:
        precision = p.bits_stored
    if is_signed is None:
        is_signed = p.signed
    itemsize = itemsize_for_precision(precision, p.bits_allocated)
    arr = from_buffer(_decode_with(func, data, "JPEG 2000"), p, itemsize, p.planar, "JPEG 2000")
    if p.photometric in ("MONOCHROME1", "MONOCHROME2") and is_signed != p.signed:
        shift(arr, 8 * arr.dtype.itemsize - precision)
    return arr


for _syntax in JPEG:
    register_decoder(_syntax, decode_jpeg)
for _syntax in JPEG_LS:
    register_decoder(_syntax, decode_jpeg_ls)
for _syntax in JPEG_2000:
    register_decoder(_syntax, decode_jpeg_2000)
del _syntax
