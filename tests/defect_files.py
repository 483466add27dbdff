"""Defect test files: one per defect kind that a tolerant read records, each made by editing the
bytes of a real corpus file (pydicom's CT_small.dcm, rtplan.dcm, image_dfl.dcm).

Every maker takes the directory to write into and returns a :class:`Made`: the file, the corpus
file it was made from, and the defect a tolerant read must record (kind, tag, byte offset). The
offsets are found by reading the original with dicomfast (``DataElement.file_offset``, where the
element's tag starts), never hard-coded; for a deflated file they are offsets in the inflated
dataset, where the scan met the defect.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Callable, NamedTuple

import dicomfast
from corpus import corpus_files

CT_SMALL = "CT_small.dcm"    # explicit VR little endian, no sequences of undefined length
RTPLAN = "rtplan.dcm"        # implicit VR little endian, with sequences
DEFLATED = "image_dfl.dcm"   # deflated explicit VR little endian

TAG_ITEM = 0xFFFEE000
TAG_ITEM_DELIMITER = 0xFFFEE00D
TAG_SEQUENCE_DELIMITER = 0xFFFEE0DD


class Made(NamedTuple):
    path: Path
    source: str      # the corpus file it was made from
    kind: str
    tag: int
    offset: int
    note: str        # what was edited


def source(name: str) -> Path:
    """A pydicom test file of the corpus, by name."""
    for path in corpus_files():
        if path.name == name and path.parent.name == "test_files":
            return path
    raise FileNotFoundError(name)


def _write(directory: Path, name: str, data: bytes | bytearray) -> Path:
    path = Path(directory) / name
    path.write_bytes(bytes(data))
    return path


def _original(name: str):
    path = source(name)
    return bytearray(path.read_bytes()), dicomfast.dcmread(path)


def value_truncated(directory: Path) -> Made:
    """CT_small cut in the middle of its Pixel Data value."""
    data, ds = _original(CT_SMALL)
    at = ds["PixelData"].file_offset
    cut = at + 12 + 1000
    return Made(_write(directory, "value_truncated.dcm", data[:cut]), CT_SMALL, "value_truncated",
                0x7FE00010, at, f"file cut at byte {cut}, 1000 bytes into the Pixel Data value")


def missing_delimiter(directory: Path) -> Made:
    """rtplan's Dose Reference Sequence re-encoded with undefined lengths (the sequence and its
    last item), the sequence delimiter added but not the last item's delimiter."""
    data, ds = _original(RTPLAN)
    seq = ds[0x300A0010].file_offset
    (length,) = struct.unpack_from("<I", data, seq + 4)
    end = seq + 8 + length
    pos, last = seq + 8, -1
    while pos < end:
        tag_group, tag_element, item_length = struct.unpack_from("<HHI", data, pos)
        assert (tag_group << 16 | tag_element) == TAG_ITEM
        last = pos
        pos += 8 + item_length
    struct.pack_into("<I", data, seq + 4, 0xFFFFFFFF)
    struct.pack_into("<I", data, last + 4, 0xFFFFFFFF)
    data[end:end] = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    return Made(_write(directory, "missing_delimiter.dcm", data), RTPLAN, "missing_delimiter",
                TAG_ITEM, end, "(300A,0010) and its last item of undefined length, no item delimiter")


def odd_length(directory: Path) -> Made:
    """CT_small's Manufacturer (0008,0070) LO value one byte longer: an odd length."""
    data, ds = _original(CT_SMALL)
    at = ds[0x00080070].file_offset
    (length,) = struct.unpack_from("<H", data, at + 6)
    struct.pack_into("<H", data, at + 6, length + 1)
    data[at + 8 + length:at + 8 + length] = b"X"
    return Made(_write(directory, "odd_length.dcm", data), CT_SMALL, "odd_length", 0x00080070, at,
                f"(0008,0070) length {length} -> {length + 1}, one byte inserted")


def unknown_vr(directory: Path) -> Made:
    """CT_small's Image Type (0008,0008) with the VR 'XX' instead of 'CS' (a 2-byte length, as before)."""
    data, ds = _original(CT_SMALL)
    at = ds[0x00080008].file_offset
    assert data[at + 4:at + 6] == b"CS"
    data[at + 4:at + 6] = b"XX"
    return Made(_write(directory, "unknown_vr.dcm", data), CT_SMALL, "unknown_vr", 0x00080008, at,
                "(0008,0008) VR 'CS' -> 'XX'")


def blank_vr(directory: Path) -> Made:
    """CT_small's empty Accession Number (0008,0050) with its VR and length as four zero bytes:
    the header of an empty implicit-VR element in an explicit-VR dataset (VR bytes 00 00)."""
    data, ds = _original(CT_SMALL)
    at = ds[0x00080050].file_offset
    assert data[at + 4:at + 8] == b"SH\x00\x00"
    data[at + 4:at + 8] = bytes(4)
    return Made(_write(directory, "blank_vr.dcm", data), CT_SMALL, "blank_vr", 0x00080050, at,
                "(0008,0050) 'SH' + length 0 -> 4-byte implicit length 0")


def vr_switch(directory: Path) -> Made:
    """CT_small's Manufacturer (0008,0070) with an implicit-VR header (4-byte length, no VR) in
    the explicit-VR dataset: the same 8 header bytes, so nothing else moves."""
    data, ds = _original(CT_SMALL)
    at = ds[0x00080070].file_offset
    (length,) = struct.unpack_from("<H", data, at + 6)
    assert data[at + 4:at + 6] == b"LO"
    struct.pack_into("<I", data, at + 4, length)
    return Made(_write(directory, "vr_switch.dcm", data), CT_SMALL, "vr_switch", 0x00080070, at,
                "(0008,0070) explicit header 'LO' + 2-byte length -> implicit 4-byte length")


def vr_switch_dataset(directory: Path) -> Made:
    """rtplan (implicit VR) with a meta group that says Explicit VR Little Endian: the whole
    dataset is read the other way, recorded once at its first element."""
    data, ds = _original(RTPLAN)
    meta = ds.file_meta[0x00020010]
    at = meta.file_offset
    (length,) = struct.unpack_from("<H", data, at + 6)
    new = b"1.2.840.10008.1.2.1\x00"
    data[at + 8:at + 8 + length] = new
    struct.pack_into("<H", data, at + 6, len(new))
    group = ds.file_meta[0x00020000].file_offset
    (group_length,) = struct.unpack_from("<I", data, group + 8)
    struct.pack_into("<I", data, group + 8, group_length + len(new) - length)
    first = min(e.file_offset for e in ds) + len(new) - length
    return Made(_write(directory, "vr_switch_dataset.dcm", data), RTPLAN, "vr_switch",
                int(next(iter(ds)).tag), first, "(0002,0010) implicit -> explicit VR little endian")


def trailing_bytes(directory: Path) -> Made:
    """CT_small with 5 bytes after its last element."""
    data, _ = _original(CT_SMALL)
    size = len(data)
    return Made(_write(directory, "trailing_bytes.dcm", data + b"\x00\x01\x02\x03\x04"), CT_SMALL,
                "trailing_bytes", 0, size, "5 bytes appended")


def stray_delimiter(directory: Path) -> Made:
    """CT_small with an item delimiter (FFFE,E00D) at the top level, before Modality (0008,0060)."""
    data, ds = _original(CT_SMALL)
    at = ds[0x00080060].file_offset
    data[at:at] = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    return Made(_write(directory, "stray_delimiter.dcm", data), CT_SMALL, "stray_delimiter",
                TAG_ITEM_DELIMITER, at, "(FFFE,E00D) inserted before (0008,0060)")


def meta_group_length(directory: Path) -> Made:
    """CT_small with a File Meta Information Group Length of 60 (the group has more bytes)."""
    data, ds = _original(CT_SMALL)
    at = ds.file_meta[0x00020000].file_offset
    struct.pack_into("<I", data, at + 8, 60)
    return Made(_write(directory, "meta_group_length.dcm", data), CT_SMALL, "meta_group_length",
                0x00020000, at, "(0002,0000) value -> 60")


def _deflated_start(data: bytearray, ds) -> int:
    """Where the deflated dataset starts: after the meta group's last element."""
    last = max(ds.file_meta, key=lambda e: e.file_offset)
    at = last.file_offset
    if bytes(data[at + 4:at + 6]) in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR"):
        (length,) = struct.unpack_from("<I", data, at + 8)
        return at + 12 + length
    (length,) = struct.unpack_from("<H", data, at + 6)
    return at + 8 + length


def deflate_truncated(directory: Path) -> Made:
    """image_dfl with its dataset re-deflated up to (not including) Pixel Data, flushed there
    (Z_SYNC_FLUSH) and the stream cut at the flush: it inflates without a zlib error to the
    elements before Pixel Data, but has no final block (the stream does not end)."""
    data, ds = _original(DEFLATED)
    start = _deflated_start(data, ds)
    inflated = zlib.decompress(bytes(data[start:]), -zlib.MAX_WBITS)
    keep = ds["PixelData"].file_offset   # an offset in the inflated dataset
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    stream = deflater.compress(inflated[:keep]) + deflater.flush(zlib.Z_SYNC_FLUSH)
    return Made(_write(directory, "deflate_truncated.dcm", data[:start] + stream), DEFLATED,
                "deflate_truncated", 0, start,
                f"dataset re-deflated to byte {keep} of {len(inflated)} (before Pixel Data), no final block")


def deflate_truncated_in_value(directory: Path) -> Made:
    """image_dfl with the last 40 bytes of its deflated stream cut: the inflated data ends inside
    Pixel Data, so the read records a truncated value as well (and strict raises TruncatedError)."""
    data, ds = _original(DEFLATED)
    start = _deflated_start(data, ds)
    return Made(_write(directory, "deflate_truncated_in_value.dcm", data[:-40]), DEFLATED,
                "deflate_truncated", 0, start, "last 40 deflated bytes cut")


MAKERS: dict[str, Callable[[Path], Made]] = {
    "value_truncated": value_truncated,
    "missing_delimiter": missing_delimiter,
    "odd_length": odd_length,
    "unknown_vr": unknown_vr,
    "blank_vr": blank_vr,
    "vr_switch": vr_switch,
    "vr_switch_dataset": vr_switch_dataset,
    "trailing_bytes": trailing_bytes,
    "stray_delimiter": stray_delimiter,
    "meta_group_length": meta_group_length,
    "deflate_truncated": deflate_truncated,
    "deflate_truncated_in_value": deflate_truncated_in_value,
}
