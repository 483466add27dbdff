"""Frames of encapsulated Pixel Data: which fragments hold frame *n*.

The scanner already recorded every fragment of encapsulated (7FE0,0010) as a child item record
(the first is the Basic Offset Table), so finding a frame is a lookup in the element table: no
bytes of other frames are read or copied. The frame boundaries come from, in order:

1. the Extended Offset Table (7FE0,0001) with its lengths (7FE0,0002), when both have one entry
   per frame and the frame's entry points at a fragment and its length fits in that fragment;
2. the Basic Offset Table, when it is non-empty and consistent: starts at 0, strictly
   increasing, every offset the start of a fragment, one entry per frame;
3. one frame per fragment when the fragments number exactly (0028,0008) Number of Frames,
   and all fragments when there is a single frame;
4. otherwise the JPEG EOI / JPEG 2000 EOC marker (``FF D9``) in the last 10 bytes of a
   fragment ends a frame, as pydicom does.

A table that is wrong (offsets outside the data, not increasing, not on a fragment) is ignored in
favour of the next rule, never trusted; pydicom instead trusts a non-empty table. Offsets are
relative to the first byte of the first fragment's item tag, as PS3.5 A.4 says.
"""
from __future__ import annotations

import struct
from bisect import bisect_left

from ..dataset import Dataset, Fragments
from ..errors import DicomError, InvalidPixelAttributeError

__all__ = ["frame_count", "frame_fragments", "frame_bytes", "fragment_count", "element_bytes"]

_NUMBER_OF_FRAMES = 0x00280008
_EXTENDED_OFFSET_TABLE = 0x7FE00001
_EXTENDED_OFFSET_TABLE_LENGTHS = 0x7FE00002
_EOI = b"\xff\xd9"


def frame_count(ds: Dataset) -> int:
    """The number of frames of the dataset: (0028,0008) Number of Frames, 1 when absent, empty
    or 0 (as pydicom assumes, and as the Image Pixel module check reads it); an
    :class:`~dicomfast.InvalidPixelAttributeError` when it is not one non-negative integer."""
    if _NUMBER_OF_FRAMES not in ds:  # absent: the quick answer (``get`` pays for a miss)
        return 1
    n = ds.NumberOfFrames
    if n is None or n == "" or n == 0:
        return 1
    if type(n) is not int or n < 1:
        raise InvalidPixelAttributeError(f"Number of Frames {n!r} is invalid")
    return n


def fragment_count(ds: Dataset) -> int:
    """The number of fragments after the Basic Offset Table of the encapsulated Pixel Data."""
    return len(ds.fragments())


def element_bytes(ds: Dataset, tag: int) -> memoryview | None:
    """The value bytes of element ``tag`` of ``ds`` (an offset table), or None when it is absent or
    cannot be read."""
    if tag not in ds:
        return None
    try:
        return ds[tag].raw_value()
    except DicomError:
        return None


def _from_extended_table(ds: Dataset, frags: Fragments, starts: list[int], index: int, nframes: int):
    offsets = element_bytes(ds, _EXTENDED_OFFSET_TABLE)
    lengths = element_bytes(ds, _EXTENDED_OFFSET_TABLE_LENGTHS)
    if offsets is None or lengths is None:
        return None
    if len(offsets) != len(lengths) or len(offsets) % 8 or len(offsets) // 8 != nframes:
        return None
    (offset,) = struct.unpack_from("<Q", offsets, 8 * index)
    (length,) = struct.unpack_from("<Q", lengths, 8 * index)
    k = bisect_left(starts, offset)
    if k == len(starts) or starts[k] != offset or length > frags.length(k):
        return None
    return [frags[k][:length]]


def _from_basic_table(frags: Fragments, starts: list[int], index: int, nframes: int):
    size = frags.offset_table_length
    if size == 0 or size % 4 or size // 4 != nframes:
        return None
    try:
        table = struct.unpack(f"<{nframes}L", frags.offset_table)
    except DicomError:
        return None
    if table[0] != 0:
        return None
    positions = []
    k = 0
    for offset in table:  # increasing, each on a fragment: one forward walk over the fragments
        while k < len(starts) and starts[k] < offset:
            k += 1
        if k == len(starts) or starts[k] != offset or (positions and positions[-1] == k):
            return None
        positions.append(k)
    first = positions[index]
    last = positions[index + 1] if index + 1 < len(positions) else len(frags)
    return [frags[j] for j in range(first, last)]


def _by_markers(frags: Fragments, index: int):
    current = []
    frame = 0
    for j in range(len(frags)):
        current.append(j)
        if _EOI in frags[j][-10:].tobytes():
            if frame == index:
                return [frags[k] for k in current]
            frame += 1
            current = []
    if current and frame == index:  # the data ended without a marker: pydicom returns the rest
        return [frags[k] for k in current]
    raise DicomError(f"the encapsulated Pixel Data holds too few frames for frame {index}")


def frame_fragments(ds: Dataset, index: int) -> list[memoryview]:
    """The fragments of frame ``index`` (from 0), as zero-copy memoryviews on the file's bytes.

    Raises ``IndexError`` for an index outside ``[0, frame_count(ds))`` and
    :class:`~dicomfast.errors.DicomError` when the data does not hold that frame.
    """
    nframes = frame_count(ds)
    index = int(index)
    if not 0 <= index < nframes:
        raise IndexError(f"frame index {index} out of range for {nframes} frames")
    frags = ds.fragments()
    if len(frags) == nframes and _EXTENDED_OFFSET_TABLE not in ds:
        # The common case, a fragment per frame: a consistent Basic Offset Table can only say
        # that too, and an inconsistent one is ignored, so the table need not be read.
        return [frags[index]]
    starts = [frags.position(j) for j in range(len(frags))]
    found = _from_extended_table(ds, frags, starts, index, nframes)
    if found is None:
        found = _from_basic_table(frags, starts, index, nframes)
    if found is None:
        if len(frags) == nframes:
            found = [frags[index]]
        elif nframes == 1:
            found = [frags[j] for j in range(len(frags))]
        else:
            found = _by_markers(frags, index)
    return found


def frame_bytes(ds: Dataset, index: int) -> bytes | memoryview:
    """The encoded bytes of frame ``index``: a zero-copy memoryview when the frame is one
    fragment, else the fragments joined into ``bytes``."""
    fragments = frame_fragments(ds, index)
    if len(fragments) == 1:
        return fragments[0]
    return b"".join(fragments)
