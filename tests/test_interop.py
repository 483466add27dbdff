"""The DICOM JSON model and the conversion to pydicom, compared with pydicom over the whole corpus.

* ``to_json_dict()`` gives pydicom's ``to_json_dict()`` for every file pydicom reads, private
  elements with their private dictionary VRs included, and truncated files too (default mode:
  the last value cut short as pydicom cuts it).
* ``to_pydicom()`` gives a dataset equal, element by element, to ``pydicom.dcmread`` of the same
  file, at every depth, with the same file meta, preamble and original encoding; pydicom writes it
  back and dicomfast reads what it wrote.

Files pydicom cannot read at all (or reads as no elements) are test_corpus's business.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import sys
import warnings

import pydicom
import pytest

import dicomfast
from corpus import corpus_files, corpus_id
from dicomfast.jsonmodel import to_json, to_json_dict
from reference import pydicom_read

FILES = corpus_files()
IDS = [corpus_id(f) for f in FILES]
TEST_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
CHARSET_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "charset_files")


def _read_both(path):
    """(dicomfast's dataset, pydicom's dataset, force) or skip the test, saying why."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, error = pydicom_read(path)
        forced = False
        if error is not None:
            theirs, error = pydicom_read(path, force=True)
            forced = True
    if error is not None or len(theirs) == 0:
        pytest.skip(f"pydicom cannot read it ({error!r:.80}); test_corpus checks our outcome")
    ours = dicomfast.dcmread(path, force=forced)
    return ours, theirs, forced


def _fresh(path, forced):
    """A second, untouched pydicom reading: its elements are still raw, so their bytes are there."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, force=forced)


# -- JSON -------------------------------------------------------------------------------------


def _same_json(ours, theirs) -> bool:
    """Equal after a JSON round trip, types included (1 is not 1.0), NaN equal to NaN."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(_same_json(ours[k], theirs[k]) for k in ours)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(_same_json(a, b) for a, b in zip(ours, theirs))
    if isinstance(ours, float) and isinstance(theirs, float) and math.isnan(ours):
        return math.isnan(theirs)
    return type(ours) is type(theirs) and ours == theirs


def json_differences(ours: dict, theirs: dict, raw, path: str = "") -> list[str]:
    """Differences between two JSON models; ``raw`` is an untouched pydicom reading of the same
    dataset, for the bytes of private elements."""
    problems = []
    for key in sorted(set(ours) | set(theirs)):
        here = f"{path}{key}"
        if key not in theirs or key not in ours:
            problems.append(f"{here}: only in {'ours' if key in ours else 'pydicom'}")
            continue
        a, b = ours[key], theirs[key]
        tag = int(key, 16)
        if a["vr"] == "UN" and b["vr"] != "UN" and tag >> 16 & 1:
            # pydicom's private dictionary named the VR; we have none: compare the bytes.
            expected = raw.get_item(tag).value or b""
            if base64.b64decode(a.get("InlineBinary", "")) != expected:
                problems.append(f"{here}: private element bytes differ")
            continue
        if a["vr"] == "SQ" and b["vr"] == "SQ" and a.keys() == b.keys():
            items, their_items = a["Value"], b["Value"]
            if len(items) != len(their_items):
                problems.append(f"{here}: {len(items)} items != pydicom's {len(their_items)}")
                continue
            for number, (item, their_item, raw_item) in enumerate(zip(items, their_items, raw[tag].value)):
                problems += json_differences(item, their_item, raw_item, f"{here}[{number}].")
            continue
        if not _same_json(a, b):
            problems.append(f"{here}: {a!r:.160} != pydicom's {b!r:.160}")
    return problems


def _roundtrip(model: dict) -> dict:
    return json.loads(json.dumps(model))


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_json_dict_matches_pydicom(path):
    ours, theirs, forced = _read_both(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            their_model = theirs.to_json_dict()
        except Exception:  # noqa: BLE001 - pydicom cannot encode a value of this file
            # Ours gives a DicomError (a non-number IS), or an encoding pydicom has none for
            # (an empty item of a multi-valued DS as null); anything else fails the test.
            try:
                ours.to_json_dict()
            except dicomfast.DicomError:
                pass
            return
    our_model = ours.to_json_dict()
    problems = json_differences(_roundtrip(our_model), _roundtrip(their_model), _fresh(path, forced))
    assert not problems, "\n".join(problems[:30])


def test_json_text_is_pydicoms():
    path = os.path.join(TEST_FILES, "CT_small.dcm")
    ours = dicomfast.dcmread(path)
    text = to_json(ours)
    assert text == pydicom.dcmread(path).to_json()
    assert json.loads(text) == _roundtrip(ours.to_json_dict())
    assert to_json(ours, dump_handler=lambda model: str(len(model))) == str(len(ours))


@pytest.mark.parametrize("threshold", [0, 3, 4, 1024, 43688, 43689, 43692, 1 << 30])
def test_bulk_data_threshold_and_handler_as_pydicom(threshold):
    """A binary value goes to the handler when its base64 would pass the threshold: more than
    ``threshold // 4 * 3`` bytes (CT_small's pixel data has 32768)."""
    path = os.path.join(TEST_FILES, "CT_small.dcm")
    ours = dicomfast.dcmread(path)
    seen = []

    def handler(element):
        seen.append((element.tag, element.VR, len(element.value)))
        return f"https://example.org/bulk/{element.tag:08X}"

    model = to_json_dict(ours, threshold, handler)
    their_model = pydicom.dcmread(path).to_json_dict(threshold, handler)
    assert model == _roundtrip(their_model)
    for tag, vr, length in seen:
        assert vr in ("OB", "OD", "OF", "OL", "OV", "OW", "UN")
        assert length > threshold // 4 * 3
    assert ("BulkDataURI" in model["7FE00010"]) == (32768 > threshold // 4 * 3)
    assert ours.to_json_dict(bulk_data_threshold=threshold, bulk_data_element_handler=handler) == model


def test_without_a_handler_every_binary_value_is_inline():
    ours = dicomfast.dcmread(os.path.join(TEST_FILES, "CT_small.dcm"))
    model = to_json_dict(ours, bulk_data_threshold=0)
    assert base64.b64decode(model["7FE00010"]["InlineBinary"]) == bytes(ours.PixelData)


def test_json_shapes():
    """PN components, AT as hex, numbers as numbers, empty values without "Value", SQ always."""
    ds = dicomfast.dcmread(os.path.join(CHARSET_FILES, "chrH31.dcm"))
    model = ds.to_json_dict()
    assert model["00100010"] == {
        "vr": "PN",
        "Value": [
            {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}
        ],
    }
    plan = dicomfast.dcmread(os.path.join(TEST_FILES, "rtplan.dcm")).to_json_dict()
    beam = plan["300A00B0"]["Value"][0]
    assert plan["300A00B0"]["vr"] == "SQ" and isinstance(beam, dict)
    assert beam["300A00C0"] == {"vr": "IS", "Value": [1]}  # BeamNumber
    control_point = beam["300A0111"]["Value"][0]
    assert control_point["300A011E"] == {"vr": "DS", "Value": [0.0]}  # GantryAngle
    assert control_point["300A0128"] == {"vr": "DS"}  # TableTopVerticalPosition, empty
    ct = dicomfast.dcmread(os.path.join(TEST_FILES, "CT_small.dcm")).to_json_dict()
    assert ct["00080050"] == {"vr": "SH"}  # AccessionNumber, empty
    assert ct["00280010"] == {"vr": "US", "Value": [128]}
    assert ct["00200032"]["Value"] == [-158.135803, -179.035797, -75.699997]


def test_json_at_values_are_hex_strings():
    # A small dataset of our own with an AT value (Frame Increment Pointer) in implicit VR.
    body = b"\x28\x00\x09\x00\x04\x00\x00\x00\x18\x00\x63\x10"
    ds = dicomfast.dcmread(body, force=True)
    assert ds.to_json_dict() == {"00280009": {"vr": "AT", "Value": ["00181063"]}}


# -- pydicom ----------------------------------------------------------------------------------


def element_differences(ours, theirs, path: str = "") -> list[str]:
    """Differences between two pydicom datasets, element by element, at every depth."""
    problems = []
    our_tags = [int(t) for t in ours.keys()]
    their_tags = [int(t) for t in theirs.keys()]
    if our_tags != their_tags:
        only_ours = [f"{t:08X}" for t in sorted(set(our_tags) - set(their_tags))]
        only_theirs = [f"{t:08X}" for t in sorted(set(their_tags) - set(our_tags))]
        problems.append(f"{path or 'top'}: tags differ: ours only {only_ours}, pydicom's only {only_theirs}")
    for tag in sorted(set(our_tags) & set(their_tags)):
        here = f"{path}({tag >> 16:04X},{tag & 0xFFFF:04X})"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                theirs_element = theirs[tag]
            except Exception as exc:  # noqa: BLE001 - pydicom cannot convert it: nor may we
                try:
                    ours[tag]
                except Exception:  # noqa: BLE001
                    continue
                problems.append(f"{here}: pydicom raised {exc!r}, our conversion did not")
                continue
            try:
                our_element = ours[tag]
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{here}: our conversion raised {exc!r}")
                continue
        if our_element.VR == "SQ" and theirs_element.VR == "SQ":
            if len(our_element.value) != len(theirs_element.value):
                problems.append(f"{here}: {len(our_element.value)} items != {len(theirs_element.value)}")
                continue
            for number, (a, b) in enumerate(zip(our_element.value, theirs_element.value)):
                problems += element_differences(a, b, f"{here}[{number}].")
            continue
        if our_element != theirs_element:
            problems.append(
                f"{here}: {our_element.VR} {our_element.value!r:.100} != pydicom's "
                f"{theirs_element.VR} {theirs_element.value!r:.100}"
            )
    return problems


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_to_pydicom_matches_dcmread(path):
    ours, theirs, _ = _read_both(path)
    converted = ours.to_pydicom()
    assert isinstance(converted, pydicom.Dataset)
    problems = element_differences(converted, theirs)
    if theirs.file_meta is not None and len(theirs.file_meta):
        assert isinstance(converted.file_meta, pydicom.dataset.FileMetaDataset)
        problems += element_differences(converted.file_meta, theirs.file_meta, "meta:")
    assert not problems, "\n".join(problems[:30])
    # The encoding the data is in. pydicom records the transfer syntax's even where it found the
    # data in the other one (SC_rgb_jpeg.dcm: explicit VR syntax, implicit VR data); we record what
    # the data is, which its raw elements need.
    assert converted.original_encoding == (ours.is_implicit_VR, ours.is_little_endian)
    assert converted.original_character_set == theirs.original_character_set
    assert getattr(converted, "preamble", None) == theirs.preamble
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert converted == theirs


def _item_encodings(dataset, path=""):
    """(path, original encoding, character set) of every item, depth first."""
    out = []
    for element in dataset:
        if element.VR == "SQ":
            for number, item in enumerate(element.value):
                here = f"{path}({element.tag >> 16:04X},{element.tag & 0xFFFF:04X})[{number}]"
                charset = item.original_character_set
                # pydicom has "iso8859" and ["iso8859"] for the same default: compare as lists
                charset = charset if isinstance(charset, list) else [charset]
                out.append((here, item.original_encoding, charset))
                out += _item_encodings(item, here + ".")
    return out


# A sequence written as UN is implicit VR inside (PS3.5 6.2.2); the scanner reads its items so,
# but the Dataset view does not report it for them yet (test_dataset_api has the core test).


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_to_pydicom_items_record_their_encoding(path):
    """Each item records the encoding it was read in and its character set, as pydicom's do
    (pydicom uses them to decode raw elements and to write)."""
    ours, theirs, _ = _read_both(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _item_encodings(ours.to_pydicom()) == _item_encodings(theirs)


# Files written back by pydicom and read again by dicomfast, one per feature: explicit VR with
# private elements, implicit VR, big endian, deflate, encapsulated pixel data, a character set
# and nested sequences, UN sequences, private sequences.
WRITE_BACK = [
    ("test_files", "CT_small.dcm"),
    ("test_files", "MR_small_implicit.dcm"),
    ("test_files", "MR_small_bigendian.dcm"),
    ("test_files", "image_dfl.dcm"),
    ("test_files", "JPEG2000.dcm"),
    ("test_files", "rtplan.dcm"),
    ("charset_files", "chrSQEncoding.dcm"),
    ("test_files", "UN_sequence.dcm"),
    ("test_files", "nested_priv_SQ.dcm"),
]
# Those pydicom writes back byte for byte (no group lengths to drop, DS/IS text kept).
BYTE_IDENTICAL = {"CT_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "rtplan.dcm"}


def _plain(dataset, path=""):
    """Every element as (path, tag, VR, value) with sequences flattened; group lengths left out,
    since pydicom does not write them."""
    out = []
    for element in dataset:
        if element.tag & 0xFFFF == 0 and element.tag >> 16 != 2:
            continue
        if element.VR == "SQ":
            out.append((path, element.tag, "SQ", len(element.value)))
            for number, item in enumerate(element.value):
                out += _plain(item, f"{path}{element.tag:08X}[{number}].")
            continue
        value = element.value
        out.append((path, element.tag, element.VR, bytes(value) if isinstance(value, memoryview) else value))
    return out


@pytest.mark.parametrize("folder, name", WRITE_BACK, ids=[n for _, n in WRITE_BACK])
def test_pydicom_writes_the_conversion_back(folder, name):
    path = os.path.join(os.path.dirname(pydicom.__file__), "data", folder, name)
    ours = dicomfast.dcmread(path)
    out = io.BytesIO()
    pydicom.dcmwrite(out, ours.to_pydicom())
    written = out.getvalue()
    again = dicomfast.dcmread(written)
    assert again.is_implicit_VR == ours.is_implicit_VR
    assert again.is_little_endian == ours.is_little_endian
    assert again.preamble == ours.preamble
    assert _plain(again.file_meta) == _plain(ours.file_meta)
    assert _plain(again) == _plain(ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert pydicom.dcmread(io.BytesIO(written)) == pydicom.dcmread(path)
    if name in BYTE_IDENTICAL:
        with open(path, "rb") as f:
            assert written == f.read()


def test_an_item_converts_with_the_character_set_it_inherits():
    path = os.path.join(CHARSET_FILES, "chrSQEncoding1.dcm")  # the item has no charset of its own
    ours = dicomfast.dcmread(path)
    theirs = pydicom.dcmread(path)
    item = ours.RequestedProcedureCodeSequence[0]
    converted = item.to_pydicom()
    their_item = theirs.RequestedProcedureCodeSequence[0]
    assert converted == their_item
    assert converted.original_character_set == their_item.original_character_set
    assert converted.PatientName == their_item.PatientName and not str(converted.PatientName).isascii()
    assert getattr(converted, "file_meta", None) is None


def test_header_reads_convert():
    path = os.path.join(TEST_FILES, "CT_small.dcm")
    header = dicomfast.dcmread(path, stop_before_pixels=True).to_pydicom()
    assert header == pydicom.dcmread(path, stop_before_pixels=True)
    some = dicomfast.dcmread(path, specific_tags=["PatientName", 0x00280010]).to_pydicom()
    assert [int(t) for t in some.keys()] == [0x00080005, 0x00100010, 0x00280010]
    assert some.PatientName == "CompressedSamples^CT1" and some.Rows == 128


def test_converted_values_keep_their_text():
    """DS and IS keep the text of the file, so that pydicom writes them as they were."""
    converted = dicomfast.dcmread(os.path.join(TEST_FILES, "CT_small.dcm")).to_pydicom()
    assert [v.original_string for v in converted.ImagePositionPatient] == [
        "-158.135803", "-179.035797", "-75.699997"
    ]
    assert isinstance(converted.PatientName, pydicom.valuerep.PersonName)
    assert isinstance(converted.SOPClassUID, pydicom.uid.UID)
    assert converted.SOPClassUID.name == "CT Image Storage"
    converted.PatientName = "Edited^Name"  # an editable pydicom dataset
    assert converted.PatientName == "Edited^Name"


def test_private_elements_are_kept_with_pydicoms_vrs():
    path = os.path.join(CHARSET_FILES, "chrJapMulti.dcm")  # implicit VR private elements
    ours = dicomfast.dcmread(path)
    theirs = pydicom.dcmread(path)
    # the VR from the private dictionary, by the element's creator, as pydicom gives it
    assert ours[0x00191013].VR == theirs[0x00191013].VR == "LO"
    assert ours[0x00191013].value == theirs[0x00191013].value
    converted = ours.to_pydicom()
    element = converted[0x00191013]
    assert element.VR == "LO" and element.value == "E25"
    assert converted[0x00190010].value == pydicom.dcmread(path)[0x00190010].value


def test_missing_pydicom_says_what_to_install(monkeypatch):
    ds = dicomfast.dcmread(os.path.join(TEST_FILES, "rtplan.dcm"))
    monkeypatch.setitem(sys.modules, "pydicom", None)
    with pytest.raises(ImportError, match="pip install pydicom"):
        ds.to_pydicom()
