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

from bisect import bisect_left

import struct

from ..core._scan import FLAG_ENCAPSULATED
from ..errors import DicomError

__all__ = ["frame_count", "frame_fragments", "frame_bytes"]

_PIXEL_DATA = 0x7FE00010
_EXTENDED_OFFSET_TABLE = 0x7FE00001
_EXTENDED_OFFSET_TABLE_LENGTHS = 0x7FE00002
_EOI = b"\xff\xd9"


def _number_of_frames(ds) -> int:
    if ds._find(0x00280008) < 0:  # absent: the quick answer (``get`` pays for a miss)
        return 1
    try:
        n = ds.NumberOfFrames
        n = int(n) if n not in (None, "") else 1
    except (TypeError, ValueError, DicomError):
        n = 1
    return n if n > 0 else 1


def _pixel_data_record(ds):
    tape = ds._tape
    i = tape.find(ds._start, ds._stop, _PIXEL_DATA)
    if i < 0:
        raise DicomError("the dataset has no (7FE0,0010) Pixel Data")
    if not tape.flags(i) & FLAG_ENCAPSULATED:
        raise DicomError("(7FE0,0010) Pixel Data is not encapsulated")
    return tape, i


def _fragments(ds):
    """(tape, [record of each fragment after the Basic Offset Table], BOT record or -1)."""
    tape, i = _pixel_data_record(ds)
    items = tape.children(i + 1, tape.end(i))
    if len(items) < 2:
        raise DicomError("encapsulated Pixel Data holds no fragments after its Basic Offset Table")
    return tape, items[1:], items[0]


def frame_count(ds) -> int:
    """The number of frames of the dataset: (0028,0008) Number of Frames, 1 when absent."""
    return _number_of_frames(ds)


def _from_extended_table(ds, tape, frags, starts, index, nframes):
    e = tape.find(ds._start, ds._stop, _EXTENDED_OFFSET_TABLE)
    n = tape.find(ds._start, ds._stop, _EXTENDED_OFFSET_TABLE_LENGTHS)
    if e < 0 or n < 0:
        return None
    try:
        offsets, lengths = tape.raw(e), tape.raw(n)
    except DicomError:
        return None
    if len(offsets) != len(lengths) or len(offsets) % 8 or len(offsets) // 8 != nframes:
        return None
    (offset,) = struct.unpack_from("<Q", offsets, 8 * index)
    (length,) = struct.unpack_from("<Q", lengths, 8 * index)
    k = bisect_left(starts, offset)
    if k == len(starts) or starts[k] != offset or length > tape.length(frags[k]):
        return None
    return [tape.raw(frags[k])[:length]]


def _from_basic_table(tape, frags, starts, bot, index, nframes):
    size = tape.length(bot)
    if size == 0 or size % 4 or size // 4 != nframes:
        return None
    try:
        table = struct.unpack(f"<{nframes}L", tape.raw(bot))
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
    return [tape.raw(j) for j in frags[first:last]]


def _by_markers(tape, frags, index):
    current = []
    frame = 0
    for j in frags:
        current.append(j)
        if _EOI in tape.raw(j)[-10:].tobytes():
            if frame == index:
                return [tape.raw(k) for k in current]
            frame += 1
            current = []
    if current and frame == index:  # the data ended without a marker: pydicom returns the rest
        return [tape.raw(k) for k in current]
    raise DicomError(f"the encapsulated Pixel Data holds too few frames for frame {index}")


def frame_fragments(ds, index: int) -> list[memoryview]:
    """The fragments of frame ``index`` (from 0), as zero-copy memoryviews on the file's bytes.

    Raises ``IndexError`` for an index outside ``[0, frame_count(ds))`` and
    :class:`~dicomfast.errors.DicomError` when the data does not hold that frame.
    """
    nframes = _number_of_frames(ds)
    index = int(index)
    if not 0 <= index < nframes:
        raise IndexError(f"frame index {index} out of range for {nframes} frames")
    tape, frags, bot = _fragments(ds)
    if len(frags) == nframes and tape.find(ds._start, ds._stop, _EXTENDED_OFFSET_TABLE) < 0:
        # The common case, a fragment per frame: a consistent Basic Offset Table can only say
        # that too, and an inconsistent one is ignored, so the table need not be read.
        return [tape.raw(frags[index])]
    base = tape.start(frags[0])
    starts = [tape.start(j) - base for j in frags]
    found = _from_extended_table(ds, tape, frags, starts, index, nframes)
    if found is None:
        found = _from_basic_table(tape, frags, starts, bot, index, nframes)
    if found is None:
        if len(frags) == nframes:
            found = [tape.raw(frags[index])]
        elif nframes == 1:
            found = [tape.raw(j) for j in frags]
        else:
            found = _by_markers(tape, frags, index)
    return found


def frame_bytes(ds, index: int) -> bytes | memoryview:
    """The encoded bytes of frame ``index``: a zero-copy memoryview when the frame is one
    fragment, else the fragments joined into ``bytes``."""
    fragments = frame_fragments(ds, index)
    if len(fragments) == 1:
        return fragments[0]
    return b"".join(fragments)
