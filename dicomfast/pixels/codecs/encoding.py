"""Encoders: frames as an array -> the fragments of a transfer syntax, and the Image Pixel attributes
the encoded data needs. The mirror of the decoder registry, for writing and transcoding.

``encode_frames(array, transfer_syntax, **options) -> EncodedFrames`` is the one entry point
(its signature is stable: the writer calls it to transcode). Encoders register per transfer syntax
and backend (:func:`register_encoder`); one backend serves each syntax:

| transfer syntax | backend | options |
| --- | --- | --- |
| RLE Lossless | ``dicomfast`` (our compiled encoder, ``_rle.pyx``) | |
| JPEG-LS Lossless / Near-Lossless | ``imagecodecs`` (CharLS) | ``near`` (near-lossless: the error bound, default 2) |
| JPEG 2000 Lossless / JPEG 2000 | ``imagecodecs`` (OpenJPEG) | ``psnr`` (lossy: target PSNR in dB, default 50); ``mct`` (RGB: the colour transform, default True) |
| HTJ2K Lossless / HTJ2K Lossless RPCL | ``imagecodecs`` (OpenJPH, RPCL progression; RPCL with a TLM marker) | ``mct`` |
| JPEG Baseline (8-bit) | ``imagecodecs`` (libjpeg-turbo) | ``quality`` (1-100, default 90); ``subsampling`` (RGB: ``"422"`` default, ``"444"``) |
| JPEG Lossless SV1 | ``imagecodecs`` (libjpeg-turbo, predictor 1) | |

Photometric Interpretation after encoding: RGB stays RGB for RLE, JPEG-LS and JPEG lossless (no
colour transform); becomes YBR_RCT (reversible) for JPEG 2000 lossless and HTJ2K with the
multiple-component transform, YBR_ICT for lossy JPEG 2000; YBR_FULL_422 (or YBR_FULL with
``subsampling="444"``) for JPEG baseline, whose encoder converts RGB to YCbCr.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy

from ... import uid as _uid

__all__ = ["EncodedFrames", "FrameSpec", "EncodedAttributes", "Encoder", "register_encoder", "encoder_for",
           "encode_frames"]


class FrameSpec(NamedTuple):
    """What an encoder is told of the frames besides their samples."""

    rows: int
    columns: int
    samples: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    photometric: str            # of the input array
    options: dict


class EncodedAttributes(NamedTuple):
    """What the encoding makes of the Image Pixel module: the Photometric Interpretation after
    any colour transform, whether it is lossy, and the Lossy Image Compression Method."""

    photometric: str
    lossy: bool
    method: str | None


class EncodedFrames(NamedTuple):
    """The result of :func:`encode_frames`: one fragment per frame (``fragments``, to encapsulate
    with a Basic Offset Table), and the attributes the dataset needs with them.

    * ``photometric_interpretation`` (0028,0004), ``planar_configuration`` (0028,0006: 0 for colour,
      None for one sample), ``bits_allocated``, ``bits_stored``, ``pixel_representation``;
    * ``lossy_image_compression`` (0028,2110): ``"01"`` when this encoding lost information, else
      ``"00"``; ``lossy_image_compression_ratio`` (0028,2112): uncompressed bytes / encoded bytes;
      ``lossy_image_compression_method`` (0028,2114), e.g. ``"ISO_10918_1"`` (None when lossless).
    """

    fragments: list[bytes]
    transfer_syntax: str
    backend: str
    photometric_interpretation: str
    planar_configuration: int | None
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    lossy_image_compression: str
    lossy_image_compression_ratio: float
    lossy_image_compression_method: str | None


#: ``encode(frame, spec) -> bytes`` of one frame (shape (rows, columns[, samples]), C-contiguous).
EncodeFunction = Callable[[numpy.ndarray, FrameSpec], bytes]
#: ``describe(spec) -> EncodedAttributes``, or raise ``ValueError`` for a layout the syntax cannot hold.
DescribeFunction = Callable[[FrameSpec], EncodedAttributes]


class Encoder(NamedTuple):
    backend: str
    encode: EncodeFunction
    describe: DescribeFunction


_ENCODERS: dict[str, Encoder] = {}


def register_encoder(syntax: str, encode: EncodeFunction, describe: DescribeFunction, backend: str) -> None:
    """Make backend ``backend``'s ``encode`` the encoder of ``syntax`` (one per syntax)."""
    if syntax in _ENCODERS and _ENCODERS[syntax].encode is not encode:
        raise ValueError(f"{syntax} already has an encoder: {_ENCODERS[syntax]!r}")
    _ENCODERS[syntax] = Encoder(backend, encode, describe)


def encoder_for(syntax: str) -> Encoder:
    encoder = _ENCODERS.get(syntax)
    if encoder is None:
        raise ValueError(f"no encoder for transfer syntax {_uid.uid_name(syntax)} ({syntax}); encoders: "
                         + ", ".join(_uid.uid_name(s) for s in sorted(_ENCODERS)))
    return encoder


_COLOUR = ("RGB", "YBR_FULL")


def _frames(array: numpy.ndarray, photometric: str | None, samples: int | None) -> tuple[numpy.ndarray, str, int]:
    """``array`` as (frames, rows, columns, samples), its Photometric Interpretation and samples."""
    if samples is None:
        samples = 3 if photometric in _COLOUR else 1
    if samples not in (1, 3):
        raise ValueError(f"samples per pixel must be 1 or 3, not {samples}")
    if photometric is None:
        photometric = "RGB" if samples == 3 else "MONOCHROME2"
    want = 2 if samples == 1 else 3
    if array.ndim == want:
        array = array[None]
    if array.ndim != want + 1:
        raise ValueError(f"{samples} sample(s) per pixel need an array of {want} or {want + 1} dimensions "
                         f"((frames,) rows, columns{', samples' if samples > 1 else ''}), not {array.shape}")
    if samples == 1:
        array = array[..., None]
    elif array.shape[-1] != samples:
        raise ValueError(f"the array's last dimension is {array.shape[-1]}, not {samples} samples")
    return array, photometric, samples


def encode_frames(array: Any, transfer_syntax: str, *, photometric_interpretation: str | None = None,
                  samples_per_pixel: int | None = None, bits_stored: int | None = None,
                  **options: Any) -> EncodedFrames:
    """Encode the frames of ``array`` in ``transfer_syntax``.

    ``array``: integers (uint8, int8, uint16, int16; uint32/int32 for RLE), shaped (rows, columns)
    or (frames, rows, columns) for one sample per pixel, (rows, columns, 3) or (frames, rows,
    columns, 3) for three; ``photometric_interpretation`` says which (MONOCHROME2 by default, RGB
    when ``samples_per_pixel=3``). ``bits_stored`` (default: the dtype's bits) must hold every
    value. ``options``: the syntax's (the module docstring). Raises ``ValueError`` for a syntax
    without an encoder or a layout it cannot hold, :class:`~dicomfast.MissingDecoderError` when the
    backend is not installed.
    """
    encoder = encoder_for(str(transfer_syntax))
    array = numpy.asarray(array)
    if array.dtype.kind not in "iu" or array.dtype.itemsize not in (1, 2, 4):
        raise ValueError(f"cannot encode {array.dtype} samples: 8, 16 or 32-bit integers only")
    frames, photometric, samples = _frames(array, photometric_interpretation, samples_per_pixel)
    bits_allocated = 8 * frames.dtype.itemsize
    signed = frames.dtype.kind == "i"
    bits_stored = bits_allocated if bits_stored is None else int(bits_stored)
    if not 1 <= bits_stored <= bits_allocated:
        raise ValueError(f"bits_stored {bits_stored} must be from 1 to {bits_allocated}")
    if frames.size and bits_stored < bits_allocated:
        lo, hi = (-(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1) if signed else (0, (1 << bits_stored) - 1)
        if frames.min() < lo or frames.max() > hi:
            raise ValueError(f"values from {frames.min()} to {frames.max()} do not fit {bits_stored} bits stored")
    n, rows, columns = frames.shape[:3]
    if rows < 1 or columns < 1 or n < 1:
        raise ValueError(f"cannot encode an empty array of shape {array.shape}")
    spec = FrameSpec(rows, columns, samples, bits_allocated, bits_stored, signed, photometric, dict(options))
    attributes = encoder.describe(spec)
    frames = frames.astype(frames.dtype.newbyteorder("<"), copy=False)
    fragments = []
    for frame in frames:
        frame = numpy.ascontiguousarray(frame if samples > 1 else frame[..., 0])
        data = encoder.encode(frame, spec)
        fragments.append(data + b"\0" * (len(data) & 1))  # an item's length is even
    encoded = sum(len(f) for f in fragments)
    return EncodedFrames(
        fragments=fragments,
        transfer_syntax=str(transfer_syntax),
        backend=encoder.backend,
        photometric_interpretation=attributes.photometric,
        planar_configuration=0 if samples > 1 else None,
        bits_allocated=bits_allocated,
        bits_stored=bits_stored,
        pixel_representation=int(signed),
        lossy_image_compression="01" if attributes.lossy else "00",
        lossy_image_compression_ratio=round(frames.nbytes / max(encoded, 1), 4),
        lossy_image_compression_method=attributes.method if attributes.lossy else None,
    )
