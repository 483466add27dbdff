"""Native pixel data read straight from a file into an array, without reading the file whole.

:func:`read_stored` reads a file's header (the first block, more only if the scan needs it),
finds the native Pixel Data element where the header read stopped, and reads the pixel bytes of
all frames, or of one, with one GIL-free ``pread`` loop into a reused per-thread buffer (or a
caller's array): one open, two reads, no copy of the file's bytes and no scan of the pixel data.
It is the reading half of :func:`dicomfast.read_pixels` and of the volume and batch readers for a
path; what it cannot read (encapsulated, deflated, 1-bit data, 8-bit big-endian OW, no pixel data
where the header ends) goes through ``dcmread`` and ``pixel_array`` instead.

Both read through a :class:`~dicomfast.sources.ByteSource`: a path is a ``FileSource`` (``pread``),
a URL or an fsspec file an ``FsspecSource`` (one ranged request per read). :class:`FrameReader`
reads chosen frames of a source: the header read, then one read per run of neighbouring frames,
located by arithmetic for native data and by the Extended or Basic Offset Table for encapsulated
data (a file without a usable table is read whole: its fragments can only be found by walking them).
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

import struct

from ..core._scan import pread_into
from ..dataset import Dataset, element_after_header
from ..errors import DicomError, FrameIndexError, TruncatedError
from ..reader import read_fragments, read_header_source, read_source
from ..sources import ByteSource, FileSource, Range, coalesce, open_source
from .codecs import FrameLayout, decode_bytes, decode_data
from .encapsulated import element_bytes, frame_count
from .module import NATIVE_SYNTAXES, PixelInfo, PixelModule, check, check_frame, pixel_module
from .native import decode, finish, flat_native

__all__ = ["read_stored", "Stored", "PLAIN_SYNTAXES", "FrameReader", "FrameRange", "encapsulated_frame_ranges",
           "FrameIndex", "frame_index", "walk_fragments", "read_frame_ranges", "decode_frame_bytes"]

#: Transfer syntaxes whose Pixel Data can be read from the file as it is stored.
PLAIN_SYNTAXES = frozenset(("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"))
_TAG_PIXEL_DATA = 0x7FE00010
# Per-thread buffers for stored values that are transformed and then dropped: reusing them saves
# the page faults of a fresh allocation per file (about a third of the read time of a CT slice).
_SCRATCH = threading.local()
_SCRATCH_MAX = 256 << 20


class Stored(NamedTuple):
    """What :func:`read_stored` read: the ``header`` (the dataset up to its pixel data), its
    :class:`PixelModule` ``module`` (with the transform values), the checked ``info``, the checked
    ``frame`` (None for all), and the ``array`` of stored values as ``pixel_array`` shapes them,
    which is the caller's ``into`` array, or else a buffer (``scratch``) that the next read in
    this thread reuses."""

    header: Dataset
    module: PixelModule
    info: PixelInfo
    frame: int | None
    array: np.ndarray
    scratch: bool


def _scratch(nbytes: int) -> np.ndarray:
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.size < nbytes:
        buf = np.empty(max(nbytes, 1 << 16), np.uint8)
        if nbytes <= _SCRATCH_MAX:
            _SCRATCH.buf = buf
    return buf[:nbytes]


def _read_into(source: ByteSource | int, target: np.ndarray, offset: int, path: str) -> None:
    """Read ``target.nbytes`` from ``offset`` of a source (or a file descriptor) into ``target``."""
    if isinstance(source, (FileSource, int)):
        got = pread_into(source if isinstance(source, int) else source.fd, target, offset)
    else:
        data = source.read_at(offset, target.nbytes)
        got = len(data)
        target.reshape(-1).view(np.uint8)[:got] = np.frombuffer(data, np.uint8)
    if got < target.nbytes:
        raise TruncatedError(
            f"{path}: the file ends {target.nbytes - got} bytes before the end of its pixel data",
            offset=offset + got)


def _stored(fd: ByteSource, path: str, info: PixelInfo, value: int, frame: int | None, target: np.ndarray) -> np.ndarray:
    """Stored values of all frames (or one) as a flat array of ``info.dtype``, read from ``fd``
    into ``target`` (a flat uint8 array of the right size)."""
    frame_bytes = info.frame_bits // 8
    first = 0 if frame is None else frame
    dtype = info.dtype.newbyteorder(">") if info.big_endian and info.dtype.itemsize > 1 else info.dtype
    flat = target.view(dtype)
    _read_into(fd, flat, value + first * frame_bytes, path)
    if dtype != info.dtype:
        flat = flat.byteswap(inplace=True).view(info.dtype)
    return flat


def _plain_layout(info: PixelInfo) -> bool:
    """Stored bytes are the array as returned: no colour conversion, no bit correction, no transpose."""
    return (info.samples_per_pixel == 1 and info.bits_stored == info.bits_allocated
            and info.photometric_interpretation != "YBR_FULL_422")


def read_stored(path: str | ByteSource, frame: int | None = None, into: np.ndarray | None = None,
                check_info: Callable[[PixelInfo], Any] | None = None, strict: bool = False) -> Stored | None:
    """The stored values of the native pixel data of the file at ``path`` (a path, or a
    :class:`~dicomfast.sources.ByteSource`) (all frames, or frame
    ``frame``) read straight from the file, as a :class:`Stored`; None when the file needs the
    general path (``dcmread`` + ``pixel_array``).

    The array holds what ``pixel_array`` gives (shape, dtype, corrections, colour). ``into``, when
    given and it fits (a C-contiguous writeable array of the result's shape and dtype, for data
    whose stored bytes are the result: one sample, nothing to correct), receives the bytes and is
    the array returned. ``check_info(info)``, when given, runs the caller's own checks of the
    PixelInfo (which may raise) before the frame is checked and anything is read. ``strict``: the
    header is read with ``strict=True`` (:mod:`dicomfast.defects`).
    """
    own = not isinstance(path, ByteSource)
    fd = open_source(path) if own else path
    path = fd.name
    try:
        ds = read_header_source(fd, strict=strict)
        m = pixel_module(ds)
        syntax = m.transfer_syntax_value  # a value that did not decode: the general path reports it
        if type(syntax) is not str or syntax not in PLAIN_SYNTAXES:
            return None
        found = element_after_header(ds, fd.read_at)
        if found is None or found.tag != _TAG_PIXEL_DATA:
            return None  # no pixel data where the header ends, or encapsulated
        info = check(m, "PixelData", -1, False, found.length, found.vr)
        if info.bits_allocated == 1 or info.swap_ow or info.defects:
            # bit unpacking and OW byte pairs; and defects, recorded with their offsets: the general path
            return None
        if check_info is not None:
            check_info(info)
        if frame is not None:
            frame = check_frame(info, frame)
        shape = info.frame_shape if frame is not None else info.shape
        plain = _plain_layout(info)
        if (into is not None and plain and into.dtype == info.dtype and into.shape == shape
                and into.flags.c_contiguous and into.flags.writeable):
            _stored(fd, path, info, found.value_offset, frame, into.reshape(-1).view(np.uint8))
            return Stored(ds, m, info, frame, into, False)
        count = 1 if frame is not None else info.number_of_frames
        flat = _stored(fd, path, info, found.value_offset, frame, _scratch(count * (info.frame_bits // 8)))
    finally:
        if own:
            fd.close()
    if plain:
        return Stored(ds, m, info, frame, flat.reshape(shape), True)  # nothing to correct or convert
    arr = finish(info, flat, None if frame is not None else info.number_of_frames, True)
    return Stored(ds, m, info, frame, arr, np.may_share_memory(arr, flat))


# -- chosen frames of a source, by offset -----------------------------------------------------------

_PIXEL_KEYWORDS = {0x7FE00010: "PixelData", 0x7FE00008: "FloatPixelData", 0x7FE00009: "DoubleFloatPixelData"}
_ITEM = 0xE000FFFE  # (FFFE,E000) read as one little-endian uint32
_UNDEFINED = 0xFFFFFFFF
_EXTENDED_OFFSET_TABLE = 0x7FE00001
_EXTENDED_OFFSET_TABLE_LENGTHS = 0x7FE00002
_SEQUENCE_DELIMITER = 0xE0DDFFFE


class FrameRange(NamedTuple):
    """Where one frame's bytes are in its file: ``offset`` and ``length`` (``length`` -1: to the end
    of the file, the last frame of a Basic Offset Table), and whether they are fragment ``items``
    (a Basic Offset Table's range: the items of the frame's fragments) or the frame's bytes."""

    offset: int
    length: int
    items: bool


def encapsulated_frame_ranges(ds: Dataset, value_offset: int, read_at: Callable[[int, int], bytes],
                              nframes: int) -> list[FrameRange] | None:
    """Where every frame of encapsulated Pixel Data is, from its offset tables alone: ``ds`` is the
    header (up to the pixel data), ``value_offset`` where the pixel data's items begin, ``read_at``
    reads the Basic Offset Table. The Extended Offset Table gives each frame's bytes; a consistent
    Basic Offset Table (one entry per frame, from 0, increasing) the items of each frame's
    fragments. None without a usable table (then only a walk of all the fragments finds them)."""
    head = read_at(value_offset, 8)
    if len(head) < 8:
        return None
    tag, size = struct.unpack("<LL", head)
    if tag != _ITEM or size == _UNDEFINED:
        return None
    first = value_offset + 8 + size  # the first fragment's item: where the tables count from
    offsets = element_bytes(ds, _EXTENDED_OFFSET_TABLE)
    lengths = element_bytes(ds, _EXTENDED_OFFSET_TABLE_LENGTHS)
    if (offsets is not None and lengths is not None and len(offsets) == len(lengths) == 8 * nframes):
        starts = struct.unpack(f"<{nframes}Q", offsets)
        sizes = struct.unpack(f"<{nframes}Q", lengths)
        # the frame's bytes follow its fragment's item header (8 bytes), read with them and checked
        return [FrameRange(first + o, 8 + n, False) for o, n in zip(starts, sizes)]
    if size == 0 or size != 4 * nframes:
        return None
    table = read_at(value_offset + 8, size)
    if len(table) < size:
        return None
    starts = struct.unpack(f"<{nframes}L", table)
    if starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:])):
        return None
    ends = [first + o for o in starts[1:]]
    return [FrameRange(first + o, (e - first - o) if i < nframes - 1 else -1, True)
            for i, (o, e) in enumerate(zip(starts, ends + [0]))]


def _frame_from_items(data: bytes, where: str) -> bytes | memoryview:
    """A frame's bytes from the items of its fragments (a Basic Offset Table's range)."""
    frags = read_fragments(data, where)
    if len(frags) == 1:
        return frags[0]
    return b"".join(frags[j] for j in range(len(frags)))


def _frame_from_item(data: bytes, length: int, where: str) -> memoryview:
    """A frame's bytes after its fragment's item header (an Extended Offset Table's range), checked."""
    if len(data) < 8:
        raise TruncatedError(f"{where}: the file ends inside the item of a frame", offset=0)
    tag, size = struct.unpack_from("<LL", data)
    if tag != _ITEM or size < length - 8 or len(data) < length:
        raise DicomError(f"{where}: the Extended Offset Table does not point at a fragment that holds its frame")
    return memoryview(data)[8:length]


class FrameReader:
    """Chosen frames of one source (a path, a URL, an fsspec file or a ByteSource), read by offset.

    Opening reads the header (one read, two if it is longer than the first block) and finds the
    pixel data where the header ends. :meth:`stored` then reads each run of neighbouring frames
    with one read (the runs together: concurrent requests where the source can) and returns the
    frames as ``pixel_array(src, frame=k)`` gives them. ``header``, ``module`` and ``info`` are the
    header read, its :class:`PixelModule` and the checked :class:`PixelInfo`. Data that cannot be
    read by frame (1-bit or OW-swapped native data, encapsulated data without an offset table,
    pixel data not where the header ends) is read whole, once, on the first :meth:`stored`.
    """

    def __init__(self, src: Any, ranges: Sequence[FrameRange] | None = None, *, strict: bool = False) -> None:
        self.strict = strict
        self.source = open_source(src)
        self._own = self.source is not src
        self._whole: Dataset | None = None
        self.ranges: list[FrameRange] | None = None
        self.native_offset = -1
        ds = self.header = read_header_source(self.source, strict=strict)
        m = self.module = pixel_module(ds)
        syntax = m.transfer_syntax_value
        found = None
        if type(syntax) is str and (syntax in PLAIN_SYNTAXES or syntax not in NATIVE_SYNTAXES):
            # (a deflated dataset's offsets are in its inflated bytes: it is read whole)
            found = element_after_header(ds, self.source.read_at, undefined=True)
        keyword = _PIXEL_KEYWORDS.get(found.tag) if found is not None else None
        if keyword is None:
            self._read_whole()
            return
        encapsulated = found.length == _UNDEFINED
        self.info = check(m, keyword, -1, encapsulated, 0 if encapsulated else found.length, found.vr)
        info = self.info
        if info.defects:  # recorded with their offsets by the read of the whole dataset
            self._read_whole()
            return
        if not encapsulated:
            if info.bits_allocated != 1 and not info.swap_ow:
                self.native_offset = found.value_offset
            return
        if ranges is None:
            ranges = encapsulated_frame_ranges(ds, found.value_offset, self.source.read_at, frame_count(ds))
        self.ranges = list(ranges) if ranges is not None else None
        if self.ranges is None or len(self.ranges) < info.number_of_frames:
            self.ranges = None

    def _read_whole(self) -> Dataset:
        if self._whole is None:
            self._whole = read_source(self.source, strict=self.strict)
            from .module import module_info

            self.module, self.info = module_info(self._whole, strict=self.strict)
            self.header = self._whole
        return self._whole

    def close(self) -> None:
        if self._own:
            self.source.close()

    def __enter__(self) -> "FrameReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def stored(self, frames: Sequence[int], as_rgb: bool = True) -> list[np.ndarray]:
        """Frames ``frames`` (each checked), as ``pixel_array(src, frame=k)`` gives them."""
        info = self.info
        frames = [check_frame(info, k) for k in frames]
        where = self.source.name
        if self._whole is not None or (self.native_offset < 0 and self.ranges is None):
            ds = self._read_whole()
            return [decode(ds, self.info, k, as_rgb) for k in frames]
        if self.native_offset >= 0:
            size = info.frame_bits // 8
            wanted = [Range(self.native_offset + k * size, size) for k in frames]
        else:
            wanted = []
            for k in frames:
                r = self.ranges[k]
                wanted.append(Range(r.offset, r.length))
        pieces = _read_runs(self.source, wanted)
        if self.native_offset >= 0:
            return [_native_frame(info, piece, k, where, as_rgb) for k, piece in zip(frames, pieces)]
        return [_encapsulated_frame(info, self.ranges[k], piece, where, as_rgb, None, self.header)
                for k, piece in zip(frames, pieces)]


def _read_runs(source: ByteSource, wanted: Sequence[Range]) -> list[Any]:
    """The bytes of each range of ``wanted`` (length -1: to the end of the source), reading each run
    of neighbouring ranges with one read (the runs together: concurrent requests where the source
    can; an open-ended range on its own)."""
    bounded = [i for i, r in enumerate(wanted) if r.length >= 0]
    runs = coalesce([wanted[i] for i in bounded])
    got = source.read_ranges([run for run, _ in runs]) if runs else []
    pieces: list[Any] = [None] * len(wanted)
    for (run, members), data in zip(runs, got):
        view = memoryview(data)
        for j in members:
            i = bounded[j]
            begin = wanted[i].offset - run.offset
            pieces[i] = view[begin:begin + wanted[i].length]
    for i, r in enumerate(wanted):
        if r.length < 0:
            pieces[i] = source.read_from(r.offset)
    return pieces


def _native_frame(info: PixelInfo, piece: Any, k: int, where: str, as_rgb: bool) -> np.ndarray:
    if len(piece) < info.frame_bits // 8:
        raise TruncatedError(f"{where}: the file ends before the end of frame {k}", offset=0)
    return finish(info, flat_native(info, piece, 0, 1), None, as_rgb)


def _encapsulated_frame(info: PixelInfo, r: FrameRange, piece: Any, where: str, as_rgb: bool,
                        decoder: str | None, header: Dataset | None = None) -> np.ndarray:
    encoded = _frame_from_items(piece, where) if r.items else _frame_from_item(piece, r.length, where)
    if header is not None:
        arr = decode_bytes(header, encoded, decoder=decoder)
    else:
        arr = decode_data(info.transfer_syntax, FrameLayout.from_info(info), encoded, decoder=decoder).array
    return finish(info, np.ascontiguousarray(arr).reshape(-1), None, as_rgb)


# -- the frame index: where every frame is, from a header read ---------------------------------------


class FrameIndex(NamedTuple):
    """Where the frames of a file are, found from its header read (:func:`frame_index`).

    ``keyword`` and ``vr``: the pixel data element; ``pixel_data_offset``: where its value starts
    (encapsulated: the Basic Offset Table's item); ``pixel_data_length``: its value length (native),
    or, encapsulated, the bytes from the value's start to the end of its sequence delimiter when the
    fragments were walked, None when the offset tables located the frames (the end of the last
    frame is where the data's delimiter is, which only a read of that frame finds). ``table``: how
    the frames were found: ``"native"`` (arithmetic; each range the frame's bytes),
    ``"extended"`` (the Extended Offset Table; each range the frame's fragment item: 8 bytes of item
    header, then the frame), ``"basic"`` (the Basic Offset Table) or ``"fragments"`` (a walk of the
    fragment items' headers; each range the items of the frame's fragments). ``offsets`` and
    ``lengths``: each frame's byte range (a length None: to the end of the file, the last frame of a
    Basic Offset Table). ``info``: the checked :class:`PixelInfo`."""

    keyword: str
    vr: str
    pixel_data_offset: int
    pixel_data_length: int | None
    table: str
    offsets: list[int]
    lengths: list[int | None]
    info: PixelInfo


def walk_fragments(read_at: Callable[[int, int], bytes], value_offset: int, where: str = "") -> tuple[list[tuple[int, int]], int]:
    """The fragment items of encapsulated pixel data whose value starts at ``value_offset``, found
    by reading each item's 8-byte header (one read each): ``([(item offset, value length), ...],
    end)``, the Basic Offset Table's item left out, ``end`` the offset just past the sequence
    delimiter. A :class:`TruncatedError` when the data ends first, a :class:`FrameIndexError` for
    something other than an item."""
    items: list[tuple[int, int]] = []
    pos = value_offset
    first = True
    while True:
        head = read_at(pos, 8)
        if len(head) < 8:
            raise TruncatedError(f"{where}: the encapsulated pixel data ends without its sequence delimiter",
                                 offset=pos)
        tag, size = struct.unpack("<LL", head)
        if tag == _SEQUENCE_DELIMITER:
            return items, pos + 8
        if tag != _ITEM or size == _UNDEFINED:
            raise FrameIndexError(f"{where}: offset {pos} of the encapsulated pixel data holds no item")
        if not first:
            items.append((pos, size))
        first = False
        pos += 8 + size


def frame_index(ds: Dataset, source: ByteSource) -> FrameIndex:
    """Where every frame of ``source`` is, from its header ``ds`` (``read_header_source``: the
    dataset up to its pixel data): by arithmetic for native data, by the Extended or Basic Offset
    Table when it is consistent with the frames, else by walking the fragment items' headers (one
    small read each; each frame must then be one fragment, or the only frame all of them: which
    fragments make which frame is otherwise known only to the codestreams). A
    :class:`FrameIndexError` says why the frames cannot be located (no pixel data where the header
    ends, deflated data, 1-bit frames that do not start on a byte); the pixel checks' errors
    (:func:`~dicomfast.pixels.module.check`) propagate."""
    where = source.name
    m = pixel_module(ds)
    syntax = m.transfer_syntax_value
    if type(syntax) is not str:
        raise FrameIndexError(f"{where}: no transfer syntax in the file meta")
    if syntax in NATIVE_SYNTAXES and syntax not in PLAIN_SYNTAXES:
        raise FrameIndexError(f"{where}: deflated: the frames' offsets are in the inflated bytes")
    found = element_after_header(ds, source.read_at, undefined=True)
    keyword = _PIXEL_KEYWORDS.get(found.tag) if found is not None else None
    if keyword is None:
        raise FrameIndexError(f"{where}: no pixel data where the header ends")
    encapsulated = found.length == _UNDEFINED
    info = check(m, keyword, -1, encapsulated, 0 if encapsulated else found.length, found.vr)
    start = found.value_offset
    if not encapsulated:
        size, rest = divmod(info.frame_bits, 8)
        if rest or (info.swap_ow and size % 2):
            raise FrameIndexError(f"{where}: the frames do not start on a byte (or an OW byte pair)")
        n = info.number_of_frames
        return FrameIndex(keyword, found.vr, start, found.length, "native",
                          [start + k * size for k in range(n)], [size] * n, info)
    nframes = frame_count(ds)
    ranges = encapsulated_frame_ranges(ds, start, source.read_at, nframes)
    if ranges is not None:
        table = "basic" if ranges[0].items else "extended"
        return FrameIndex(keyword, found.vr, start, None, table, [r.offset for r in ranges],
                          [r.length if r.length >= 0 else None for r in ranges], info)
    items, end = walk_fragments(source.read_at, start, where)
    if len(items) == nframes:
        offsets, lengths = [o for o, _ in items], [8 + n for _, n in items]
    elif nframes == 1 and items:
        offsets, lengths = [items[0][0]], [end - 8 - items[0][0]]
    else:
        raise FrameIndexError(f"{where}: {len(items)} fragments for {nframes} frames and no offset table: "
                              "which fragments make which frame is known only to the codestreams")
    return FrameIndex(keyword, found.vr, start, end - start, "fragments", offsets, lengths, info)


def read_frame_ranges(source: Any, info: PixelInfo, table: str, offsets: Sequence[int],
                      lengths: Sequence[int | None], frames: Sequence[int], *, as_rgb: bool = True,
                      decoder: str | None = None) -> list[np.ndarray]:
    """Frames ``frames`` of ``source`` (a path, URL, fsspec file or ByteSource) whose byte ranges
    ``offsets`` and ``lengths`` and ``table`` are a :class:`FrameIndex`'s and whose module is
    ``info``: one read per run of neighbouring frames (concurrent where the source can), no header
    read; decoded through the codec registry and finished as ``pixel_array(src, frame=k)``."""
    frames = [check_frame(info, k) for k in frames]
    if len(offsets) != info.number_of_frames or len(lengths) != len(offsets):
        raise FrameIndexError(f"the frame index holds {len(offsets)} frame ranges for "
                              f"{info.number_of_frames} frames")
    wanted = [Range(offsets[k], -1 if lengths[k] is None else lengths[k]) for k in frames]
    src = open_source(source)
    try:
        where = src.name
        pieces = _read_runs(src, wanted)
    finally:
        if src is not source:
            src.close()
    if table == "native":
        return [_native_frame(info, piece, k, where, as_rgb) for k, piece in zip(frames, pieces)]
    items = table in ("basic", "fragments")
    return [_encapsulated_frame(info, FrameRange(r.offset, r.length, items), piece, where, as_rgb, decoder)
            for r, piece in zip(wanted, pieces)]


def decode_frame_bytes(info: PixelInfo, data: Any, *, as_rgb: bool = True, decoder: str | None = None,
                       where: str = "") -> np.ndarray:
    """One frame's bytes ``data`` (native: the stored values; encapsulated: the codestream), read
    elsewhere (a DICOMweb frame), as ``pixel_array(src, frame=k)`` gives it, for the module ``info``."""
    if not info.encapsulated:
        return _native_frame(info, memoryview(data), 0, where, as_rgb)
    arr = decode_data(info.transfer_syntax, FrameLayout.from_info(info), data, decoder=decoder).array
    return finish(info, np.ascontiguousarray(arr).reshape(-1), None, as_rgb)
