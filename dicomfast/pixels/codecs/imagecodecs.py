"""The JPEG family through ``imagecodecs`` (``pip install imagecodecs``, or ``dicomfast[codecs]``),
imported on first use:

| transfer syntaxes | library in imagecodecs |
| --- | --- |
| JPEG Baseline, Extended (8 and 12 bit, processes 1, 2 and 4), Lossless (process 14 and SV1) | libjpeg-turbo (``jpeg8_decode``) |
| JPEG-LS lossless and near-lossless | CharLS (``jpegls_decode``) |
| JPEG 2000 lossless and lossy | OpenJPEG (``jpeg2k_decode``) |
| HTJ2K lossless, RPCL and lossy | OpenJPH (``htj2k_decode``) |

Each decoder writes straight into the caller's frame (``out``, a slice of a preallocated
multi-frame array) when the codec's dtype is the frame's, so a frame is not copied after the codec;
the codecs release the GIL, so frames decode in parallel on threads. The same corrections as the
other backends follow (the package docstring): bits above Bits Stored for JPEG, sign extension from
the codestream's precision for JPEG-LS and JPEG 2000, JPEG's colour transform decided from the
codestream's markers when the data says RGB. YBR_FULL and YBR_FULL_422 JPEG asked for as RGB is
converted by libjpeg-turbo (4x faster than converting after the codec; within 1 of pydicom's
float conversion, the same JFIF equations).

A codestream whose header does not match the dataset (other rows, columns or components, an
absurd tiling) is refused with a :class:`~dicomfast.errors.DicomError` before the codec allocates
anything, so the next backend in the order may try it.
"""
from __future__ import annotations

import numpy

from ... import uid as _uid
from ...errors import DicomError, MissingDecoderError
from . import FrameLayout, from_buffer, itemsize_for_precision, register_backend, register_decoder, shift
from .codestream import check_j2k_geometry, j2k_sign_precision, jpeg_header
from ..threads import codec_threads
from .encoding import EncodedAttributes, FrameSpec, register_encoder

__all__ = ["decode_jpeg", "decode_jpeg_ls", "decode_jpeg_2000", "decode_htj2k", "library"]
# the encoders register themselves (encoding.encode_frames is the entry point)

PACKAGE = "imagecodecs"
_JPEG = (_uid.JPEGBaseline8Bit, _uid.JPEGExtended12Bit, _uid.JPEGLossless, _uid.JPEGLosslessSV1)
_JPEG_LS = (_uid.JPEGLSLossless, _uid.JPEGLSNearLossless)
_J2K = (_uid.JPEG2000Lossless, _uid.JPEG2000)
_HTJ2K = (_uid.HTJ2KLossless, _uid.HTJ2KLosslessRPCL, _uid.HTJ2K)
_LIBRARY: dict[str, object] = {}


def library():
    """The ``imagecodecs`` module, or None when it is not installed."""
    if "m" not in _LIBRARY:
        try:
            import imagecodecs as module
        except ImportError:
            module = None
        _LIBRARY["m"] = module
    return _LIBRARY["m"]


def _codecs():
    module = library()
    if module is None:
        raise MissingDecoderError(
            "decoding with the imagecodecs backend needs imagecodecs: pip install imagecodecs "
            "(or pip install dicomfast[codecs])", package=PACKAGE)
    return module


def _call(func, what: str, data, **options) -> numpy.ndarray:
    try:
        return func(data, **options)
    except (RuntimeError, ValueError, TypeError, OSError, ArithmeticError, IndexError) as exc:
        # imagecodecs' errors (Jpeg8Error, JpeglsError, Jpeg2kError, ...) are RuntimeErrors
        raise DicomError(f"the {what} codestream cannot be decoded: {exc}") from exc
    except MemoryError as exc:
        raise DicomError(f"the {what} codestream declares an image too large to decode") from exc


def _target(p: FrameLayout, out: numpy.ndarray | None, itemsize: int, planar: int) -> numpy.ndarray | None:
    """``out`` as the array the codec writes (its unsigned dtype of ``itemsize``), when the codec's
    output can go there as it is: same item size, interleaved."""
    if out is None or itemsize != out.dtype.itemsize or (planar and p.samples > 1):
        return None
    return out.view(f"<u{itemsize}")


def _place(a: numpy.ndarray, p: FrameLayout, itemsize: int, planar: int, out: numpy.ndarray | None,
           what: str) -> numpy.ndarray:
    """The codec's array ``a`` as the frame: its bytes read as ``itemsize`` samples of the data's
    signedness, reshaped as pydicom does (``planar``), then in the frame's dtype (in ``out``)."""
    if out is not None and numpy.shares_memory(a, out):
        return out  # decoded in place
    if a.dtype.itemsize != itemsize:
        raise DicomError(f"the {what} frame decoded to {a.dtype.itemsize}-byte samples, {itemsize} expected")
    flat = numpy.ascontiguousarray(a).reshape(-1)
    return from_buffer(flat.view(numpy.uint8), p, itemsize, planar, what, out, fresh=flat.flags.writeable)


def decode_jpeg(data, p: FrameLayout, out: numpy.ndarray | None = None) -> numpy.ndarray:
    """One JPEG frame (libjpeg-turbo); the bits above Bits Stored cleared (or sign-extended); RGB
    data colour-transformed when the codestream says it holds YCbCr."""
    ic = _codecs()
    if p.bits_allocated == 1:
        raise DicomError("JPEG cannot hold 1 bit allocated data")
    h = jpeg_header(data)
    if h is None:
        raise DicomError("the JPEG codestream has no frame header (SOF)")
    if h.rows not in (0, p.rows) or h.columns != p.columns or len(h.component_ids) != p.samples:
        raise DicomError(f"the JPEG codestream is {h.rows} x {h.columns} x {len(h.component_ids)}, "
                         f"the dataset {p.rows} x {p.columns} x {p.samples}")
    if not 2 <= h.precision <= 16:
        raise DicomError(f"the JPEG codestream's sample precision {h.precision} is invalid")
    itemsize = 1 if h.precision <= 8 else 2
    options: dict = {}
    if p.samples == 3:
        if (p.photometric == "RGB" and h.ycbcr) or p.to_rgb:
            options = {"colorspace": "YCbCr", "outcolorspace": "RGB"}
        else:  # the samples as stored: YBR stays YBR for the pixel layer
            options = {"colorspace": "RGB", "outcolorspace": "RGB"}
    target = _target(p, out, itemsize, p.planar)
    if target is not None:
        options["out"] = target
    a = _call(ic.jpeg8_decode, "JPEG", data, **options)
    arr = _place(a, p, itemsize, p.planar, out, "JPEG")
    shift(arr, p.bits_allocated - p.bits_stored)
    return arr


def decode_jpeg_ls(data, p: FrameLayout, out: numpy.ndarray | None = None) -> numpy.ndarray:
    """One JPEG-LS frame (CharLS); signed data sign-extended from the codestream's precision."""
    ic = _codecs()
    if p.bits_allocated == 1:
        raise DicomError("JPEG-LS cannot hold 1 bit allocated data")
    h = jpeg_header(data)
    if h is None or h.sof != 0xF7:
        raise DicomError("the JPEG-LS codestream has no frame header (SOF55)")
    if h.rows != p.rows or h.columns != p.columns or len(h.component_ids) != p.samples:
        raise DicomError(f"the JPEG-LS codestream is {h.rows} x {h.columns} x {len(h.component_ids)}, "
                         f"the dataset {p.rows} x {p.columns} x {p.samples}")
    precision = h.precision
    if not 2 <= precision <= 16:
        raise DicomError(f"the JPEG-LS codestream's sample precision {precision} is invalid")
    itemsize = itemsize_for_precision(precision, 0)
    target = _target(p, out, itemsize, 0)
    a = _call(ic.jpegls_decode, "JPEG-LS", data, **({"out": target} if target is not None else {}))
    arr = _place(a, p, itemsize, 0, out, "JPEG-LS")
    if p.signed:
        shift(arr, 8 * arr.dtype.itemsize - precision)
    return arr


def _j2k(func, what: str, data, p: FrameLayout, out: numpy.ndarray | None, **options) -> numpy.ndarray:
    check_j2k_geometry(data, p.rows, p.columns, p.samples)
    is_signed, precision = j2k_sign_precision(data)
    if precision is None:
        raise DicomError(f"the {what} codestream has no image header (SIZ)")
    if is_signed is None:
        is_signed = p.signed
    itemsize = itemsize_for_precision(precision, p.bits_allocated)
    target = _target(p, out, itemsize, p.planar)
    if target is not None:
        options["out"] = target
    a = _call(func, what, data, **options)
    arr = _place(a, p, itemsize, p.planar, out, what)
    if p.photometric in ("MONOCHROME1", "MONOCHROME2") and is_signed != p.signed:
        shift(arr, 8 * arr.dtype.itemsize - precision)
    return arr


def decode_jpeg_2000(data, p: FrameLayout, out: numpy.ndarray | None = None) -> numpy.ndarray:
    """One JPEG 2000 frame (OpenJPEG, on :func:`~dicomfast.pixels.threads.codec_threads` threads:
    a large frame decoded on its own splits over the free cores, the frames of a file decoded in
    parallel take one each); monochrome data whose codestream signedness differs from Pixel
    Representation sign-extended from the codestream's precision; 1-bit data as uint8 0/1."""
    ic = _codecs()
    frame_bytes = p.rows * p.columns * p.samples * max(p.bits_allocated // 8, 1)
    return _j2k(ic.jpeg2k_decode, "JPEG 2000", data, p, out, numthreads=codec_threads(frame_bytes),
                planar=False)


def decode_htj2k(data, p: FrameLayout, out: numpy.ndarray | None = None) -> numpy.ndarray:
    """One HTJ2K frame (OpenJPH), corrected as :func:`decode_jpeg_2000`."""
    ic = _codecs()
    return _j2k(ic.htj2k_decode, "HTJ2K", data, p, out, planar=False)  # interleaved, MCT or not


# -- encoders ---------------------------------------------------------------------------------------

def _check(spec: FrameSpec, what: str, allowed: tuple[str, ...], max_bits: int = 16, min_bits: int = 2) -> None:
    unknown = sorted(set(spec.options) - set(allowed))
    if unknown:
        raise ValueError(f"{what} takes the options {list(allowed)}, not {unknown}")
    if spec.bits_allocated > max_bits or not min_bits <= spec.bits_stored <= max_bits:
        raise ValueError(f"{what} holds {min_bits} to {max_bits} bits, not {spec.bits_stored} stored in "
                         f"{spec.bits_allocated}")
    if spec.photometric not in ("MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL") or (
            spec.samples == 3) != (spec.photometric in ("RGB", "YBR_FULL")):
        raise ValueError(f"{what} cannot encode {spec.photometric} with {spec.samples} sample(s) per pixel")


def _unsigned(frame: numpy.ndarray, bits: int) -> numpy.ndarray:
    """Signed samples as the unsigned ``bits``-bit two's complement patterns a JPEG codec takes."""
    if frame.dtype.kind == "u":
        return frame
    u = frame.view(f"<u{frame.dtype.itemsize}")
    return u & numpy.array((1 << bits) - 1, u.dtype) if bits < 8 * frame.dtype.itemsize else u


def _encode(func, what: str, frame, **options) -> bytes:
    try:
        return bytes(func(frame, **options))
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"the {what} encoder refused the frame: {exc}") from exc


def _jpeg_ls(near_lossless: bool):
    what = "JPEG-LS near-lossless" if near_lossless else "JPEG-LS lossless"

    def describe(spec: FrameSpec) -> EncodedAttributes:
        _check(spec, what, ("near",) if near_lossless else ())
        near = int(spec.options.get("near", 2)) if near_lossless else 0
        if not 0 <= near <= 255:
            raise ValueError(f"near must be from 0 to 255, not {near}")
        return EncodedAttributes(spec.photometric, near > 0, "ISO_14495_1")

    def encode(frame: numpy.ndarray, spec: FrameSpec) -> bytes:
        near = int(spec.options.get("near", 2)) if near_lossless else 0
        # signed data: the bit patterns at the codestream's precision (the dtype's), which the
        # decoders sign-extend (pydicom too)
        return _encode(_codecs().jpegls_encode, what, _unsigned(frame, 8 * frame.dtype.itemsize), level=near)

    return encode, describe


def _jpeg_2000(lossy: bool):
    what = "JPEG 2000" if lossy else "JPEG 2000 lossless"

    def describe(spec: FrameSpec) -> EncodedAttributes:
        _check(spec, what, ("psnr", "mct") if lossy else ("mct",), min_bits=1)
        mct = spec.samples == 3 and spec.photometric == "RGB" and bool(spec.options.get("mct", True))
        photometric = ("YBR_ICT" if lossy else "YBR_RCT") if mct else spec.photometric
        return EncodedAttributes(photometric, lossy, "ISO_15444_1")

    def encode(frame: numpy.ndarray, spec: FrameSpec) -> bytes:
        mct = spec.samples == 3 and spec.photometric == "RGB" and bool(spec.options.get("mct", True))
        level = float(spec.options.get("psnr", 50)) if lossy else 0
        return _encode(_codecs().jpeg2k_encode, what, frame, level=level, codecformat="J2K",
                       reversible=not lossy, mct=mct, bitspersample=spec.bits_stored)

    return encode, describe


def _htj2k(rpcl: bool):
    what = "HTJ2K lossless RPCL" if rpcl else "HTJ2K lossless"

    def describe(spec: FrameSpec) -> EncodedAttributes:
        _check(spec, what, ("mct",), min_bits=1)
        mct = spec.samples == 3 and spec.photometric == "RGB" and bool(spec.options.get("mct", True))
        return EncodedAttributes("YBR_RCT" if mct else spec.photometric, False, "ISO_15444_15")

    def encode(frame: numpy.ndarray, spec: FrameSpec) -> bytes:
        mct = spec.samples == 3 and spec.photometric == "RGB" and bool(spec.options.get("mct", True))
        # OpenJPH writes the RPCL progression order; the RPCL syntax also wants a TLM marker
        return _encode(_codecs().htj2k_encode, what, frame, level=0, reversible=True, rgb=mct, planar=False,
                       tlm=rpcl)

    return encode, describe


def _describe_jpeg_baseline(spec: FrameSpec) -> EncodedAttributes:
    _check(spec, "JPEG baseline", ("quality", "subsampling"), max_bits=8, min_bits=8)
    if spec.signed:
        raise ValueError("JPEG baseline holds unsigned 8-bit samples only")
    quality = int(spec.options.get("quality", 90))
    subsampling = spec.options.get("subsampling", "422")
    if not 1 <= quality <= 100 or subsampling not in ("422", "444"):
        raise ValueError(f"quality must be 1 to 100 and subsampling '422' or '444', not {quality}, {subsampling!r}")
    photometric = spec.photometric
    if spec.photometric == "YBR_FULL":
        raise ValueError("JPEG baseline encodes RGB (converted to YCbCr by the encoder) or monochrome data: "
                         "convert YBR_FULL to RGB first")
    if spec.samples == 3:
        photometric = "YBR_FULL_422" if subsampling == "422" else "YBR_FULL"
    return EncodedAttributes(photometric, True, "ISO_10918_1")


def _encode_jpeg_baseline(frame: numpy.ndarray, spec: FrameSpec) -> bytes:
    options: dict = {"level": int(spec.options.get("quality", 90))}
    if spec.samples == 3:
        options.update(colorspace="RGB", outcolorspace="YCbCr", subsampling=spec.options.get("subsampling", "422"))
    return _encode(_codecs().jpeg8_encode, "JPEG baseline", frame, **options)


def _describe_jpeg_lossless(spec: FrameSpec) -> EncodedAttributes:
    _check(spec, "JPEG lossless", ())
    return EncodedAttributes(spec.photometric, False, "ISO_10918_1")


def _encode_jpeg_lossless(frame: numpy.ndarray, spec: FrameSpec) -> bytes:
    options: dict = {"lossless": True, "predictor": 1, "bitspersample": spec.bits_stored}
    if spec.samples == 3:  # no colour transform: the samples as they are (an Adobe marker says so)
        options.update(colorspace="RGB", outcolorspace="RGB")
    return _encode(_codecs().jpeg8_encode, "JPEG lossless", _unsigned(frame, spec.bits_stored), **options)


register_encoder(_uid.JPEGLSLossless, *_jpeg_ls(False), "imagecodecs")
register_encoder(_uid.JPEGLSNearLossless, *_jpeg_ls(True), "imagecodecs")
register_encoder(_uid.JPEG2000Lossless, *_jpeg_2000(False), "imagecodecs")
register_encoder(_uid.JPEG2000, *_jpeg_2000(True), "imagecodecs")
register_encoder(_uid.HTJ2KLossless, *_htj2k(False), "imagecodecs")
register_encoder(_uid.HTJ2KLosslessRPCL, *_htj2k(True), "imagecodecs")
register_encoder(_uid.JPEGBaseline8Bit, _encode_jpeg_baseline, _describe_jpeg_baseline, "imagecodecs")
register_encoder(_uid.JPEGLosslessSV1, _encode_jpeg_lossless, _describe_jpeg_lossless, "imagecodecs")


register_backend("imagecodecs", PACKAGE, lambda syntax: library() is not None)
for _syntax in _JPEG:
    register_decoder(_syntax, decode_jpeg, "imagecodecs", rgb=True)
for _syntax in _JPEG_LS:
    register_decoder(_syntax, decode_jpeg_ls, "imagecodecs")
for _syntax in _J2K:
    register_decoder(_syntax, decode_jpeg_2000, "imagecodecs")
for _syntax in _HTJ2K:
    register_decoder(_syntax, decode_htj2k, "imagecodecs")
del _syntax
