"""Reading: sources (paths, file objects, bytes, mmap, URLs and fsspec files), framing (preamble, meta group, transfer
syntax, deflate), options, and turning a scan's status into the right exception."""

from __future__ import annotations

import mmap as _mmap
import os
import zlib
from typing import Any, Iterable

from . import datadict
from .core import _scan
from .core._dataset import new_dataset
from .dataset import Dataset, FileMetaDataset, Fragments, item_at, register_unpickle
from .defects import Defect, DefectError, defect
from .errors import DicomError, InflateError, InvalidLengthError, NotDicomError, TruncatedError
from .sources import ByteSource, FileSource, is_remote, open_source, source_of
from .tags import to_tag

__all__ = ["dcmread", "read_file_meta", "read_header_source", "read_source",
           "read_fragments", "HEADER_BLOCK"]

# A header read starts with one block of this size and reads more only if the scan needs it.
HEADER_BLOCK = 8192
# Inflating a deflated dataset stops here unless the caller allows more (a deflate bomb
# expands about 1000 times; this bound keeps an untrusted file from taking all memory).
MAX_INFLATED = 2 << 30

_TAG_CHARSET = 0x00080005

_scan.set_sequence_tags(datadict.SQ_TAGS)
FRAME_NO_PREFIX = _scan.FRAMING["NO_PREFIX"]
FRAME_SHORT = _scan.FRAMING["SHORT"]
FRAME_INFLATE = _scan.FRAMING["INFLATE"]
_SCAN_STOPPED = 1  # Tape.status: 0 complete, 1 stopped on purpose, above that a fault


def dcmread(
    src: Any,
    *,
    stop_before_pixels: bool = False,
    specific_tags: Iterable[Any] | None = None,
    force: bool = False,
    mmap: bool = False,
    strict: bool = False,
    storage_options: dict | None = None,
) -> Dataset:
    """Read a DICOM dataset from a path, a binary file object, or a bytes-like object; or, with
    fsspec installed (``dicomfast[remote]``), from a URL (``s3://``, ``gs://``, ``https://``,
    ``file://``, ...), an fsspec file or a :class:`~dicomfast.sources.ByteSource`.

    ``stop_before_pixels`` stops the read at the pixel data. ``specific_tags`` (keywords or
    tags) keeps only those top-level elements (and Specific Character Set) and stops the scan
    once it has passed the last of them; both read only the start of a file from a path.
    ``force`` reads data without the 128-byte preamble and ``DICM`` prefix. ``mmap`` maps a file
    instead of reading it, for files larger than memory or pixel data viewed in place.

    ``strict=False`` (the default) tolerates what pydicom tolerates and records each defect on
    ``ds.defects`` (:mod:`dicomfast.defects`): a file that ends inside a value gives every element,
    the last value cut short as pydicom cuts it. ``strict=True`` raises on the first defect: a
    :class:`~dicomfast.defects.DefectError`, or for truncation ``TruncatedError`` as before.

    ``storage_options`` (a URL only): ``timeout`` and ``retries`` of its requests (as
    :func:`~dicomfast.sources.open_source`'s; every reader that takes URLs takes this dict), and
    fsspec's own options, passed to the filesystem (``{"anon": True}`` for a public S3 bucket).

    Raises a :class:`~dicomfast.errors.DicomError` subclass for data that is not DICOM or is
    damaged; a :class:`~dicomfast.errors.TruncatedError` or ``InvalidLengthError`` carries the
    elements read before the fault as its ``partial`` attribute.
    """
    src = source_of(src, storage_options)
    wanted = None if specific_tags is None else _wanted_tags(specific_tags)
    header_only = stop_before_pixels or wanted is not None
    options = (stop_before_pixels, wanted, force)

    if header_only and type(src) is str and not mmap and "://" not in src:
        return _read_header(src, options, strict)  # the hot path of loaders and indexers
    if isinstance(src, ByteSource) or is_remote(src):
        source = open_source(src)
        try:
            return _read_from(source, options, strict)
        finally:
            if source is not src:
                source.close()
    if isinstance(src, (bytes, bytearray, memoryview)):
        return _read_source(src, options, strict=strict)
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        if mmap:
            with open(path, "rb") as f:
                if os.fstat(f.fileno()).st_size == 0:
                    raise NotDicomError(f"{path}: the file is empty")
                mapped = _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ)
            return _read_source(mapped, options, name=path, strict=strict)
        if header_only:
            return _read_header(path, options, strict)
        data, size = _scan.read_file(path)
        return _read_source(data, options, name=path, strict=strict)
    if hasattr(src, "read"):
        name = getattr(src, "name", None)
        if header_only and _seekable(src):
            begin = src.tell()
            data = src.read(HEADER_BLOCK)
            while True:
                try:
                    return _read_source(data, options, name=name, complete=len(data) < HEADER_BLOCK,
                                        strict=strict)
                except _NeedMore:
                    src.seek(begin)
                    want = max(4 * len(data), 1 << 20)
                    data = src.read(want)
                    if len(data) < want:
                        return _read_source(data, options, name=name, strict=strict)
        return _read_source(src.read(), options, name=name, strict=strict)
    raise TypeError(f"dcmread reads a path, a binary file object or bytes, not {type(src).__name__}")


def read_file_meta(src: Any, *, force: bool = False) -> FileMetaDataset:
    """Only the File Meta Information of a file (reads its first block)."""
    return dcmread(src, specific_tags=[0x00020000], force=force).file_meta


_WANTED_CACHE: dict = {}


def read_pickled(data: bytes, options: tuple, path: tuple[int, ...]) -> Dataset:
    """A dataset read back from its pickle (``Dataset.__reduce__``): ``data`` read again with the
    same ``options``, and the item at ``path`` in it (``()`` for the whole dataset)."""
    return item_at(_read_source(data, options), path)


register_unpickle(read_pickled)


def _wanted_tags(specific_tags: Iterable[Any]) -> tuple:
    """The sorted tags for ``specific_tags``, with Specific Character Set (as pydicom adds it).

    A loader passes the same list for every file: the conversion is cached by its contents.
    """
    key = tuple(specific_tags)
    try:
        return _WANTED_CACHE[key]
    except (KeyError, TypeError):
        pass
    wanted = {to_tag(t) for t in key}
    wanted.add(_TAG_CHARSET)
    result = tuple(sorted(wanted))
    if len(_WANTED_CACHE) > 256:
        _WANTED_CACHE.clear()
    try:
        _WANTED_CACHE[key] = result
    except TypeError:
        pass
    return result


def _read_header(path: str, options: tuple, strict: bool = False) -> Dataset:
    """Read the first block of a file and scan it; read more only if the scan runs out."""
    data, size = _scan.read_file(path, HEADER_BLOCK)
    while True:
        try:
            return _read_source(data, options, name=path, complete=size >= 0, strict=strict)
        except _NeedMore:
            data, size = _scan.read_file(path, max(4 * len(data), 1 << 20))


_BEFORE_PIXELS = (True, None, False)


def read_header_source(source: ByteSource, *, strict: bool = False) -> Dataset:
    """``dcmread(..., stop_before_pixels=True, strict=strict)`` of a :class:`~dicomfast.sources.ByteSource`:
    its first block from offset 0, more only if the scan needs it (two reads at most). For readers
    that go on to read the pixel data from the same source."""
    return _read_from(source, _BEFORE_PIXELS, strict)


def read_source(source: ByteSource, *, stop_before_pixels: bool = False, specific_tags: Iterable[Any] | None = None,
                force: bool = False, strict: bool = False) -> Dataset:
    """``dcmread`` of a :class:`~dicomfast.sources.ByteSource`: a header read as :func:`read_header_source`,
    a full read with one ``read_all``."""
    wanted = None if specific_tags is None else _wanted_tags(specific_tags)
    return _read_from(source, (stop_before_pixels, wanted, force), strict)


def _read_from(source: ByteSource, options: tuple, strict: bool = False) -> Dataset:
    """The one read of a source: a header read is the first block, then (only if the scan ran
    out of bytes) at least 1 MiB, four times the first, from offset 0 again."""
    name = source.name or None
    if not (options[0] or options[1] is not None):
        return _read_source(source.read_all(), options, name=name, strict=strict)
    size = HEADER_BLOCK
    while True:
        data = source.read_at(0, size)
        try:
            return _read_source(data, options, name=name, complete=len(data) < size, strict=strict)
        except _NeedMore:
            size = max(4 * size, 1 << 20)


# Encapsulated Pixel Data's element header (explicit VR little endian, undefined length) and an
# empty Basic Offset Table: what read_fragments puts before a run of fragment items to scan it.
_ENCAPSULATED_HEAD = b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff\xfe\xff\x00\xe0\x00\x00\x00\x00"
_SEQUENCE_DELIMITER = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"


def read_fragments(data: Any, name: str | None = None) -> Fragments:
    """The fragment items in ``data``, a run of encapsulated Pixel Data's items read by offset from a
    source (the items of some frames; to the end of the data, its delimiter and what follows, for the
    last): framed by the same scan as a whole file, as a :class:`Fragments` (``len``, ``[k]``). A
    run that ends inside an item is a :class:`TruncatedError`."""
    buffer = _ENCAPSULATED_HEAD + bytes(data) + _SEQUENCE_DELIMITER
    tape = _scan.scan(buffer, 0, explicit_vr=True, big_endian=False, stop_after=0x7FE00010,
                      wanted=(0x7FE00010,), detect=False)
    dataset = new_dataset(Dataset, tape)
    if tape.status > _SCAN_STOPPED:
        _raise_for(tape, name, True, None)
    return dataset.fragments()


class _NeedMore(Exception):
    """The scan reached the end of a partial read: read more of the file and scan again."""


def _seekable(f: Any) -> bool:
    try:
        return f.seekable()
    except (AttributeError, OSError, ValueError):
        return False


def _read_source(data: Any, options: tuple, name: str | None = None, complete: bool = True,
                 strict: bool = False) -> Dataset:
    stop_before_pixels, wanted, force = options
    framing, prefix_end, meta_tape, tape, begin = _scan.read_part10(
        data, force, stop_before_pixels, wanted)
    if framing == FRAME_SHORT:
        if not complete:
            raise _NeedMore
        framing = FRAME_NO_PREFIX
    if framing == FRAME_NO_PREFIX:
        raise NotDicomError(
            f"{_where(name)}no 'DICM' prefix at byte 128: not a DICOM Part 10 file "
            "(pass force=True to read a dataset without the preamble)"
        )
    preamble = (data,) if prefix_end else None    # sliced when asked for (Dataset.preamble)
    meta = None
    if meta_tape is not None:
        meta = new_dataset(FileMetaDataset, meta_tape)
        if meta_tape.status > _SCAN_STOPPED and not strict and (complete or not meta_tape.needs_more):
            meta_tape.cut_short()
        if meta_tape.status > _SCAN_STOPPED:
            # A fault in the meta group: the partial dataset has no elements, and the meta
            # elements read before the fault.
            partial = Dataset(_scan.scan(b"", 0), 0, 0)
            partial.file_meta = meta
            partial._preamble = preamble
            _raise_for(meta_tape, name, complete, partial)

    if tape is None and framing != FRAME_INFLATE:
        tape = _scan.scan(b"", 0)   # a meta group cut short by the end of the data: no dataset
    end = None
    found: list[Defect] = []
    if framing == FRAME_INFLATE:
        if not complete:
            raise _NeedMore
        end = len(data) if not isinstance(data, memoryview) else data.nbytes
        inflated = _inflate(data, begin, _where(name), found)
        tape = _scan.scan(inflated, 0, explicit_vr=True, big_endian=False,
                          stop_before_pixels=stop_before_pixels,
                          stop_after=None if wanted is None else wanted[-1], wanted=wanted)

    dataset = new_dataset(Dataset, tape)
    dataset.file_meta = meta
    dataset._preamble = preamble
    if tape.status > _SCAN_STOPPED and not strict and (complete or not tape.needs_more):
        tape.cut_short()
    if tape.status > _SCAN_STOPPED:
        _raise_for(tape, name, complete, dataset)
    if tape.needs_more and not complete:
        raise _NeedMore
    if meta_tape is not None and meta_tape.ndefects or tape.ndefects or found:
        _record_defects(dataset, meta_tape, tape, found, name, strict)
    # What pickling needs to read the same dataset again: the bytes the scan used.
    dataset._source = (data, tape.stop if end is None else end, options)
    return dataset


def _where(name: str | None) -> str:
    return f"{name}: " if name else ""


def _raise_for(tape: Any, name: str | None, complete: bool, partial: Dataset | None) -> None:
    error = tape.error
    if error is None:
        return
    if tape.needs_more and not complete:
        raise _NeedMore
    kind, message = error
    where = _where(name)
    if issubclass(kind, (TruncatedError, InvalidLengthError)):
        raise kind(where + message, offset=tape.error_offset, partial=partial)
    raise kind(where + message)


_KINDS = _scan.DEFECT_KINDS


def _record_defects(dataset: Dataset, meta_tape: Any, tape: Any, found: list, name: str | None,
                    strict: bool) -> None:
    """The defects of the scans and the framing, as records on ``dataset`` (or, strict, the first
    one raised)."""
    records: list[Defect] = []
    if meta_tape is not None:
        records += [defect(_KINDS[k], t, o) for k, t, o in meta_tape.defects]
    records += found
    if tape is not None:
        records += [defect(_KINDS[k], t, o) for k, t, o in tape.defects]
    if not records:
        return
    if strict:
        first = records[0]
        raise DefectError(f"{_where(name)}{first} (strict=True)", defect=first)
    dataset.defects.extend(records)


def _inflate(data: Any, pos: int, where: str, found: list | None = None) -> bytes:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(bytes(data[pos:]), MAX_INFLATED)
    except zlib.error as exc:
        raise InflateError(f"{where}the deflated dataset cannot be inflated: {exc}") from None
    if inflater.unconsumed_tail:
        raise InflateError(f"{where}the deflated dataset inflates to more than {MAX_INFLATED} bytes")
    if not inflater.eof and found is not None:
        found.append(defect("deflate_truncated", 0, pos))
    return out
