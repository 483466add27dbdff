"""Writing: datasets to Part 10 files, edits over the element table.

A dataset read from bytes is written by copying the byte spans of its untouched elements as they
are and encoding only what was edited (:func:`dicomfast.dataset.layout` gives both, in tag
order): writing an unchanged file is a memory copy, and it comes out byte for byte. A change of
transfer syntax re-encodes what must change: the element headers (implicit or explicit VR), the
byte order of binary values (by VR), deflate. Encapsulated pixel data is written as it is
(fragments, Basic and Extended Offset Tables kept); changing the compression of pixel data is a
transcode (``Dataset.compress`` / ``decompress``), not a write.

``dcmwrite(dst, ds, *, transfer_syntax=None, enforce_file_format=False)`` follows pydicom 3's
meaning of the names: by default the dataset is written as it was read (its preamble, its meta
group and its elements as they are); ``enforce_file_format=True`` writes a conformant Part 10
file: a preamble, ``DICM``, a complete File Meta Information (group length, version, Media Storage
SOP Class and Instance from the dataset, the transfer syntax, dicomfast's Implementation Class UID
and Version Name). A path is written atomically (a temporary file in the same directory, renamed
into place); nothing is left behind by a write that fails.
"""
from __future__ import annotations

import functools
import itertools
import os
import struct
import zlib
from typing import Any, BinaryIO, NamedTuple

from . import uid as _uid
from .core.encode import encode_value_cached
from .dataset import Dataset, DataElement, Encapsulated, FileMetaDataset, Sequence, layout, register_writer
from .errors import DicomError, InvalidValueError

__all__ = ["dcmwrite", "IMPLEMENTATION_CLASS_UID", "IMPLEMENTATION_VERSION_NAME"]

#: dicomfast's Implementation Class UID and Version Name, written by ``enforce_file_format``.
IMPLEMENTATION_CLASS_UID = _uid.IMPLEMENTATION_CLASS_UID
IMPLEMENTATION_VERSION_NAME = "DICOMFAST_010"

_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_EXPLICIT_BE = "1.2.840.10008.1.2.2"
_DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95")  # deflated explicit LE; JPIP deflate
_NATIVE = frozenset((_IMPLICIT_LE, _EXPLICIT_LE, _EXPLICIT_BE, "1.2.840.10008.1.2.1.99"))
# VRs written with a 4-byte length (PS3.5 7.1.2)
_LONG_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"))
# the unit of byte swapping per VR (values of other VRs are bytes or text)
_SWAP = {"US": 2, "SS": 2, "OW": 2, "AT": 2, "UL": 4, "SL": 4, "FL": 4, "OF": 4, "OL": 4,
         "FD": 8, "OD": 8, "SV": 8, "UV": 8, "OV": 8}
_ITEM, _ITEM_DELIMITER, _SEQUENCE_DELIMITER = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF


class Encoding(NamedTuple):
    """How a dataset's elements are encoded."""

    explicit_vr: bool
    big_endian: bool
    deflated: bool = False


def encoding_of(transfer_syntax: str) -> Encoding:
    """The encoding of a transfer syntax's dataset: implicit VR LE, explicit VR BE, deflated
    explicit VR LE, or explicit VR LE (every encapsulated syntax)."""
    if transfer_syntax == _IMPLICIT_LE:
        return Encoding(False, False)
    if transfer_syntax == _EXPLICIT_BE:
        return Encoding(True, True)
    if transfer_syntax in _DEFLATED:
        return Encoding(True, False, True)
    return Encoding(True, False)


# -- element headers ------------------------------------------------------------------------------

def _tag_bytes(tag: int, big: bool) -> bytes:
    return struct.pack(">HH" if big else "<HH", tag >> 16, tag & 0xFFFF)


@functools.lru_cache(maxsize=4096)  # the same headers again in every file of a series (edits, items)
def _header(tag: int, vr: str, length: int, enc: Encoding) -> bytes:
    big = enc.big_endian
    if not enc.explicit_vr:
        return struct.pack(">HHL" if big else "<HHL", tag >> 16, tag & 0xFFFF, length)
    if vr in _LONG_VRS:
        return struct.pack(">HH2s2xL" if big else "<HH2s2xL", tag >> 16, tag & 0xFFFF, vr.encode(), length)
    if length > 0xFFFF:
        raise InvalidValueError(
            f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {vr}: a value of {length} bytes does not fit the 2-byte "
            "length of explicit VR (write it in implicit VR, or as UN)")
    return struct.pack(">HH2sH" if big else "<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), length)


def _item_header(tag: int, length: int, big: bool) -> bytes:
    return struct.pack(">HHL" if big else "<HHL", tag >> 16, tag & 0xFFFF, length)


def _swapped(raw: Any, vr: str, unit: int | None = None) -> bytes:
    """``raw`` with each value of ``vr`` (or of ``unit`` bytes) in the other byte order."""
    unit = unit or _SWAP.get(vr)
    if unit is None or not len(raw):
        return bytes(raw)
    if len(raw) % unit:
        raise InvalidValueError(f"a {vr} value of {len(raw)} bytes is not a whole number of {unit}-byte values")
    import array

    arr = array.array({2: "H", 4: "L" if array.array("L").itemsize == 4 else "I", 8: "Q"}[unit])
    arr.frombytes(bytes(raw))
    arr.byteswap()
    return arr.tobytes()


# -- datasets -------------------------------------------------------------------------------------

def _encodings(ds: Dataset) -> Any:
    return ds._encodings_now()


def _write_dataset(ds: Dataset, enc: Encoding, out: list) -> None:
    """Append the encoded elements of ``ds`` to ``out`` (bytes and memoryviews)."""
    explicit, big = not ds.is_implicit_VR, not ds.is_little_endian
    same = explicit == enc.explicit_vr and big == enc.big_endian
    if not same or (ds._edits and _has_group_lengths(ds)):
        # every element on its own: headers change with the encoding, and group lengths with edits
        lay = layout(ds, each=True)
        _write_with_group_lengths(ds, lay, enc, same, out)
        return
    lay = layout(ds)
    buffer = lay.buffer
    encodings = _encodings(ds) if ds._edits else None  # one character set for all the edits
    for entry in lay.entries:
        run = entry.run
        if run is not None:
            out.append(buffer[run[0]:run[1]])
        else:
            _write_entry(ds, entry, lay, enc, same, out, encodings)


def _has_group_lengths(ds: Dataset) -> bool:
    if ds.has_group_lengths():
        return True
    for tag in ds._edits or ():  # a Group Length set or deleted (a plain loop: the cheapest here)
        if not tag & 0xFFFF and tag >> 16 not in (0x0000, 0x0002):
            return True
    return False


def _write_entry(ds: Dataset, entry: Any, lay: Any, enc: Encoding, same: bool, out: list, encodings: Any) -> None:
    record = entry.record
    if entry.run is not None:
        out.append(lay.buffer[entry.run[0]:entry.run[1]])
    elif record is None:
        _write_edit(ds, entry.element, enc, out, encodings)
    elif same and not _modified(ds, record):
        out.append(lay.buffer[record.start:record.end])
    else:
        _write_record(ds, record, lay.buffer, lay, enc, out)


def _write_with_group_lengths(ds: Dataset, lay: Any, enc: Encoding, same: bool, out: list) -> None:
    """:func:`_write_dataset` element by element, each Group Length (gggg,0000) set to the length
    of its group as written (retired outside groups 0000 and 0002, but kept true where present)."""
    pieces: list[tuple[int, list]] = []
    encodings = _encodings(ds) if ds._edits else None
    for entry in lay.entries:
        chunks: list = []
        _write_entry(ds, entry, lay, enc, same, chunks, encodings)
        pieces.append((entry.tag, chunks))
    sizes: dict[int, int] = {}
    for tag, chunks in pieces:
        if tag & 0xFFFF:
            sizes[tag >> 16] = sizes.get(tag >> 16, 0) + sum(len(c) for c in chunks)
    for tag, chunks in pieces:
        group = tag >> 16
        if not tag & 0xFFFF and group not in (0x0000, 0x0002):
            value = struct.pack(">L" if enc.big_endian else "<L", sizes.get(group, 0))
            out.append(_header(tag, "UL", 4, enc))
            out.append(value)
        else:
            out.extend(chunks)


def _modified(ds: Dataset, record: Any) -> bool:
    if not record.sequence:
        return False
    value = ds._cache.get(record.tag)
    return type(value) is Sequence and value.is_modified()


def _write_record(ds: Dataset, record: Any, buffer: memoryview, lay: Any, enc: Encoding, out: list) -> None:
    """An element as read, in the target encoding."""
    tag, vr = record.tag, record.vr
    if record.sequence:
        _write_sequence(tag, ds._value(tag, record.index, "SQ"), enc, out)
        return
    if record.encapsulated or record.undefined:
        if record.encapsulated and not enc.explicit_vr:
            raise DicomError("encapsulated (compressed) pixel data cannot be written in implicit VR: "
                             "decompress it first, or write it in its own transfer syntax")
        if lay.big_endian != enc.big_endian:
            raise DicomError(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) has an undefined length (encapsulated "
                             "pixel data) and cannot change byte order: decompress it first")
        out.append(_header(tag, "OB" if record.encapsulated and enc.explicit_vr else vr, _UNDEFINED, enc))
        out.append(buffer[record.value_offset:record.end])  # the items and the delimiter, as they are
        return
    raw = buffer[record.value_offset:record.value_offset + record.length]
    if lay.big_endian != enc.big_endian:
        raw = _swapped(raw, vr, _pixel_unit(ds, tag, vr))
    out.append(_header(tag, _written_vr(vr, len(raw), enc), len(raw), enc))
    out.append(raw)


def _pixel_unit(ds: Dataset, tag: int, vr: str) -> int | None:
    """The swap unit of Pixel Data written as OW with 32 or 64 bits per sample: the sample, as
    readers take big endian pixel data (pydicom's and ours), not the 16-bit word."""
    if tag == 0x7FE00010 and vr == "OW":
        bits = ds.get("BitsAllocated")
        if bits in (32, 64):
            return bits // 8
    return None


def _written_vr(vr: str, length: int, enc: Encoding) -> str:
    if enc.explicit_vr and length > 0xFFFF and vr not in _LONG_VRS:
        return "UN"  # too long for its VR's 2-byte length: UN, as the standard allows
    return vr


def _write_edit(ds: Dataset, element: DataElement, enc: Encoding, out: list, encodings: Any) -> None:
    tag, vr = int(element.tag), element.VR
    value = element.value
    if isinstance(value, Encapsulated):
        if not enc.explicit_vr or enc.big_endian:
            raise DicomError("encapsulated pixel data is written in explicit VR little endian only")
        fragments = value.fragments()
        out.append(_header(tag, "OB", _UNDEFINED, enc))
        out.append(_item_header(_ITEM, fragments.offset_table_length, False))
        out.append(bytes(fragments.offset_table))
        for k in range(len(fragments)):
            out.append(_item_header(_ITEM, fragments.length(k), False))
            out.append(fragments[k])
        out.append(_item_header(_SEQUENCE_DELIMITER, 0, False))
        return
    if vr == "SQ":
        _write_sequence(tag, value, enc, out)
        return
    raw = encode_value_cached(value, vr, big_endian=enc.big_endian, encodings=encodings, tag=tag)
    out.append(_header(tag, _written_vr(vr, len(raw), enc), len(raw), enc))
    out.append(raw)


def _write_sequence(tag: int, items: Any, enc: Encoding, out: list) -> None:
    """A sequence with an undefined length, its items with undefined lengths."""
    big = enc.big_endian
    out.append(_header(tag, "SQ", _UNDEFINED, enc))
    for item in items or ():
        out.append(_item_header(_ITEM, _UNDEFINED, big))
        _write_dataset(item, enc, out)
        out.append(_item_header(_ITEM_DELIMITER, 0, big))
    out.append(_item_header(_SEQUENCE_DELIMITER, 0, big))


# -- files ----------------------------------------------------------------------------------------

def _transfer_syntax(ds: Dataset, transfer_syntax: str | None) -> str:
    if transfer_syntax is not None:
        return str(transfer_syntax)
    meta = ds.file_meta
    if meta is not None and "TransferSyntaxUID" in meta and meta.TransferSyntaxUID:
        return str(meta.TransferSyntaxUID)
    lay_explicit = not ds.is_implicit_VR
    big = ds.is_little_endian is False
    return _EXPLICIT_BE if big else (_EXPLICIT_LE if lay_explicit else _IMPLICIT_LE)


def _meta_for(ds: Dataset, syntax: str, enforce: bool) -> FileMetaDataset | None:
    meta = ds.file_meta
    if meta is None and not enforce:
        return None
    import copy

    meta = copy.copy(meta) if meta is not None else FileMetaDataset()
    if enforce:
        if "FileMetaInformationVersion" not in meta:
            meta.FileMetaInformationVersion = b"\x00\x01"
        for meta_keyword, keyword in (("MediaStorageSOPClassUID", "SOPClassUID"),
                                      ("MediaStorageSOPInstanceUID", "SOPInstanceUID")):
            value = ds.get(keyword)
            if value:
                setattr(meta, meta_keyword, value)
            elif meta_keyword not in meta:
                raise InvalidValueError(f"enforce_file_format: the dataset has no {keyword} for the meta group's "
                                        f"{meta_keyword}")
        meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
        meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    if meta.get("TransferSyntaxUID") != syntax:
        meta.TransferSyntaxUID = syntax
    return meta


def _meta_bytes(meta: FileMetaDataset, enforce: bool) -> list:
    """The meta group, explicit VR little endian: as it was read when it is unchanged and the
    file format is not enforced (its group length too, right or not), else with its group length
    computed."""
    body: list = []
    if not enforce and not meta.is_modified():
        _write_dataset(meta, Encoding(True, False), body)
        return body
    if 0x00020000 in meta:
        del meta[0x00020000]
    _write_dataset(meta, Encoding(True, False), body)
    length = sum(len(chunk) for chunk in body)
    return [_header(0x00020000, "UL", 4, Encoding(True, False)), struct.pack("<L", length)] + body


def _unchanged_source(ds: Dataset, syntax: str, transfer_syntax: str | None) -> Any:
    """The bytes ``ds`` was read from, when writing it as it was read gives exactly them."""
    if ds._parent is not None or ds.is_modified() or ds._source is None:
        return None
    meta = ds.file_meta
    if meta is not None and meta.is_modified():
        return None
    if transfer_syntax is not None and (meta is None or meta.get("TransferSyntaxUID") != transfer_syntax):
        return None
    data, end, options = ds._source
    stop_before_pixels, wanted, force = options
    if stop_before_pixels or wanted is not None:
        return None  # a header read: what follows was not read
    if ds.preamble is None and meta is not None:
        return None
    return memoryview(data)


def file_chunks(ds: Dataset, *, transfer_syntax: str | None = None, enforce_file_format: bool = False) -> list:
    """The bytes of ``ds`` as :func:`dcmwrite` writes them, as a list of chunks."""
    if not isinstance(ds, Dataset) or isinstance(ds, FileMetaDataset):
        raise TypeError(f"dcmwrite writes a dicomfast Dataset, not {type(ds).__name__}")
    if ds._parent is not None:
        raise TypeError("dcmwrite writes a whole dataset, not an item of a sequence")
    syntax = _transfer_syntax(ds, transfer_syntax)
    if not enforce_file_format:
        source = _unchanged_source(ds, syntax, transfer_syntax)
        if source is not None:
            return [source]
    out: list = []
    preamble = ds.preamble
    if enforce_file_format or preamble is not None:
        preamble = preamble if preamble is not None else b"\0" * 128
        if len(preamble) != 128:
            raise InvalidValueError(f"the preamble must be 128 bytes, not {len(preamble)}")
        out += [preamble, b"DICM"]
    meta = _meta_for(ds, syntax, enforce_file_format)
    if meta is not None:
        out += _meta_bytes(meta, enforce_file_format)
    enc = encoding_of(syntax)
    if syntax in _NATIVE and _encapsulated_pixels(ds):
        raise DicomError(f"the pixel data is encapsulated (compressed) and {_uid.uid_name(syntax)} is native: "
                         "decompress it first (ds.decompress()), or keep its transfer syntax")
    if enc.deflated and meta is None:
        raise InvalidValueError("a deflated dataset needs a File Meta Information group to say so: set "
                                "ds.file_meta, or pass enforce_file_format=True")
    body: list = []
    _write_dataset(ds, enc, body)
    if enc.deflated:
        compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
        data = compressor.compress(b"".join(body)) + compressor.flush()
        body = [data + b"\0" if len(data) % 2 else data]
    out += body
    return out


def _encapsulated_pixels(ds: Dataset) -> bool:
    """Whether the Pixel Data of ``ds`` is encapsulated: read with an undefined length, or set
    to an :class:`Encapsulated` value (only an edit can hold one: a value read from bytes with a
    defined length is native, and is not decoded, which would copy it, to say so)."""
    if 0x7FE00010 not in ds:
        return False
    element = ds[0x7FE00010]
    if element.is_undefined_length:
        return True
    return element.file_offset is None and isinstance(element.value, Encapsulated)


def dcmwrite(dst: Any, ds: Dataset, *, transfer_syntax: str | None = None,
             enforce_file_format: bool = False) -> None:
    """Write ``ds`` to ``dst`` (a path, a ``Path`` or a writable binary file object).

    ``transfer_syntax`` converts the dataset to that syntax (implicit VR LE, explicit VR LE or BE,
    deflated explicit VR LE; encapsulated pixel data keeps its compression, under its own syntax).
    ``enforce_file_format`` writes a conformant Part 10 file (see the module docstring); by default
    the dataset is written as it was read. Values are encoded before anything is written: a value
    that cannot be encoded raises :class:`~dicomfast.InvalidValueError` and nothing is written.
    """
    chunks = file_chunks(ds, transfer_syntax=transfer_syntax, enforce_file_format=enforce_file_format)
    if isinstance(dst, (str, os.PathLike)):
        _write_atomically(os.fspath(dst), chunks)
        return
    if not hasattr(dst, "write"):
        raise TypeError(f"dcmwrite writes to a path or a binary file object, not {type(dst).__name__}")
    for chunk in chunks:
        dst.write(chunk)


def _write_atomically(path: str, chunks: list) -> None:
    """Write ``chunks`` to a new file beside ``path`` (mode 0600, as ``tempfile.mkstemp`` makes it),
    in as few ``writev`` calls as the chunks allow, then rename it over ``path``: a reader of
    ``path`` sees the old file or the whole new one, never part of it. No fsync (as before)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = _temporary_file(directory)
    try:
        try:
            _write_all(fd, chunks)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


_TEMPORARY_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_temporary_names = itertools.count()


def _temporary_file(directory: str) -> tuple[int, str]:
    """A new file in ``directory`` that no one else opened (``O_EXCL``): ``.dicomfast-*.tmp``, named
    by the process and a counter; cheaper than ``tempfile.mkstemp``'s name sequence."""
    for _ in range(100):
        name = os.path.join(directory, f".dicomfast-{os.getpid()}-{next(_temporary_names)}.tmp")
        try:
            return os.open(name, _TEMPORARY_FLAGS, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {directory}")


_IOV_MAX = 1024  # the least IOV_MAX of the systems that have writev (Linux, macOS, the BSDs)


def _write_all(fd: int, chunks: list) -> None:
    """Every byte of ``chunks`` to ``fd``: ``writev`` of up to :data:`_IOV_MAX` chunks at a time
    (one call for a whole dataset, usually), resumed after a short write."""
    writev = getattr(os, "writev", None)
    if writev is None:  # Windows
        for chunk in chunks:
            _write_one(fd, memoryview(chunk).cast("B"))
        return
    pending = [chunk for chunk in chunks if _nbytes(chunk)]
    while pending:
        batch = pending[:_IOV_MAX]
        written = writev(fd, batch)
        # skip what was written: whole chunks, then the written part of the next one
        k = 0
        while k < len(batch) and written >= _nbytes(batch[k]):
            written -= _nbytes(batch[k])
            k += 1
        pending = pending[k:]
        if written:
            pending[0] = memoryview(pending[0]).cast("B")[written:]


def _nbytes(chunk: Any) -> int:
    return chunk.nbytes if type(chunk) is memoryview else len(chunk)


def _write_one(fd: int, view: memoryview) -> None:
    while len(view):
        view = view[os.write(fd, view):]


register_writer(dcmwrite)
