"""RLE Lossless (PS3.5 Annex G) through dicomfast's own compiled decoder (``_rle.pyx``)."""
from __future__ import annotations

import numpy

from ... import uid as _uid
from . import FrameLayout, register_decoder, shift
from ._rle import decode_rle_frame

__all__ = ["decode_rle"]


def decode_rle(data, p: FrameLayout) -> numpy.ndarray:
    """One RLE frame; the bits above Bits Stored cleared (or sign-extended), as pydicom does."""
    out = numpy.empty(p.shape, f"<u{p.bits_allocated // 8}")
    decode_rle_frame(data, p.rows, p.columns, p.samples, p.bits_allocated, out)
    arr = out.view(p.dtype())
    shift(arr, p.bits_allocated - p.bits_stored)
    return arr


register_decoder(_uid.RLELossless, decode_rle)
