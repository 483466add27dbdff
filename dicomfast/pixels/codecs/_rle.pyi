"""Type stub of the compiled RLE Lossless decoder (dicomfast/_rle.pyx)."""

import numpy
from typing_extensions import Buffer

def decode_rle_frame(
    data: Buffer,
    rows: int,
    columns: int,
    samples_per_pixel: int,
    bits_allocated: int,
    out: numpy.ndarray | None = None,
) -> numpy.ndarray:
    """Decode one RLE Lossless frame into ``(rows, columns[, samples])`` little-endian unsigned
    integers of ``bits_allocated``; raises ``DicomError`` for corrupt data."""

def encode_rle_frame(
    data: Buffer,
    rows: int,
    columns: int,
    samples_per_pixel: int,
    bits_allocated: int,
) -> bytes:
    """Encode one frame (interleaved little-endian samples of ``bits_allocated``) as RLE Lossless:
    a row never crosses a run, segments are padded to an even length."""
