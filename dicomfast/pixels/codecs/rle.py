"""RLE Lossless (PS3.5 Annex G) through dicomfast's own compiled decoder and encoder (``_rle.pyx``)."""
from __future__ import annotations

import numpy

from ... import uid as _uid
from ...errors import DicomError
from . import FrameLayout, register_backend, register_decoder, shift
from ._rle import decode_rle_frame, encode_rle_frame
from .encoding import EncodedAttributes, FrameSpec, register_encoder

__all__ = ["decode_rle", "encode_rle"]


def decode_rle(data, p: FrameLayout, out: numpy.ndarray | None = None) -> numpy.ndarray:
    """One RLE frame; the bits above Bits Stored cleared (or sign-extended), as pydicom does."""
    if p.bits_allocated == 1:
        raise DicomError("RLE Lossless cannot hold 1 bit allocated data")
    target = numpy.empty(p.shape, f"<u{p.itemsize}") if out is None else out.view(f"<u{p.itemsize}")
    decode_rle_frame(data, p.rows, p.columns, p.samples, p.bits_allocated, target)
    arr = target.view(p.dtype())
    shift(arr, p.bits_allocated - p.bits_stored)
    return arr


register_backend("dicomfast", "dicomfast", lambda syntax: True)
register_decoder(_uid.RLELossless, decode_rle, "dicomfast")


def encode_rle(frame: numpy.ndarray, spec: FrameSpec) -> bytes:
    """One frame (C-contiguous little-endian samples) as RLE Lossless."""
    return encode_rle_frame(frame.reshape(-1).view(numpy.uint8), spec.rows, spec.columns, spec.samples,
                            spec.bits_allocated)


def describe_rle(spec: FrameSpec) -> EncodedAttributes:
    if spec.options:
        raise ValueError(f"RLE Lossless takes no options, not {sorted(spec.options)}")
    if spec.photometric == "YBR_FULL_422":
        raise ValueError("RLE Lossless cannot hold YBR_FULL_422 (subsampled) data")
    return EncodedAttributes(spec.photometric, False, None)


register_encoder(_uid.RLELossless, encode_rle, describe_rle, "dicomfast")
