"""The reader and scanner on constructed inputs: the cases the corpus has too few of (hostile
lengths, deep nesting, encoding switches, out-of-order tags, partial reads of a file)."""

import io
import os
import struct

import pydicom
import pytest

import dicomfast
from dicomfast.core import _scan
from dicomfast.core._scan import FLAG_ENCAPSULATED, FLAG_ITEM

ITEM = b"\xfe\xff\x00\xe0"
ITEM_END = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"
SEQ_END = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
UNDEFINED = b"\xff\xff\xff\xff"


def explicit(tag, vr, value):
    """One explicit VR little endian element."""
    head = struct.pack("<HH2s", tag >> 16, tag & 0xFFFF, vr)
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC", b"UR", b"OD", b"OF", b"OL", b"OV", b"SV", b"UV"):
        return head + b"\x00\x00" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def implicit(tag, value):
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def part10(dataset, syntax=b"1.2.840.10008.1.2.1\x00"):
    meta = explicit(0x00020010, b"UI", syntax)
    return b"\x00" * 128 + b"DICM" + explicit(0x00020000, b"UL", struct.pack("<I", len(meta))) + meta + dataset


def test_specific_tags_in_a_dataset_out_of_order():
    raw = (explicit(0x00100010, b"PN", b"AB") + explicit(0x00080060, b"CS", b"CT")
           + explicit(0x00100020, b"LO", b"ID"))
    ds = dicomfast.dcmread(raw, force=True, specific_tags=["Modality", 0x00100020])
    assert list(ds.keys()) == [0x00080060, 0x00100020]
    assert (ds.Modality, ds.PatientID) == ("CT", "ID")


def test_specific_tags_skip_unwanted_sequences_without_recording_them():
    seq = explicit(0x00081140, b"SQ", ITEM + struct.pack("<I", 10) + explicit(0x00081150, b"UI", b"1.2"))
    raw = explicit(0x00080060, b"CS", b"CT") + seq + explicit(0x00100020, b"LO", b"ID")
    ds = dicomfast.dcmread(raw, force=True, specific_tags=["PatientID"])
    assert list(ds.keys()) == [0x00100020]
    assert len(ds._tape) == 1


def test_header_read_of_a_path_reads_only_the_first_block(tmp_path, monkeypatch):
    pixels = explicit(0x7FE00010, b"OW", b"\x00" * 400_000)
    path = tmp_path / "slice.dcm"
    path.write_bytes(part10(explicit(0x00100020, b"LO", b"ID") + pixels))
    asked = []
    real = _scan.read_file

    def spy(p, limit=-1):
        asked.append(limit)
        return real(p, limit)

    monkeypatch.setattr(_scan, "read_file", spy)
    ds = dicomfast.dcmread(path, stop_before_pixels=True)
    assert ds.PatientID == "ID" and 0x7FE00010 not in ds
    assert asked == [8192]
    asked.clear()
    dicomfast.dcmread(path, specific_tags=["PatientID"])
    assert asked == [8192]


def test_header_read_reads_more_when_the_header_is_long(tmp_path):
    long_header = explicit(0x00091010, b"OB", b"\x01" * 20_000)
    path = tmp_path / "long.dcm"
    path.write_bytes(part10(explicit(0x00100020, b"LO", b"ID") + long_header
                            + explicit(0x00200013, b"IS", b"7 ") + explicit(0x7FE00010, b"OB", b"\x00" * 64)))
    ds = dicomfast.dcmread(path, stop_before_pixels=True)
    assert ds.InstanceNumber == 7 and len(ds[0x00091010].value) == 20_000


def test_header_read_of_a_file_object_reads_part_of_it():
    data = part10(explicit(0x00100020, b"LO", b"ID") + explicit(0x7FE00010, b"OW", b"\x00" * 200_000))

    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, n=-1):
            out = super().read(n)
            Counting.read_bytes += len(out)
            return out

    f = Counting(data)
    ds = dicomfast.dcmread(f, stop_before_pixels=True)
    assert ds.PatientID == "ID"
    assert Counting.read_bytes <= 8192


def test_a_length_past_the_end_is_an_error_with_the_elements_before_it():
    raw = part10(explicit(0x00100020, b"LO", b"ID") + explicit(0x00100030, b"DA", b"20000101")[:-4])
    with pytest.raises(dicomfast.TruncatedError) as info:
        dicomfast.dcmread(raw, strict=True)
    assert info.value.partial.PatientID == "ID"
    with pytest.raises(dicomfast.TruncatedError):
        info.value.partial.PatientBirthDate
    # by default, the value cut short where the data ends, as pydicom reads it, and the defect recorded
    ds = dicomfast.dcmread(raw)
    theirs = pydicom.dcmread(io.BytesIO(raw))
    assert ds.PatientBirthDate == theirs.PatientBirthDate == "2000"
    assert [(d.kind, d.tag, d.offset) for d in ds.defects] == [("value_truncated", 0x00100030, raw.rindex(struct.pack("<HH", 0x0010, 0x0030)))]


@pytest.mark.parametrize("length", [0xFFFFFFFE, 0x7FFFFFFF, 0x80000000])
def test_a_huge_declared_length_allocates_nothing(length):
    raw = part10(struct.pack("<HH2sHI", 0x0009, 0x1010, b"OB", 0, length) + b"\x00" * 16)
    with pytest.raises(dicomfast.DicomError):
        dicomfast.dcmread(raw, strict=True)
    # by default the value is what is there, as pydicom gives it: nothing is allocated for the rest
    assert dicomfast.dcmread(raw)[0x00091010].value == pydicom.dcmread(io.BytesIO(raw))[0x00091010].value


def test_an_item_longer_than_its_sequence_is_an_invalid_length():
    item = ITEM + struct.pack("<I", 100) + explicit(0x00081150, b"UI", b"1.2")
    raw = part10(explicit(0x00081140, b"SQ", item) + explicit(0x00100020, b"LO", b"ID"))
    with pytest.raises(dicomfast.InvalidLengthError):
        dicomfast.dcmread(raw)


def test_deep_nesting_is_an_error_not_a_stack_overflow():
    inner = explicit(0x00100020, b"LO", b"ID")
    for _ in range(5000):
        inner = explicit(0x00081140, b"SQ", ITEM + UNDEFINED + inner + ITEM_END)[:-4] + UNDEFINED
        inner = inner[:8] + UNDEFINED + inner[12:] + SEQ_END
    with pytest.raises(dicomfast.InvalidLengthError, match="nested"):
        dicomfast.dcmread(part10(inner))


def test_fewer_than_8_trailing_bytes_are_padding():
    ds = dicomfast.dcmread(part10(explicit(0x00100020, b"LO", b"ID") + b"\x00" * 7))
    assert ds.PatientID == "ID" and len(ds) == 1


def test_un_with_undefined_length_is_an_implicit_sequence():
    item = ITEM + UNDEFINED + implicit(0x00081150, b"1.2 ") + ITEM_END
    un = struct.pack("<HH2sH", 0x0008, 0x1140, b"UN", 0) + UNDEFINED + item + SEQ_END
    ds = dicomfast.dcmread(part10(un + explicit(0x00100020, b"LO", b"ID")))
    assert ds[0x00081140].VR == "SQ"
    (only,) = ds.ReferencedImageSequence
    assert only.is_implicit_VR and only.ReferencedSOPClassUID == "1.2"
    assert ds.PatientID == "ID"


def test_an_explicit_vr_sequence_item_may_switch_to_implicit():
    item = ITEM + UNDEFINED + implicit(0x00081150, b"1.2 ") + ITEM_END
    seq = struct.pack("<HH2sH", 0x0008, 0x1140, b"SQ", 0) + UNDEFINED + item + SEQ_END
    ds = dicomfast.dcmread(part10(seq))
    assert ds.ReferencedImageSequence[0].ReferencedSOPClassUID == "1.2"


def test_implicit_vr_elements_take_the_dictionary_vr():
    raw = part10(implicit(0x00280010, struct.pack("<H", 512)) + implicit(0x00100010, b"A^B "),
                 syntax=b"1.2.840.10008.1.2\x00")
    ds = dicomfast.dcmread(raw)
    assert ds.is_implicit_VR and ds[0x00280010].VR == "US" and ds.Rows == 512
    assert ds.PatientName == "A^B"


def test_big_endian():
    raw = part10(struct.pack(">HH2sHH", 0x0028, 0x0010, b"US", 2, 512), syntax=b"1.2.840.10008.1.2.2\x00")
    ds = dicomfast.dcmread(raw)
    assert not ds.is_little_endian and ds.Rows == 512


def test_encapsulated_pixel_data_fragments_are_located_not_decoded():
    frags = ITEM + struct.pack("<I", 4) + b"\x00\x00\x00\x00" + ITEM + struct.pack("<I", 6) + b"abcdef"
    pixel = struct.pack("<HH2sH", 0x7FE0, 0x0010, b"OB", 0) + UNDEFINED + frags + SEQ_END
    ds = dicomfast.dcmread(part10(explicit(0x00100020, b"LO", b"ID") + pixel,
                                  syntax=b"1.2.840.10008.1.2.4.50\x00"))
    tape = ds._tape
    index = tape.find(0, len(tape), 0x7FE00010)
    assert tape.flags(index) & FLAG_ENCAPSULATED
    items = tape.children(index + 1, tape.end(index))
    assert [tape.flags(i) & FLAG_ITEM for i in items] == [FLAG_ITEM, FLAG_ITEM]
    assert bytes(tape.raw(items[1])) == b"abcdef"
    assert ds.PixelData == frags


def test_missing_group_length_and_wrong_group_length_in_meta():
    meta = explicit(0x00020010, b"UI", b"1.2.840.10008.1.2.1\x00")
    body = explicit(0x00100020, b"LO", b"ID")
    for group_length in (b"", explicit(0x00020000, b"UL", struct.pack("<I", 3))):
        ds = dicomfast.dcmread(b"\x00" * 128 + b"DICM" + group_length + meta + body)
        assert ds.PatientID == "ID" and ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"


def test_no_prefix_needs_force():
    body = explicit(0x00100020, b"LO", b"ID")
    with pytest.raises(dicomfast.NotDicomError):
        dicomfast.dcmread(body)
    assert dicomfast.dcmread(body, force=True).PatientID == "ID"
    with pytest.raises(dicomfast.NotDicomError):
        dicomfast.dcmread(b"")


def test_a_deflated_dataset():
    import zlib

    body = explicit(0x00100020, b"LO", b"ID") + explicit(0x00200013, b"IS", b"3 ")
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = packer.compress(body) + packer.flush()
    ds = dicomfast.dcmread(part10(deflated, syntax=b"1.2.840.10008.1.2.1.99"))
    assert (ds.PatientID, ds.InstanceNumber) == ("ID", 3)
    with pytest.raises(dicomfast.InflateError, match="cannot be inflated"):
        dicomfast.dcmread(part10(b"not deflate data at all", syntax=b"1.2.840.10008.1.2.1.99"))


def test_a_deflated_dataset_beyond_the_inflated_bound(monkeypatch):
    import zlib

    from dicomfast import reader

    body = explicit(0x00100020, b"LO", b"ID") + explicit(0x00081030, b"LO", b"x" * 4000)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    bomb = part10(packer.compress(body) + packer.flush(), syntax=b"1.2.840.10008.1.2.1.99")
    monkeypatch.setattr(reader, "MAX_INFLATED", 1000)  # 4 KB inflated, from a few dozen bytes
    with pytest.raises(dicomfast.InflateError, match="inflates to more than 1000 bytes"):
        dicomfast.dcmread(bomb)


def test_a_directory_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        dicomfast.dcmread(tmp_path)
    with pytest.raises(FileNotFoundError):
        dicomfast.dcmread(tmp_path / "absent.dcm")


def test_mmap_views_pixel_data_in_place(tmp_path):
    path = tmp_path / "m.dcm"
    path.write_bytes(part10(explicit(0x00100020, b"LO", b"ID") + explicit(0x7FE00010, b"OB", b"\x07" * 64)))
    ds = dicomfast.dcmread(path, mmap=True)
    view = ds[0x7FE00010].raw_value()
    assert view.readonly and bytes(view) == b"\x07" * 64
    assert os.path.getsize(path) == ds._source[1]
