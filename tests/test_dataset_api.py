"""The Dataset API on real files, checked against pydicom's reading of the same files.

Files (pydicom's own test files, found next to the installed package; pydicom.data is never
imported, its helpers try the network): an explicit VR CT with private elements, an RT plan with
nested sequences, an MR, a file in a multi-byte character set, a deflated file and a big-endian
file.
"""

from __future__ import annotations

import io
import os
import pathlib
import pickle
import warnings

import pydicom
import pytest

import dicomfast
from dicomfast import DataElement, Dataset, DicomError, NotDicomError, Sequence, TruncatedError
from package import run_python
from reference import compare, normalise

DATA = pathlib.Path(os.path.dirname(pydicom.__file__)) / "data"
CT = DATA / "test_files" / "CT_small.dcm"  # explicit VR little endian, private elements, pixels
RTPLAN = DATA / "test_files" / "rtplan.dcm"  # sequences three deep
MR = DATA / "test_files" / "MR_small.dcm"
CHARSET = DATA / "charset_files" / "chrH31.dcm"  # ISO 2022 IR 87: Japanese names
DEFLATED = DATA / "test_files" / "image_dfl.dcm"
BIG_ENDIAN = DATA / "test_files" / "MR_small_bigendian.dcm"
FILES = [CT, RTPLAN, MR, CHARSET, DEFLATED, BIG_ENDIAN]
IDS = [path.name for path in FILES]


def _pydicom(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, **kwargs)


def _plain(value):
    """A value in a form that compares by content: bytes for buffers, item contents for SQ."""
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, list) and value and isinstance(value[0], Dataset):
        return [_elements(item) for item in value]
    return value


def _elements(dataset) -> list:
    """(tag, VR, value) of every element, recursively, comparing by content."""
    return [(element.tag, element.VR, _plain(element.value)) for element in dataset]


def _same(ours, theirs) -> bool:
    if isinstance(ours, float) and isinstance(theirs, float) and ours != ours:
        return theirs != theirs
    if isinstance(theirs, (bytes, bytearray)):
        return bytes(ours) == bytes(theirs)
    return ours == theirs


# -- lookups ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_keyword_attributes_give_pydicoms_values(path):
    ours, theirs = dicomfast.dcmread(path), _pydicom(path)
    checked = 0
    for element in theirs:
        keyword = element.keyword
        if not keyword or keyword not in dicomfast.datadict.KEYWORD_TO_TAG:
            continue
        value = getattr(ours, keyword)
        if element.VR == "SQ":
            assert isinstance(value, Sequence) and len(value) == len(element.value)
        else:
            assert _same(value, normalise(element.value)), keyword
        checked += 1
    assert checked > 10 or path == DEFLATED and checked > 5


def test_missing_and_unknown_attributes_raise_attribute_error():
    ds = dicomfast.dcmread(RTPLAN)
    with pytest.raises(AttributeError):
        ds.PixelData  # a keyword, absent here
    with pytest.raises(AttributeError):
        ds.NotAKeyword
    assert getattr(ds, "PixelData", "absent") == "absent"
    assert not hasattr(ds, "Rows")
    with pytest.raises(AttributeError):
        ds.not_an_attribute = 1  # only keywords can be set: no silent new Python attributes
    with pytest.raises(AttributeError):
        del ds.Rows  # absent


def test_set_and_delete_an_attribute_as_in_pydicom():
    ds = dicomfast.dcmread(RTPLAN)
    ref = _pydicom(RTPLAN)
    for target in (ds, ref):
        target.PatientName = "Someone^Else"
        del target.PatientID
    assert ds.PatientName == str(ref.PatientName) == "Someone^Else"
    assert "PatientID" not in ds and ds.get("PatientID") is None
    with pytest.raises(AttributeError):
        ds.PatientID
    with pytest.raises(KeyError):
        ds[0x00100020]
    assert [e.tag for e in ds] == [e.tag for e in ref]
    assert dicomfast.dcmread(RTPLAN).PatientName != "Someone^Else"  # the file is untouched


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_items_by_tag_pair_and_keyword_are_pydicoms_elements(path):
    ours, theirs = dicomfast.dcmread(path), _pydicom(path)
    for their_element in theirs:
        tag = int(their_element.tag)
        element = ours[tag]
        assert isinstance(element, DataElement)
        assert ours[(tag >> 16, tag & 0xFFFF)].tag == tag
        assert ours[pydicom.tag.Tag(tag)].tag == tag
        if their_element.keyword and their_element.keyword in dicomfast.datadict.KEYWORD_TO_TAG:
            assert ours[their_element.keyword].tag == tag
        assert element.tag == tag and isinstance(element.tag, int)
        assert element.VR == their_element.VR
        assert element.keyword == their_element.keyword
        if not element.is_private or element.tag.is_private_creator:
            # pydicom names private elements from its private dictionary, which we do not carry
            assert element.name == their_element.name
        if element.VR == "SQ":
            assert element.VM == their_element.VM == 1
            assert len(element.value) == len(their_element.value)
        else:
            assert element.VM == their_element.VM, their_element
            assert _same(element.value, normalise(their_element.value)), their_element


def test_missing_items_raise_key_error_and_bad_keys_say_so():
    ds = dicomfast.dcmread(RTPLAN)
    with pytest.raises(KeyError):
        ds[0x7FE00010]
    with pytest.raises(KeyError):
        ds["PixelData"]
    with pytest.raises(ValueError):
        ds["NotAKeyword"]
    with pytest.raises(ValueError):
        ds[(0x10000, 0)]
    with pytest.raises(TypeError):
        ds[1.5]


def test_get_gives_values_for_keywords_elements_for_tags_and_defaults():
    ds, theirs = dicomfast.dcmread(CT), _pydicom(CT)
    assert ds.get("PatientName") == str(theirs.get("PatientName")) == "CompressedSamples^CT1"
    assert ds.get("Rows") == 128
    element = ds.get(0x00100010)
    assert isinstance(element, DataElement) and element.value == "CompressedSamples^CT1"
    assert ds.get((0x0028, 0x0010)).value == 128
    assert ds.get("PatientSize") is None and theirs.get("PatientSize") is None
    assert ds.get("PatientSize", 1.7) == 1.7
    assert ds.get(0x00101020, "absent") == "absent"
    assert ds.get("NotAKeyword", "default") == "default"
    plan = dicomfast.dcmread(RTPLAN)
    assert plan.get("BeamSequence") is plan.BeamSequence


def test_in():
    ds = dicomfast.dcmread(CT)
    for key in ("PatientName", 0x00100010, (0x0010, 0x0010), dicomfast.Tag(0x00100010)):
        assert key in ds
    for key in ("PatientSize", 0x00101020, (0x0010, 0x1020), "NotAKeyword", 1.5, None):
        assert key not in ds
    assert 0x00091001 in ds  # a private element


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_len_iteration_keys_values_items_in_tag_order(path):
    ours, theirs = dicomfast.dcmread(path), _pydicom(path)
    assert len(ours) == len(theirs)
    keys = ours.keys()
    assert keys == [int(t) for t in theirs.keys()] == sorted(keys)
    assert [element.tag for element in ours] == keys
    assert [element.tag for element in ours.values()] == keys
    items = ours.items()
    assert [tag for tag, _ in items] == keys
    assert all(tag == element.tag for tag, element in items)
    assert bool(ours)


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_file_meta(path):
    ours, theirs = dicomfast.dcmread(path), _pydicom(path)
    meta = ours.file_meta
    assert isinstance(meta, dicomfast.FileMetaDataset)
    assert meta.keys() == [int(t) for t in theirs.file_meta.keys()]
    for element in theirs.file_meta:
        assert ours.file_meta[element.tag].VR == element.VR
        assert _same(ours.file_meta[element.tag].value, normalise(element.value))
    assert meta.TransferSyntaxUID == theirs.file_meta.TransferSyntaxUID
    assert 0x00020010 not in ours  # the meta group is not part of the data set
    assert ours.preamble == theirs.preamble and len(ours.preamble) == 128


def test_encoding_flags():
    assert not dicomfast.dcmread(CT).is_implicit_VR
    assert dicomfast.dcmread(CT).is_little_endian
    assert not dicomfast.dcmread(BIG_ENDIAN).is_little_endian
    assert dicomfast.dcmread(DATA / "test_files" / "MR_small_implicit.dcm").is_implicit_VR


def test_nested_sequences_are_datasets():
    ours, theirs = dicomfast.dcmread(RTPLAN), _pydicom(RTPLAN)
    beams = ours.BeamSequence
    assert isinstance(beams, Sequence) and isinstance(beams, list)
    assert len(beams) == len(theirs.BeamSequence) == 1
    beam = beams[0]
    assert isinstance(beam, Dataset)
    assert beam.BeamName == theirs.BeamSequence[0].BeamName == "Field 1"
    point = beam.ControlPointSequence[0]
    their_point = theirs.BeamSequence[0].ControlPointSequence[0]
    assert point.keys() == [int(t) for t in their_point.keys()]
    assert point.GantryAngle == their_point.GantryAngle == 0.0
    device = point.BeamLimitingDevicePositionSequence[0]
    their_device = their_point.BeamLimitingDevicePositionSequence[0]
    assert device.LeafJawPositions == [float(v) for v in their_device.LeafJawPositions]
    assert device[0x300A011C].value == device.LeafJawPositions
    assert ours["BeamSequence"].value is beams  # values are decoded once
    assert repr(beams) == "<Sequence of 1 item>"
    assert device.file_meta is None


def test_an_item_inherits_the_character_set():
    path = DATA / "charset_files" / "chrSQEncoding1.dcm"
    ours, theirs = dicomfast.dcmread(path), _pydicom(path)
    item = ours.RequestedProcedureCodeSequence[0]
    assert "SpecificCharacterSet" not in item
    name = item.PatientName
    assert name == str(theirs.RequestedProcedureCodeSequence[0].PatientName)
    assert not name.isascii()
    # ... and an item's own character set wins over the dataset's
    path = DATA / "charset_files" / "chrSQEncoding.dcm"
    item = dicomfast.dcmread(path).RequestedProcedureCodeSequence[0]
    assert item.PatientName == str(_pydicom(path).RequestedProcedureCodeSequence[0].PatientName)
    assert item.PatientName == "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"


# -- text -------------------------------------------------------------------------------------


def test_repr():
    ds = dicomfast.dcmread(CT)
    text = repr(ds)
    assert text.startswith("<Dataset of 258 elements") and "CT Image Storage" in text
    assert "Explicit VR Little Endian" in text
    element_text = repr(ds["PatientName"])
    assert "(0010,0010)" in element_text and "PN" in element_text
    assert "CompressedSamples^CT1" in element_text and "PatientName" in element_text
    assert repr(dicomfast.dcmread(RTPLAN).BeamSequence[0]) == "<Dataset of 22 elements>"


def _count(dataset) -> int:
    return sum(
        1 + (sum(_count(item) for item in element.value) if element.VR == "SQ" else 0)
        for element in dataset
    )


@pytest.mark.parametrize("path", [RTPLAN, CT, CHARSET], ids=lambda p: p.name)
def test_dump_lists_every_element_with_items_indented(path):
    ds = dicomfast.dcmread(path)
    text = ds.dump()
    assert str(ds) == text
    lines = text.splitlines()
    tagged = [line for line in lines if line.lstrip().startswith("(") and "(FFFE,E000)" not in line]
    assert len(tagged) == _count(ds) + len(ds.file_meta)

    # Walk the dataset and the listing together: each element at its depth, in order.
    expected = [f"({t >> 16:04X},{t & 0xFFFF:04X})" for t in ds.file_meta.keys()]
    depths = [0] * len(expected)

    def walk(dataset, depth):
        for element in dataset:
            expected.append(f"({element.tag >> 16:04X},{element.tag & 0xFFFF:04X})")
            depths.append(depth)
            if element.VR == "SQ":
                for item in element.value:
                    walk(item, depth + 1)

    walk(ds, 0)
    indents = [len(line) - len(line.lstrip()) for line in tagged]
    assert [line.split()[0] for line in tagged] == expected
    for indent, depth in zip(indents, depths):
        assert indent == 4 * depth
    items = [line for line in lines if "(FFFE,E000)" in line]
    assert len(items) == sum(
        len(e.value) for e in _all_elements(ds) if e.VR == "SQ"
    )


def _all_elements(dataset):
    for element in dataset:
        yield element
        if element.VR == "SQ":
            for item in element.value:
                yield from _all_elements(item)


def test_dump_shows_the_decoded_text():
    text = dicomfast.dcmread(CHARSET).dump()
    assert "Yamada^Tarou=山田^太郎=やまだ^たろう" in text
    assert "PatientName" in text and "ISO 2022 IR 87" in text


# -- pickling ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_pickle_round_trips(path):
    ds = dicomfast.dcmread(path)
    again = pickle.loads(pickle.dumps(ds))
    assert _elements(again) == _elements(ds)
    assert _elements(again.file_meta) == _elements(ds.file_meta)
    assert again.preamble == ds.preamble


def test_pickle_round_trips_a_nested_item():
    ds = dicomfast.dcmread(RTPLAN)
    point = ds.BeamSequence[0].ControlPointSequence[0]
    again = pickle.loads(pickle.dumps(point))
    assert isinstance(again, Dataset)
    assert _elements(again) == _elements(point)
    assert again.BeamLimitingDevicePositionSequence[0].LeafJawPositions == (
        point.BeamLimitingDevicePositionSequence[0].LeafJawPositions
    )


def test_pickle_loads_in_a_fresh_process():
    # The pickle names the reader's function, so unpickling imports what it needs by itself.
    item = dicomfast.dcmread(RTPLAN).BeamSequence[0]
    script = "import pickle, sys; print(pickle.loads(sys.stdin.buffer.read()).BeamName)"
    out = run_python("-c", script, input=pickle.dumps(item), stdin=None, text=False, check=True)
    assert out.stdout.decode().strip() == item.BeamName


def test_pickle_keeps_the_character_set_of_an_item():
    path = DATA / "charset_files" / "chrSQEncoding1.dcm"
    item = dicomfast.dcmread(path).RequestedProcedureCodeSequence[0]
    assert not item.PatientName.isascii()
    assert pickle.loads(pickle.dumps(item)).PatientName == item.PatientName


@pytest.mark.parametrize("path", [CT, MR, BIG_ENDIAN], ids=lambda p: p.name)
def test_pickle_of_a_header_read_is_small(path):
    header = dicomfast.dcmread(path, stop_before_pixels=True)
    pixel_offset = dicomfast.dcmread(path)[0x7FE00010].file_offset
    size = len(pickle.dumps(header))
    assert size < pixel_offset + 512  # the header's bytes, not the pixel data
    assert size < os.path.getsize(path) // 2
    assert _elements(pickle.loads(pickle.dumps(header))) == _elements(header)


def test_pickle_of_a_specific_tags_read():
    ds = dicomfast.dcmread(CT, specific_tags=["PatientName", "Rows"])
    again = pickle.loads(pickle.dumps(ds))
    assert again.keys() == ds.keys() == [0x00080005, 0x00100010, 0x00280010]


def test_datasets_and_sequence_elements_compare_by_content():
    a, b = dicomfast.dcmread(RTPLAN), dicomfast.dcmread(RTPLAN)
    assert a["PatientName"] == b["PatientName"]  # holds
    assert a.BeamSequence[0] == b.BeamSequence[0]
    assert a["BeamSequence"] == b["BeamSequence"]
    assert pickle.loads(pickle.dumps(a)) == a


# -- sources ----------------------------------------------------------------------------------


def _sources(path):
    # bytearray and memoryview sources: see test_a_bytearray_or_memoryview_source_is_freed_cleanly.
    data = path.read_bytes()
    yield "str", str(path)
    yield "Path", path
    yield "bytes", data
    yield "BytesIO", io.BytesIO(data)


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_every_source_gives_the_same_elements(path):
    expected = _elements(dicomfast.dcmread(path))
    for name, source in _sources(path):
        ds = dicomfast.dcmread(source)
        assert _elements(ds) == expected, name
        assert ds.preamble is not None and len(ds.file_meta) > 0, name
    with open(path, "rb") as f:
        assert _elements(dicomfast.dcmread(f)) == expected
    assert _elements(dicomfast.dcmread(path, mmap=True)) == expected


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_every_source_gives_the_same_header(path):
    expected = _elements(dicomfast.dcmread(path, stop_before_pixels=True))
    assert 0x7FE00010 not in [tag for tag, _, _ in expected]
    for name, source in _sources(path):
        assert _elements(dicomfast.dcmread(source, stop_before_pixels=True)) == expected, name
    with open(path, "rb") as f:
        assert _elements(dicomfast.dcmread(f, stop_before_pixels=True)) == expected
        assert f.read(1) is not None  # the file is still usable
    assert _elements(dicomfast.dcmread(path, stop_before_pixels=True, mmap=True)) == expected


def test_a_file_object_is_read_from_where_it_stands():
    data = CT.read_bytes()
    f = io.BytesIO(b"junk" + data)
    f.seek(4)
    assert _elements(dicomfast.dcmread(f)) == _elements(dicomfast.dcmread(data))


def test_mmap_pixel_data_is_the_files():
    ds = dicomfast.dcmread(CT, mmap=True)
    assert bytes(ds.PixelData) == bytes(_pydicom(CT).PixelData)


_FREE_IN_A_CYCLE = """
import gc, sys
import dicomfast
data = open(sys.argv[1], "rb").read()
kind = bytearray if sys.argv[2] == "bytearray" else memoryview

def read(iterate):
    ds = dicomfast.dcmread(kind(data))
    assert [e.tag for e in ds] == [e.tag for e in dicomfast.dcmread(data)]
    ds.BeamSequence  # an item's _parent and the dataset's value cache: a reference cycle
    if iterate:
        [e.tag for e in ds]

read(False)
gc.collect()
read(True)
gc.collect()
print("collected")
"""


@pytest.mark.parametrize("kind", ["bytearray", "memoryview"])
def test_a_bytearray_or_memoryview_source_is_freed_cleanly(kind):
    # In a child process: the fault can crash the interpreter.
    child = run_python("-c", _FREE_IN_A_CYCLE, str(RTPLAN), kind)
    assert child.returncode == 0, f"exit status {child.returncode}: {child.stderr[-500:]}"
    assert "collected" in child.stdout
    assert "exported buffers" not in child.stderr, child.stderr[-500:]


# -- options ----------------------------------------------------------------------------------


def test_specific_tags_with_keywords_and_tags():
    ds = dicomfast.dcmread(CT, specific_tags=["PatientName", 0x00280010, (0x0020, 0x0032)])
    assert ds.keys() == [0x00080005, 0x00100010, 0x00200032, 0x00280010]  # charset always kept
    theirs = _pydicom(CT, specific_tags=["PatientName", 0x00280010, (0x0020, 0x0032)])
    assert ds.keys() == [int(t) for t in theirs.keys()]
    assert ds.PatientName == "CompressedSamples^CT1" and ds.Rows == 128
    assert ds.ImagePositionPatient == [-158.135803, -179.035797, -75.699997]
    assert "Columns" not in ds
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    with pytest.raises(ValueError):
        dicomfast.dcmread(CT, specific_tags=["NotAKeyword"])


def test_specific_tags_in_a_sequence_file():
    ds = dicomfast.dcmread(RTPLAN, specific_tags=["BeamSequence", "RTPlanLabel"])
    assert ds.keys() == [0x300A0002, 0x300A00B0]
    assert ds.BeamSequence[0].BeamName == "Field 1"


def test_stop_before_pixels():
    ds = dicomfast.dcmread(CT, stop_before_pixels=True)
    full = dicomfast.dcmread(CT)
    assert ds.keys() == [tag for tag in full.keys() if tag < 0x7FE00010]
    assert "PixelData" not in ds and 0xFFFCFFFC in full  # CT_small has padding after its pixels


# -- errors -----------------------------------------------------------------------------------


def test_not_dicom(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a DICOM file\n" * 20)
    for source in (path, str(path), path.read_bytes(), io.BytesIO(path.read_bytes())):
        with pytest.raises(NotDicomError) as info:
            dicomfast.dcmread(source)
        assert isinstance(info.value, DicomError) and isinstance(info.value, ValueError)
    with pytest.raises(ValueError):  # how a pydicom user's except clause sees it
        dicomfast.dcmread(path)
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    for source in (empty, b""):
        with pytest.raises(NotDicomError):
            dicomfast.dcmread(source)
    with pytest.raises(NotDicomError):
        dicomfast.dcmread(empty, mmap=True)


def test_a_source_of_the_wrong_type():
    with pytest.raises(TypeError):
        dicomfast.dcmread(12345)


def _complete_before(full, offset):
    """The elements of ``full`` that end before ``offset`` (the next one starts at or before it)."""
    elements = list(full)
    for element, following in zip(elements, elements[1:] + [None]):
        end = following.file_offset if following is not None else None
        if end is not None and end <= offset:
            yield element


def _cut_inside_a_value(full, after):
    """A length that cuts the first value of 16 bytes or more that starts after ``after``."""
    for element in _all_elements(full):
        if element.file_offset > after and element.length >= 16 and element.VR != "SQ":
            return element.file_offset + 12 + element.length // 2
    raise AssertionError("no such element")


@pytest.mark.parametrize("path, after", [(CT, 6000), (CT, 1500), (RTPLAN, 2000), (RTPLAN, 1500),
                                         (BIG_ENDIAN, 1000), (MR, 1000), (MR, 6000)],
                         ids=["CT-pixels", "CT-header", "rtplan-item", "rtplan-nested", "bigendian",
                              "MR-header", "MR-pixels"])
def test_truncated_data_raises_with_the_elements_before_the_fault(path, after):
    data = path.read_bytes()
    full = dicomfast.dcmread(data)
    cut = _cut_inside_a_value(full, after)
    with pytest.raises(TruncatedError) as info:
        dicomfast.dcmread(data[:cut], strict=True)
    error = info.value
    assert isinstance(error, DicomError) and isinstance(error, ValueError)
    assert error.offset is not None and error.offset < cut
    partial = error.partial
    assert isinstance(partial, Dataset)
    assert _elements(partial.file_meta) == _elements(full.file_meta)
    before = list(_complete_before(full, error.offset))
    assert before, "the cut should leave some whole elements"
    for element in before:
        assert element.tag in partial
        assert _plain(partial[element.tag].value) == _plain(element.value)
    assert set(partial.keys()) <= set(full.keys())
    # by default: pydicom's reading of the same bytes, element by element, and the defect recorded
    ours = dicomfast.dcmread(data[:cut])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pydicom.dcmread(io.BytesIO(data[:cut]), force=True)
        assert not compare(ours, theirs)
    assert "value_truncated" in [d.kind for d in ours.defects]


@pytest.mark.parametrize("name", ["MR_truncated.dcm", "rtplan_truncated.dcm"])
def test_truncated_files_of_the_corpus(name):
    path = DATA / "test_files" / name
    theirs = _pydicom(path)  # pydicom returns what it could read, without an error
    with pytest.raises(TruncatedError) as info:
        dicomfast.dcmread(path, strict=True)
    partial = info.value.partial
    complete = [int(t) for t in theirs.keys()][:-1]  # pydicom's last element is the damaged one
    for tag in complete:
        assert tag in partial
        their_element = theirs[tag]
        if their_element.VR != "SQ":
            assert _same(partial[tag].value, normalise(their_element.value))
    # A header read of the truncated MR never reaches the damage.
    if name == "MR_truncated.dcm":
        assert dicomfast.dcmread(path, stop_before_pixels=True).keys() == complete


def test_truncation_inside_the_file_meta_keeps_a_partial():
    data = CT.read_bytes()
    with pytest.raises(TruncatedError) as info:
        dicomfast.dcmread(data[:175], strict=True)  # inside (0002,0002) Media Storage SOP Class UID
    partial = info.value.partial
    assert partial is not None
    assert partial.file_meta.keys()[:2] == [0x00020000, 0x00020001]


def test_a_private_creator_written_as_un_is_lo():
    path = DATA / "test_files" / "J2K_pixelrep_mismatch.dcm"
    ds = dicomfast.dcmread(path)
    assert ds[0x00090010].VR == _pydicom(path)[0x00090010].VR == "LO"
    assert ds[0x00090010].value == "HMC"


def test_the_items_of_a_un_sequence_are_implicit_vr():
    path = DATA / "test_files" / "UN_sequence.dcm"
    ds, theirs = dicomfast.dcmread(path), _pydicom(path)
    assert not ds.is_implicit_VR
    sequence = ds[0x4453100C]
    assert sequence.VR == "SQ"
    item = sequence.value[0]
    assert item.is_implicit_VR == theirs[0x4453100C].value[0].original_encoding[0] is True
