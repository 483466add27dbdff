"""Codecs for encapsulated pixel data: a registry keyed by transfer syntax UID.

Each backend is one module that registers the transfer syntaxes it handles:

| module | transfer syntaxes | needs |
| --- | --- | --- |
| ``rle`` | RLE Lossless | nothing (dicomfast's own compiled decoder, ``_rle.pyx``) |
| ``pylibjpeg`` | JPEG baseline, extended, lossless (process 14 and SV1), JPEG-LS, JPEG 2000, HTJ2K | the pylibjpeg plugins: ``pip install dicomfast[jpeg]`` |

A decoder is a function ``decode(data, layout) -> ndarray`` of one frame's encoded bytes and its
:class:`FrameLayout`. A new backend adds a module here and calls :func:`register_decoder` for its
syntaxes; :func:`decode_frame` is the one entry point the pixel layer calls. Encoders (for writing
and transcoding) register the same way, keyed by the syntax they produce. A syntax is served by
one backend, chosen here explicitly: there is no silent fallback to another.

After the codec the same corrections as pydicom 3 are applied, so that ``decode_frame(ds, i)``
equals ``pydicom.pixels.pixel_array(ds, index=i, raw=True)``: the dtype of Bits Allocated and Pixel
Representation; for JPEG 2000 monochrome data whose codestream signedness differs from Pixel
Representation, and for signed JPEG-LS, the value is sign-extended from the codestream's precision;
for RLE and JPEG, the bits above Bits Stored are cleared (or sign-extended when signed).
"""
from __future__ import annotations

from typing import Callable

import numpy

from ... import uid as _uid
from ...dataset import Dataset
from ...errors import DicomError, UnsupportedTransferSyntaxError
from ..encapsulated import frame_bytes

__all__ = ["FrameLayout", "Decoder", "register_decoder", "decoder_for", "decode_frame", "decode_bytes",
           "from_buffer", "shift",
           "itemsize_for_precision"]

#: ``decode(data, layout)``: one frame's encoded bytes -> the frame as an array.
Decoder = Callable[[bytes, "FrameLayout"], numpy.ndarray]

_DECODERS: dict[str, Decoder] = {}


def register_decoder(syntax: str, decode: Decoder) -> None:
    """Make ``decode`` the decoder of transfer syntax ``syntax`` (one per syntax)."""
    if syntax in _DECODERS and _DECODERS[syntax] is not decode:
        raise ValueError(f"{syntax} already has a decoder: {_DECODERS[syntax]!r}")
    _DECODERS[syntax] = decode


def decoder_for(syntax: str) -> Decoder:
    """The decoder registered for ``syntax``; :class:`UnsupportedTransferSyntaxError` if none."""
    decode = _DECODERS.get(syntax)
    if decode is None:
        raise UnsupportedTransferSyntaxError(
            f"cannot decode pixel data of transfer syntax {_uid.uid_name(syntax)} ({syntax})")
    return decode


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
                 "planar", "photometric")

    def __init__(self, ds) -> None:
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
        if self.bits_allocated not in (8, 16, 32, 64):
            raise DicomError(f"cannot decode {self.bits_allocated} bits allocated")

    def dtype(self, itemsize: int | None = None) -> numpy.dtype:
        return numpy.dtype(f"<{'iu'[not self.signed]}{itemsize or self.bits_allocated // 8}")

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


def from_buffer(buf, p: FrameLayout, itemsize: int, planar: int, what: str) -> numpy.ndarray:
    """The codec's bytes as the frame in the dtype of ``itemsize``, reshaped as pydicom does,
    then cast to the dataset's dtype."""
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
    return numpy.array(arr, dtype=p.dtype(), order="C")  # a writable, contiguous copy


def decode_frame(ds: Dataset, index: int = 0) -> numpy.ndarray:
    """Decode frame ``index`` (from 0) of a dataset whose Pixel Data is encapsulated.

    Returns a new, writable, C-contiguous array of shape ``(rows, columns)`` for one sample per
    pixel, ``(rows, columns, samples)`` otherwise (always interleaved, whatever Planar
    Configuration says), dtype the little-endian integer of Bits Allocated (8, 16, 32, 64),
    signed when Pixel Representation is 1.

    Colour space: no colour conversion is applied. The samples are in the colour space the
    codestream decodes to: JPEG and JPEG-LS, and RLE, as stored (YBR_FULL and YBR_FULL_422 stay
    YBR, for the pixel layer to convert); JPEG 2000 with the multiple-component transform
    (Photometric Interpretation YBR_ICT or YBR_RCT) is RGB, since the codec inverts it.

    Raises ``IndexError`` for a frame index out of range, :class:`UnsupportedTransferSyntaxError`
    for a transfer syntax that is not encapsulated or not known, :class:`MissingDecoderError`
    when the plugin is not installed, and :class:`DicomError` for corrupt data.
    """
    decode = decoder_for(_transfer_syntax(ds))  # a syntax without a decoder says so before any read
    return decode(frame_bytes(ds, index), FrameLayout(ds))


def decode_bytes(ds: Dataset, data: bytes | memoryview) -> numpy.ndarray:
    """:func:`decode_frame` of one frame's encoded bytes ``data``, read elsewhere (from a source by
    offset, or a DICOMweb frame) for the dataset ``ds`` (a header read is enough)."""
    decode = decoder_for(_transfer_syntax(ds))
    return decode(data, FrameLayout(ds))


# The backends register themselves on import.
from . import pylibjpeg, rle  # noqa: E402,F401
