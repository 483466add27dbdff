"""Codecs for encapsulated pixel data: a registry keyed by transfer syntax UID and backend name.

Each backend is one module that registers the transfer syntaxes it handles:

| backend (module) | transfer syntaxes | needs |
| --- | --- | --- |
| ``dicomfast`` (``rle``) | RLE Lossless | nothing (dicomfast's own compiled decoder, ``_rle.pyx``) |
| ``imagecodecs`` | JPEG baseline, extended (8/12-bit), lossless (process 14 and SV1) through libjpeg-turbo; JPEG-LS through CharLS; JPEG 2000 through OpenJPEG; HTJ2K through OpenJPH | ``pip install dicomfast[codecs]`` (``imagecodecs``) |
| ``pylibjpeg`` | JPEG baseline, extended, lossless, JPEG-LS, JPEG 2000, HTJ2K | the pylibjpeg plugins: ``pip install dicomfast[jpeg]`` |

The default order per transfer syntax (:data:`DEFAULT_ORDER`), measured with
``benchmarks/bench_codecs.py`` (docs/design.md has the table):

| transfer syntaxes | order | why |
| --- | --- | --- |
| RLE Lossless | ``dicomfast`` | our kernel is the fastest (``benchmarks/bench_rle.py``) |
| JPEG (baseline, extended, lossless) | ``imagecodecs``, ``pylibjpeg`` | libjpeg-turbo: 3-10x faster than libjpeg (8x on the 120-frame YBR file, with its own YCbCr to RGB), and decodes the 12-bit process 4 scans that libjpeg refuses |
| JPEG-LS | ``imagecodecs``, ``pylibjpeg`` | CharLS: 3-7x faster than libjpeg's JPEG-LS |
| JPEG 2000 | ``imagecodecs``, ``pylibjpeg`` | the same OpenJPEG, decoding into the frame's slice without a copy, and a large frame decoded on its own on the free cores (``threads.codec_threads``): 1.2-1.5x pydicom + GDCM on 2 cores, where one thread was 0.70-0.90x |
| HTJ2K | ``pylibjpeg`` | OpenJPH (imagecodecs) is 2.3x faster than OpenJPEG's HT decoder, but on some corrupt codestreams it prints an ignored exception and returns an array, so it is not in the default order: ``decoder="imagecodecs"`` chooses it |

A decoder is a function ``decode(data, layout, out) -> ndarray`` of one frame's encoded bytes, its
:class:`FrameLayout` and an optional preallocated C-contiguous array of ``layout.shape`` and
``layout.dtype()`` to decode into (the decoder returns ``out`` then, else a new array). A backend
module calls :func:`register_decoder` for its syntaxes; :func:`decode_frame` (and
:func:`decode_frame_record`, which also says which backend decoded the frame) is the one entry
point the pixel layer calls.

Choosing a backend, and no silent fallback:

* ``decoder=None`` (the default): the backends of :data:`DEFAULT_ORDER` that are installed, in
  that order; a frame that one refuses (a :class:`DicomError` from it: a codestream it cannot
  read) is tried by the next, and the :class:`DecodedFrame` record names the backend that decoded
  it and what the others said. A frame that every backend refuses raises the first refusal. When
  none is installed, :class:`MissingDecoderError` names the first backend's pip package.
* ``decoder="name"``: that backend only; its refusal raises, and a backend that is not installed
  raises :class:`MissingDecoderError` naming its pip package.

Encoders (for writing and transcoding) register the same way, keyed by the syntax they produce
(``encoding.py``: ``encode_frames(array, transfer_syntax, **options) -> EncodedFrames``, RLE by our
own compiled encoder, the JPEG family by imagecodecs).

After the codec the same corrections as pydicom 3 are applied, so that ``decode_frame(ds, i)``
equals ``pydicom.pixels.pixel_array(ds, index=i, raw=True)``: the dtype of Bits Allocated and Pixel
Representation; for JPEG 2000 monochrome data whose codestream signedness differs from Pixel
Representation, and for signed JPEG-LS, the value is sign-extended from the codestream's precision;
for RLE and JPEG, the bits above Bits Stored are cleared (or sign-extended when signed). A JPEG
whose Photometric Interpretation is RGB is colour-transformed from YCbCr when the codestream says
it was (a JFIF APP0 marker, an Adobe APP14 marker with transform 1, or, with neither, component
identifiers 1, 2, 3), as pydicom and GDCM decide it. 1-bit data in JPEG 2000 decodes to uint8 0/1.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy

from ... import uid as _uid
from ...dataset import Dataset
from ...errors import DicomError, MissingDecoderError, UnsupportedTransferSyntaxError
from .._native import ybr_full_to_rgb
from ..encapsulated import frame_bytes

__all__ = ["FrameLayout", "Decoder", "DecodedFrame", "register_decoder", "register_backend", "decoder_for",
           "decoders_for", "BackendDecoder", "decode_frame", "decode_frame_record", "decode_bytes", "decode_data", "from_buffer", "shift",
           "itemsize_for_precision", "check_out", "RGB_CONVERTIBLE", "EncodedFrames", "encode_frames",
           "register_encoder", "DEFAULT_ORDER", "check_decoder", "backend_names"]

#: ``decode(data, layout, out)``: one frame's encoded bytes -> the frame as an array (``out`` if given).
Decoder = Callable[[bytes, "FrameLayout", "numpy.ndarray | None"], numpy.ndarray]

#: The Photometric Interpretations that ``as_rgb`` converts to RGB (8-bit, 3 samples), as pydicom.
RGB_CONVERTIBLE = ("YBR_FULL", "YBR_FULL_422")
_RLE = (_uid.RLELossless,)
_JPEG = (_uid.JPEGBaseline8Bit, _uid.JPEGExtended12Bit, _uid.JPEGLossless, _uid.JPEGLosslessSV1)
_JPEG_LS = (_uid.JPEGLSLossless, _uid.JPEGLSNearLossless)
_J2K = (_uid.JPEG2000Lossless, _uid.JPEG2000)
_HTJ2K = (_uid.HTJ2KLossless, _uid.HTJ2KLosslessRPCL, _uid.HTJ2K)

#: The backends tried, in order, for each transfer syntax when no ``decoder=`` is given.
DEFAULT_ORDER: dict[str, tuple[str, ...]] = {
    **{ts: ("dicomfast",) for ts in _RLE},
    **{ts: ("imagecodecs", "pylibjpeg") for ts in _JPEG + _JPEG_LS + _J2K},
    # OpenJPH (imagecodecs) decodes 2.3x faster than OpenJPEG, but reports some corrupt codestreams
    # as an "Exception ignored" and returns an array: OpenJPEG alone by default until that is fixed
    # upstream (decoder="imagecodecs" chooses OpenJPH)
    **{ts: ("pylibjpeg",) for ts in _HTJ2K},
}


class _Backend(NamedTuple):
    package: Callable[[str], str]     # syntax -> what to pip install
    available: Callable[[str], bool]  # syntax -> whether the library decoding it imports


_BACKENDS: dict[str, _Backend] = {}
_DECODERS: dict[str, dict[str, Decoder]] = {}
_RGB: set[Decoder] = set()  # decoders that convert YBR to RGB themselves when layout.to_rgb


def register_backend(name: str, package: str | Callable[[str], str], available: Callable[[str], bool]) -> None:
    """Declare backend ``name``: the pip ``package`` it needs (or a function of the transfer syntax
    giving it) and ``available(syntax)``, whether what decodes that syntax is installed."""
    _BACKENDS[name] = _Backend(package if callable(package) else (lambda syntax: package), available)


def register_decoder(syntax: str, decode: Decoder, backend: str, rgb: bool = False) -> None:
    """Make ``decode`` backend ``backend``'s decoder of transfer syntax ``syntax`` (one per pair).
    ``rgb``: the decoder converts YBR_FULL / YBR_FULL_422 to RGB itself when ``layout.to_rgb``
    (in the codec, cheaper than after it); otherwise the registry converts the frame it returns."""
    table = _DECODERS.setdefault(syntax, {})
    if backend in table and table[backend] is not decode:
        raise ValueError(f"{syntax} already has a {backend} decoder: {table[backend]!r}")
    table[backend] = decode
    if rgb:
        _RGB.add(decode)


def backend_names() -> list[str]:
    """The names of the registered backends."""
    return sorted(_BACKENDS)


def check_decoder(decoder) -> str | None:
    """``None`` or the name of a registered backend (checked); a ``TypeError`` or ``ValueError``
    otherwise. Every function with a ``decoder=`` option checks it here."""
    if decoder is None:
        return None
    if not isinstance(decoder, str):
        raise TypeError(f"decoder must be None or a backend name, not {type(decoder).__name__}")
    if decoder not in _BACKENDS:
        raise ValueError(f"unknown decoder {decoder!r}: one of {', '.join(backend_names())}")
    return decoder


def _unsupported(syntax: str) -> UnsupportedTransferSyntaxError:
    return UnsupportedTransferSyntaxError(
        f"cannot decode pixel data of transfer syntax {_uid.uid_name(syntax)} ({syntax})")


def _missing(name: str, syntax: str) -> MissingDecoderError:
    package = _BACKENDS[name].package(syntax)
    return MissingDecoderError(
        f"decoding {_uid.uid_name(syntax)} with the {name} backend needs {package}: pip install {package}",
        package=package)


class BackendDecoder(NamedTuple):
    """One backend's decoder of a syntax."""

    backend: str
    decode: Decoder


def decoders_for(syntax: str, decoder: str | None = None) -> list[BackendDecoder]:
    """The installed :class:`BackendDecoder` records to try for ``syntax``, in order: ``decoder``'s
    alone, or the default order. :class:`UnsupportedTransferSyntaxError` for a syntax nobody
    decodes (or that ``decoder`` does not), :class:`MissingDecoderError` when none is installed."""
    table = _DECODERS.get(syntax)
    if not table:
        raise _unsupported(syntax)
    if decoder is not None:
        decoder = check_decoder(decoder)
        if decoder not in table:
            raise UnsupportedTransferSyntaxError(
                f"the {decoder} backend cannot decode {_uid.uid_name(syntax)} ({syntax})")
        if not _BACKENDS[decoder].available(syntax):
            raise _missing(decoder, syntax)
        return [BackendDecoder(decoder, table[decoder])]
    order = [name for name in DEFAULT_ORDER.get(syntax, ()) if name in table] or sorted(table)
    found = [BackendDecoder(name, table[name]) for name in order if _BACKENDS[name].available(syntax)]
    if not found:
        raise _missing(order[0], syntax)
    return found


def decoder_for(syntax: str, decoder: str | None = None) -> Decoder:
    """The first decoder :func:`decoders_for` gives for ``syntax``."""
    return decoders_for(syntax, decoder)[0].decode


def _get(ds: Dataset, tag: int, keyword: str, default):
    """``ds.get(keyword, default)``, with a quick miss; an empty value gives ``default`` too."""
    if tag not in ds:
        return default
    value = getattr(ds, keyword)
    return default if value is None or value == "" else value


class FrameLayout:
    """The Image Pixel attributes a decoder needs, read once per frame from the dataset: what
    every backend gets with the frame's bytes."""

    __slots__ = ("rows", "columns", "samples", "bits_allocated", "bits_stored", "signed",
                 "planar", "photometric", "to_rgb")

    def __init__(self, ds, as_rgb: bool = False) -> None:
        try:
            self.rows = int(ds.Rows)
            self.columns = int(ds.Columns)
            self.bits_allocated = int(ds.BitsAllocated)
        except (AttributeError, TypeError, ValueError) as exc:
            raise DicomError(f"pixel data needs Rows, Columns and Bits Allocated: {exc}") from None
        try:
            self.samples = int(_get(ds, 0x00280002, "SamplesPerPixel", 1))
            self.bits_stored = int(_get(ds, 0x00280101, "BitsStored", self.bits_allocated))
            self.signed = int(_get(ds, 0x00280103, "PixelRepresentation", 0)) == 1
            self.planar = int(_get(ds, 0x00280006, "PlanarConfiguration", 0)) if self.samples > 1 else 0
        except (TypeError, ValueError) as exc:
            raise DicomError(f"invalid Image Pixel attribute: {exc}") from None
        self.photometric = str(_get(ds, 0x00280004, "PhotometricInterpretation", "")).strip()
        if self.rows < 1 or self.columns < 1 or self.samples < 1:
            raise DicomError("Rows, Columns and Samples per Pixel must be positive")
        if self.bits_allocated not in (1, 8, 16, 32, 64):
            raise DicomError(f"cannot decode {self.bits_allocated} bits allocated")
        if self.bits_allocated == 1:
            self.signed = False  # one bit a pixel: 0 or 1, in uint8 as pydicom gives it
        #: YBR_FULL / YBR_FULL_422 8-bit samples are to come out RGB (``decode_frame(as_rgb=True)``)
        self.to_rgb = bool(as_rgb and self.photometric in RGB_CONVERTIBLE and self.samples == 3
                           and self.bits_allocated == 8)

    @classmethod
    def from_info(cls, info: Any, as_rgb: bool = False) -> "FrameLayout":
        """The layout of a checked :class:`~dicomfast.pixels.module.PixelInfo` (no dataset: the
        module's values held elsewhere, as in an index row)."""
        layout = cls.__new__(cls)
        layout.rows, layout.columns, layout.samples = info.rows, info.columns, info.samples_per_pixel
        layout.bits_allocated, layout.bits_stored = info.bits_allocated, info.bits_stored
        layout.signed = info.pixel_representation == 1 and info.bits_allocated != 1
        layout.planar = info.planar_configuration if info.samples_per_pixel > 1 else 0
        layout.photometric = info.photometric_interpretation
        if layout.bits_allocated not in (1, 8, 16, 32, 64):
            raise DicomError(f"cannot decode {layout.bits_allocated} bits allocated")
        layout.to_rgb = bool(as_rgb and layout.photometric in RGB_CONVERTIBLE and layout.samples == 3
                             and layout.bits_allocated == 8)
        return layout

    @property
    def itemsize(self) -> int:
        """Bytes a sample in the decoded frame: Bits Allocated's (1 bit: a byte)."""
        return max(self.bits_allocated // 8, 1)

    def dtype(self, itemsize: int | None = None) -> numpy.dtype:
        return numpy.dtype(f"<{'iu'[not self.signed]}{itemsize or self.itemsize}")

    @property
    def shape(self) -> tuple[int, ...]:
        if self.samples == 1:
            return (self.rows, self.columns)
        return (self.rows, self.columns, self.samples)


def _transfer_syntax(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if not ts:
        raise UnsupportedTransferSyntaxError("the dataset has no (0002,0010) Transfer Syntax UID")
    return str(ts).rstrip("\0 ")


def itemsize_for_precision(precision: int, bits_allocated: int) -> int:
    for bits in (8, 16, 32):
        if 0 < precision <= bits:
            return bits // 8
    return bits_allocated // 8


def shift(arr: numpy.ndarray, shift: int) -> None:
    """Keep the low ``8 * itemsize - shift`` bits of each value, sign-extended for a signed dtype."""
    if 0 < shift < 8 * arr.dtype.itemsize:
        numpy.left_shift(arr, shift, out=arr)
        numpy.right_shift(arr, shift, out=arr)


def from_buffer(buf, p: FrameLayout, itemsize: int, planar: int, what: str,
                out: numpy.ndarray | None = None, fresh: bool = False) -> numpy.ndarray:
    """The codec's bytes as the frame in the dtype of ``itemsize``, reshaped as pydicom does,
    then cast to the dataset's dtype (into ``out`` when given). ``fresh``: ``buf`` is the codec's
    own new writeable memory, returned without a copy when it is the frame as it is."""
    expected = p.rows * p.columns * p.samples * itemsize
    if len(buf) != expected:
        raise DicomError(f"the {what} frame decoded to {len(buf)} bytes, {expected} expected")
    arr = numpy.frombuffer(buf, p.dtype(itemsize))
    if p.samples == 1:
        arr = arr.reshape(p.rows, p.columns)
    elif planar:
        arr = arr.reshape(p.samples, p.rows, p.columns).transpose(1, 2, 0)
    else:
        arr = arr.reshape(p.rows, p.columns, p.samples)
    if out is not None:
        numpy.copyto(out, arr, casting="unsafe")
        return out
    if fresh and arr.dtype == p.dtype() and arr.flags.c_contiguous and arr.flags.writeable:
        return arr
    return numpy.array(arr, dtype=p.dtype(), order="C")  # a writable, contiguous copy


def check_out(out: numpy.ndarray | None, p: FrameLayout) -> None:
    """``out`` is None or a writeable C-contiguous array of the frame's shape and dtype."""
    if out is None:
        return
    if out.shape != p.shape or out.dtype != p.dtype() or not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"out must be a writeable C-contiguous {p.dtype()} array of shape {p.shape}, "
                         f"not {out.dtype} {out.shape}")


class DecodedFrame(NamedTuple):
    """A decoded frame and how: ``array``; ``backend``, the backend that decoded it; ``refused``,
    what the backends before it in the order said (``"name: message"``), empty when the first one
    decoded it."""

    array: numpy.ndarray
    backend: str
    refused: tuple[str, ...]


def decode_frame_record(ds: Dataset, index: int = 0, *, decoder: str | None = None,
                        out: numpy.ndarray | None = None, as_rgb: bool = False,
                        data: bytes | memoryview | None = None) -> DecodedFrame:
    """:func:`decode_frame`, and which backend decoded the frame (a :class:`DecodedFrame`).

    ``out``: a writeable C-contiguous array of the frame's shape and dtype to decode into (a slice
    of a preallocated multi-frame array); the record's ``array`` is then ``out``. ``data``: the
    frame's encoded bytes when they were read elsewhere (then ``index`` is not used)."""
    candidates = decoders_for(_transfer_syntax(ds), decoder)  # no decoder: said before any read
    layout = FrameLayout(ds, as_rgb)
    check_out(out, layout)
    if data is None:
        data = frame_bytes(ds, index)
    return _decode_with(candidates, layout, data, out)


def decode_data(syntax: str, layout: FrameLayout, data: bytes | memoryview, *, decoder: str | None = None,
                out: numpy.ndarray | None = None) -> DecodedFrame:
    """:func:`decode_frame_record` of one frame's encoded bytes ``data`` in transfer syntax
    ``syntax``, laid out as ``layout`` says (:meth:`FrameLayout.from_info`): no dataset needed."""
    candidates = decoders_for(syntax, decoder)
    check_out(out, layout)
    return _decode_with(candidates, layout, data, out)


def _decode_with(candidates: list, layout: FrameLayout, data: bytes | memoryview,
                 out: numpy.ndarray | None) -> DecodedFrame:
    refused: list[str] = []
    first: DicomError | None = None
    for backend, decode in candidates:
        try:
            arr = decode(data, layout, out)
            if layout.to_rgb and decode not in _RGB:
                ybr_full_to_rgb(numpy.ascontiguousarray(arr).reshape(-1), arr.reshape(-1))
            return DecodedFrame(arr, backend, tuple(refused))
        except MissingDecoderError:
            raise
        except DicomError as exc:
            if first is None:
                first = exc
            refused.append(f"{backend}: {exc}")
    if len(refused) > 1:
        raise type(first)("every decoder refused the frame: " + "; ".join(refused)) from first
    raise first


def decode_frame(ds: Dataset, index: int = 0, *, decoder: str | None = None,
                 out: numpy.ndarray | None = None, as_rgb: bool = False) -> numpy.ndarray:
    """Decode frame ``index`` (from 0) of a dataset whose Pixel Data is encapsulated.

    Returns a new, writable, C-contiguous array (``out`` when given) of shape ``(rows, columns)``
    for one sample per pixel, ``(rows, columns, samples)`` otherwise (always interleaved, whatever
    Planar Configuration says), dtype the little-endian integer of Bits Allocated (8, 16, 32, 64;
    uint8 for 1), signed when Pixel Representation is 1.

    ``decoder``: a backend name (``"imagecodecs"``, ``"pylibjpeg"``, ``"dicomfast"``), or None for
    the default order (the module docstring).

    Colour space: with ``as_rgb=True``, 8-bit YBR_FULL and YBR_FULL_422 data comes out RGB (in the
    codec where it can: libjpeg-turbo's conversion; else pydicom's, after it). Otherwise no colour
    conversion is applied, except the one a JPEG codestream of RGB data says it needs (the module
    docstring). The samples are in the colour space the codestream
    decodes to: JPEG and JPEG-LS, and RLE, as stored (YBR_FULL and YBR_FULL_422 stay YBR, for the
    pixel layer to convert); JPEG 2000 with the multiple-component transform (Photometric
    Interpretation YBR_ICT or YBR_RCT) is RGB, since the codec inverts it.

    Raises ``IndexError`` for a frame index out of range, :class:`UnsupportedTransferSyntaxError`
    for a transfer syntax that is not encapsulated or not known, :class:`MissingDecoderError`
    when the plugin is not installed, and :class:`DicomError` for corrupt data.
    """
    return decode_frame_record(ds, index, decoder=decoder, out=out, as_rgb=as_rgb).array


def decode_bytes(ds: Dataset, data: bytes | memoryview, *, decoder: str | None = None,
                 out: numpy.ndarray | None = None, as_rgb: bool = False) -> numpy.ndarray:
    """:func:`decode_frame` of one frame's encoded bytes ``data``, read elsewhere (from a source by
    offset, or a DICOMweb frame) for the dataset ``ds`` (a header read is enough)."""
    return decode_frame_record(ds, decoder=decoder, out=out, as_rgb=as_rgb, data=data).array


from .encoding import EncodedFrames, encode_frames, register_encoder  # noqa: E402

# The backends register themselves on import.
from . import imagecodecs, pylibjpeg, rle  # noqa: E402,F401
