"""Writing (dicomfast/writer.py) and editing (dicomfast/dataset.py), against pydicom.

* Every corpus file read and written unchanged gives identical bytes.
* Every corpus file written in each uncompressed transfer syntax is read by pydicom to the same
  elements and pixels as the input (values compared in native byte order).
* Edits (set, add, delete, sequences at any depth) written and read back by pydicom give what the
  same edits give in pydicom.
* A value that cannot be encoded, or a dataset that cannot be written, raises before anything is
  written; a path is written atomically.
"""
from __future__ import annotations

import copy
import io
import os
import pickle
import warnings

import numpy as np
import pydicom
import pytest

import dicomfast
from corpus import corpus_files, corpus_id
from dicomfast.writer import dcmwrite

IMPLICIT, EXPLICIT, BIG, DEFLATED = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
                                     "1.2.840.10008.1.2.1.99")
SYNTAXES = {"implicit": IMPLICIT, "explicit": EXPLICIT, "big": BIG, "deflated": DEFLATED}
# bytes of one value of each swapped VR, to compare binary values whatever the byte order
_UNIT = {"OW": "u2", "OF": "u4", "OL": "u4", "OD": "u8", "OV": "u8", "US or OW": "u2", "US or SS or OW": "u2"}


def _readable():
    out = []
    for path in corpus_files():
        try:
            dicomfast.dcmread(path, force=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pydicom.dcmread(path, force=True)
        except Exception:  # noqa: BLE001 - files either reader refuses are not write tests
            continue
        out.append(path)
    return out


READABLE = _readable()


def _pydicom(data: bytes | os.PathLike) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data) if isinstance(data, bytes) else data, force=True)


def _big(ds: pydicom.Dataset) -> bool:
    return ds.original_encoding[1] is False


def elements(ds: pydicom.Dataset, big: bool, bits: int | None = None) -> list:
    """pydicom's elements of ``ds`` (and of its items), without group lengths and the meta group,
    binary values in little endian order (Pixel Data of 32 or 64 bits by sample, as readers take
    it) and without trailing padding."""
    out = []
    bits = ds.get("BitsAllocated", bits)
    for elem in ds:
        if elem.tag.element == 0 or elem.tag.group == 0x0002:
            continue
        if elem.VR == "SQ":
            out.append((elem.tag, "SQ", [elements(item, big, bits) for item in elem.value]))
            continue
        value = elem.value
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value)
            unit = _UNIT.get(elem.VR)
            if elem.tag == 0x7FE00010 and unit and bits in (32, 64):
                unit = f"u{bits // 8}"
            if unit and len(value) % int(unit[1]) == 0:
                value = np.frombuffer(value, (">" if big else "<") + unit).astype("<" + unit).tobytes()
            value = value.rstrip(b"\0")
        elif elem.tag.is_private and value in ("", None):
            value = None  # an empty private value: '' or None by whether its VR is known
        out.append((elem.tag, str(value) if isinstance(value, pydicom.valuerep.PersonName) else value))
    return out


def _written(ds, **kwargs) -> bytes:
    out = io.BytesIO()
    dcmwrite(out, ds, **kwargs)
    return out.getvalue()


# -- unchanged files --------------------------------------------------------------------------

@pytest.mark.parametrize("path", READABLE, ids=corpus_id)
def test_an_unchanged_file_is_written_byte_for_byte(path, tmp_path):
    ds = dicomfast.dcmread(path, force=True)
    source = path.read_bytes()
    assert _written(ds) == source
    target = tmp_path / "out.dcm"
    ds.save_as(target)
    assert target.read_bytes() == source


# -- transfer syntaxes ------------------------------------------------------------------------

def _known_difference(path, syntax: str, ref: list, back: list) -> str | None:
    """Why pydicom reads a converted file differently, where the conversion cannot keep it:
    implicit VR loses the VR of private elements without a known creator and the written choice
    of an ambiguous VR (US or SS); a byte-order change cannot swap values whose VR is unknown."""
    first = _first_difference(ref, back)
    if first is None:
        return None
    if syntax == "big" and first == 0x7FE00010:
        return ("32-bit Pixel Data written as OW in big endian: DCMTK swaps 16-bit words, pydicom and "
                "dicomfast whole samples (the standard's OW is 16-bit words)")
    if syntax in ("implicit", "big") and (first.is_private or _ambiguous(first)):
        return f"{first}: its VR is not in the file"
    return None


def _first_difference(a: list, b: list):
    """The tag of the first element (at any depth) where two element lists differ."""
    for x, y in zip(a, b):
        if x == y:
            continue
        if x[0] == y[0] and x[1] == y[1] == "SQ" and len(x[2]) == len(y[2]):
            for p, q in zip(x[2], y[2]):
                found = _first_difference(p, q)
                if found is not None:
                    return found
        return x[0] if x[0] <= y[0] else y[0]
    if len(a) != len(b):
        return (a if len(a) > len(b) else b)[min(len(a), len(b))][0]
    return None


def _ambiguous(tag) -> bool:
    from pydicom.datadict import dictionary_VR

    try:
        return " or " in dictionary_VR(tag)
    except KeyError:
        return True


@pytest.mark.parametrize("name", list(SYNTAXES))
@pytest.mark.parametrize("path", READABLE, ids=corpus_id)
def test_written_in_each_syntax_reads_back_in_pydicom(path, name):
    ds = dicomfast.dcmread(path, force=True)
    if 0x7FE00010 in ds and ds[0x7FE00010].is_undefined_length:
        with pytest.raises(dicomfast.DicomError):  # compressed pixel data: only its own syntax
            _written(ds, transfer_syntax=SYNTAXES[name], enforce_file_format=True)
        return
    if ds.get("SOPInstanceUID") is None or ds.get("SOPClassUID") is None:
        pytest.skip("no SOP Class/Instance UID for a conformant meta group")
    ref_ds = _pydicom(path)
    ref = elements(ref_ds, _big(ref_ds))
    data = _written(ds, transfer_syntax=SYNTAXES[name], enforce_file_format=True)
    back_ds = _pydicom(data)
    assert back_ds.file_meta.TransferSyntaxUID == SYNTAXES[name]
    back = elements(back_ds, name == "big")
    if back != ref:
        reason = _known_difference(path, name, ref, back)
        assert reason is not None, "pydicom reads the written file differently"
        pytest.xfail(reason)
    # and dicomfast reads its own output to the same elements and pixels
    ours = dicomfast.dcmread(data)
    assert [e.tag for e in ours] == [e.tag for e in ds]
    try:
        expected = dicomfast.pixel_array(ds)
    except dicomfast.DicomError:
        return
    np.testing.assert_array_equal(dicomfast.pixel_array(ours), expected)


# -- edits ------------------------------------------------------------------------------------

def test_set_delete_add_and_write(tmp_path):
    path = next(p for p in READABLE if p.name == "CT_small.dcm")
    ds = dicomfast.dcmread(path)
    ref = _pydicom(path)
    for target in (ds, ref):
        target.PatientName = "Doe^Jane"
        target.PatientID = "12345"
        if "StudyDescription" in target:
            del target.StudyDescription
        target.add_new(0x00091001, "LO", "a private value")
        target.InstanceNumber = 7
    del ds.SliceThickness
    del ref.SliceThickness
    assert ds.PatientName == "Doe^Jane" and "SliceThickness" not in ds
    assert ds[0x00091001].value == "a private value" and ds[0x00091001].VR == "LO"
    out = tmp_path / "edited.dcm"
    ds.save_as(out)
    assert elements(_pydicom(out), False) == elements(ref, False)
    np.testing.assert_array_equal(dicomfast.pixel_array(out), ref.pixel_array)


def test_sequences_edited_at_depth():
    path = next(p for p in READABLE if p.name == "rtplan.dcm")
    ds = dicomfast.dcmread(path)
    ref = _pydicom(path)
    for target in (ds, ref):
        beam = target.BeamSequence[0]
        beam.BeamName = "EDITED"
        beam.ControlPointSequence[0].GantryAngle = 90.0
        del target.DoseReferenceSequence[1]
    new_item = dicomfast.Dataset()
    new_item.ReferencedSOPInstanceUID = "1.2.3.4"
    ds.ReferencedStructureSetSequence.append(new_item)
    ref_item = pydicom.Dataset()
    ref_item.ReferencedSOPInstanceUID = "1.2.3.4"
    ref.ReferencedStructureSetSequence.append(ref_item)
    assert ds.is_modified()
    back = _pydicom(_written(ds))
    assert elements(back, False) == elements(ref, False)


def test_a_dataset_from_nothing(tmp_path):
    ds = dicomfast.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1145.99.1"
    ds.PatientName = "Nobody"
    ds.Rows, ds.Columns = 4, 6
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    pixels = np.arange(24, dtype=np.uint16).reshape(4, 6)
    ds.PixelData = pixels.tobytes()
    out = tmp_path / "new.dcm"
    ds.save_as(out, enforce_file_format=True)
    back = _pydicom(out)
    assert back.PatientName == "Nobody"
    assert back.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert back.file_meta.TransferSyntaxUID == EXPLICIT
    np.testing.assert_array_equal(back.pixel_array, pixels)
    np.testing.assert_array_equal(dicomfast.pixel_array(out), pixels)
    assert out.read_bytes()[128:132] == b"DICM"


def test_copy_and_deepcopy():
    path = next(p for p in READABLE if p.name == "rtplan.dcm")
    ds = dicomfast.dcmread(path)
    shallow = copy.copy(ds)
    deep = copy.deepcopy(ds)
    deep.PatientName = "Deep"
    deep.BeamSequence[0].BeamName = "DEEP"
    assert ds.PatientName != "Deep" and ds.BeamSequence[0].BeamName != "DEEP"
    shallow.PatientID = "shallow"
    assert ds.PatientID != "shallow"
    assert elements(_pydicom(_written(deep)), False) != elements(_pydicom(path), False)


def test_an_edited_dataset_pickles_as_its_written_bytes():
    path = next(p for p in READABLE if p.name == "CT_small.dcm")
    ds = dicomfast.dcmread(path)
    ds.PatientName = "Pickled^Edit"
    back = pickle.loads(pickle.dumps(ds))
    assert back.PatientName == "Pickled^Edit"
    assert list(back) == list(ds)


def test_private_block():
    ds = dicomfast.Dataset()
    block = ds.private_block(0x0011, "ACME 1.1", create=True)
    block.add_new(0x01, "SH", "value")
    assert ds[0x00110010].value == "ACME 1.1" and ds[0x00111001].value == "value"
    assert ds.private_block(0x0011, "ACME 1.1")[0x01].value == "value"
    other = ds.private_block(0x0011, "OTHER", create=True)
    assert other.get_tag(0x02) == 0x00111102
    with pytest.raises(KeyError):
        ds.private_block(0x0011, "MISSING")
    with pytest.raises(ValueError):
        ds.private_block(0x0010, "EVEN", create=True)


# -- errors -----------------------------------------------------------------------------------

def test_nothing_is_written_when_a_write_fails(tmp_path):
    ds = dicomfast.Dataset()
    ds.PatientName = "No SOP UIDs"
    target = tmp_path / "x.dcm"
    with pytest.raises(dicomfast.InvalidValueError):
        dcmwrite(target, ds, enforce_file_format=True)  # no SOP Instance UID for the meta group
    assert not target.exists() and not list(tmp_path.iterdir())
    with pytest.raises(dicomfast.InvalidValueError):
        dcmwrite(target, ds, transfer_syntax=DEFLATED)  # deflated without a meta group
    assert not list(tmp_path.iterdir())
    with pytest.raises(TypeError):
        dcmwrite(target, "not a dataset")
    with pytest.raises(TypeError):
        dcmwrite(3, ds)


def test_edits_of_items_cannot_be_written_alone():
    ds = dicomfast.dcmread(next(p for p in READABLE if p.name == "rtplan.dcm"))
    with pytest.raises(TypeError):
        _written(ds.BeamSequence[0])


# -- property: random edits, as pydicom makes them --------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TEXT = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ^-."),
                min_size=1, max_size=16).map(str.strip).filter(bool)
_SETTABLE = [  # (keyword, strategy of values valid for its VR, as pydicom and dicomfast accept them)
    ("PatientName", _TEXT),
    ("PatientID", _TEXT),
    ("StudyDescription", _TEXT),
    ("InstanceNumber", st.integers(-1000, 100000)),
    ("SliceThickness", st.sampled_from([0.5, 1.0, 2.5, 3.0, 12.25])),
    ("Manufacturer", _TEXT),
    ("StationName", st.text("ABCDEFGHIJ0123456789", min_size=1, max_size=16)),
]
_ITEM_TEXT = [("BeamName", _TEXT), ("BeamDescription", _TEXT), ("Manufacturer", _TEXT)]


@st.composite
def _edits(draw):
    edits = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["set", "delete", "item_set", "item_append", "item_delete"]))
        if kind == "set":
            keyword, values = draw(st.sampled_from(_SETTABLE))
            edits.append(("set", keyword, draw(values)))
        elif kind == "delete":
            edits.append(("delete", draw(st.sampled_from(
                ["PatientID", "StudyDescription", "Manufacturer", "OperatorsName", "RTPlanLabel"]))))
        elif kind == "item_set":
            keyword, values = draw(st.sampled_from(_ITEM_TEXT))
            edits.append(("item_set", keyword, draw(values)))
        elif kind == "item_append":
            edits.append(("item_append", draw(_TEXT)))
        else:
            edits.append(("item_delete",))
    return edits


def _apply(ds, edits, new_dataset) -> None:
    for edit in edits:
        if edit[0] == "set":
            setattr(ds, edit[1], edit[2])
        elif edit[0] == "delete":
            if edit[1] in ds:
                delattr(ds, edit[1])
        elif edit[0] == "item_set":
            setattr(ds.BeamSequence[0], edit[1], edit[2])
        elif edit[0] == "item_append":
            item = new_dataset()
            item.ReferencedSOPInstanceUID = "1.2.3." + str(len(ds.ReferencedStructureSetSequence))
            item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
            item.Manufacturer = edit[1]
            ds.ReferencedStructureSetSequence.append(item)
        elif len(ds.DoseReferenceSequence) > 0:
            del ds.DoseReferenceSequence[0]


@pytest.mark.parametrize("name", list(SYNTAXES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=_edits())
def test_random_edits_read_back_as_pydicoms(name, edits):
    path = next(p for p in READABLE if p.name == "rtplan.dcm")
    ours, ref = dicomfast.dcmread(path), _pydicom(path)
    _apply(ours, edits, dicomfast.Dataset)
    _apply(ref, edits, pydicom.Dataset)
    back = _pydicom(_written(ours, transfer_syntax=SYNTAXES[name], enforce_file_format=True))
    assert elements(back, name == "big") == elements(ref, _big(ref))
    # and dicomfast reads its own output to the same values
    again = dicomfast.dcmread(_written(ours, transfer_syntax=SYNTAXES[name], enforce_file_format=True))
    assert [(e.tag, e.VR) for e in again] == [(e.tag, e.VR) for e in ours]


def test_pixel_array_of_edited_pixel_attributes():
    """The Image Pixel module read for pixels sees the edits: a changed Rows/Columns and new Pixel
    Data give the array pydicom gives for the same edits; a dataset from nothing too."""
    path = next(p for p in READABLE if p.name == "CT_small.dcm")
    ours, ref = dicomfast.dcmread(path), _pydicom(path)
    flipped = np.ascontiguousarray(ref.pixel_array[::-1])
    for target in (ours, ref):
        target.Rows, target.Columns = 64, 256
        target.PixelData = flipped.tobytes()
    np.testing.assert_array_equal(ours.pixel_array, ref.pixel_array)
    del ours.PixelData
    with pytest.raises(dicomfast.PixelDataError):
        ours.pixel_array
    new = dicomfast.Dataset()
    new.Rows, new.Columns, new.SamplesPerPixel = 2, 3, 1
    new.BitsAllocated = new.BitsStored = 16
    new.PixelRepresentation = 1
    new.PhotometricInterpretation = "MONOCHROME2"
    values = np.array([[-3, 0, 3], [100, -100, 7]], np.int16)
    new.PixelData = values.tobytes()
    np.testing.assert_array_equal(new.pixel_array, values)


# -- dciodvfy (dicom3tools): what we write is no less valid than what we read -----------------

import shutil  # noqa: E402
import subprocess  # noqa: E402

DCIODVFY = shutil.which("dciodvfy")
_CHECKED_BY_DCIODVFY = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtdose.dcm", "rtstruct.dcm",
                        "SC_rgb.dcm", "MR_small_bigendian.dcm", "chrH31.dcm", "image_dfl.dcm"]


def _dciodvfy_errors(path) -> set[str]:
    run = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=60)
    return {line.strip() for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")}


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (Debian's dicom3tools) is not installed")
@pytest.mark.parametrize("name", list(SYNTAXES))
@pytest.mark.parametrize("path", [p for p in READABLE if p.name in _CHECKED_BY_DCIODVFY], ids=corpus_id)
def test_dciodvfy_finds_no_new_error_in_what_we_write(path, name, tmp_path):
    if name == "deflated":
        pytest.skip("dciodvfy does not read deflated datasets (not even pydicom's image_dfl.dcm)")
    ds = dicomfast.dcmread(path, force=True)
    if ds.get("SOPInstanceUID") is None:
        pytest.skip("no SOP Instance UID for a conformant meta group")
    before = _dciodvfy_errors(path)
    if "Error - Dicom dataset read failed" in before:
        pytest.skip("dciodvfy cannot read the input (a deflated file)")
    out = tmp_path / "out.dcm"
    ds.save_as(out, transfer_syntax=SYNTAXES[name], enforce_file_format=True)
    new = _dciodvfy_errors(out) - before
    assert not new, f"dciodvfy reports errors the input does not have: {sorted(new)}"


DCMCONV = shutil.which("dcmconv")


@pytest.mark.skipif(DCMCONV is None, reason="DCMTK's dcmconv is not installed")
@pytest.mark.parametrize("name", list(SYNTAXES))
@pytest.mark.parametrize("path", [p for p in READABLE if p.name in _CHECKED_BY_DCIODVFY], ids=corpus_id)
def test_dcmtk_reads_what_we_write(path, name, tmp_path):
    """DCMTK reads each written file without an error, and its own re-encoding of it (explicit VR
    little endian) is read by pydicom to the input's elements."""
    ds = dicomfast.dcmread(path, force=True)
    if ds.get("SOPInstanceUID") is None:
        pytest.skip("no SOP Instance UID for a conformant meta group")
    out, converted = tmp_path / "out.dcm", tmp_path / "dcmtk.dcm"
    ds.save_as(out, transfer_syntax=SYNTAXES[name], enforce_file_format=True)
    run = subprocess.run([DCMCONV, "--write-xfer-little", str(out), str(converted)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "E:" not in run.stderr, run.stderr
    ref = _pydicom(path)
    back = elements(_pydicom(converted), False)
    expected = elements(ref, _big(ref))
    if back != expected:
        reason = _known_difference(path, name, expected, back)
        assert reason is not None, "DCMTK reads the written file differently"
        pytest.xfail(reason)


# ---------------------------------------------------------------------------------------------
# the fast paths: several edits in one call, the tag list, deleted records out of the runs, writev


def _ct_small():
    return dicomfast.dcmread(next(p for p in READABLE if p.name == "CT_small.dcm"))


def test_set_values_is_add_new_in_a_loop():
    item = dicomfast.Dataset()
    item.CodeValue = "113100"
    edits = [
        (0x00100010, "PN", "Doe^John"), (0x00080080, "LO", None), (0x00200013, "IS", "7"),
        (0x00280030, "DS", [0.5, "0.25"]), (0x00080005, "CS", "ISO_IR 100"),  # a new character set
        (0x00081030, "LO", "Ünïcode after the character set"), (0x00091001, "LO", "private"),
        (0x00400275, "SQ", [item]), (0x00280010, "US", 64), ("StudyDate", "DA", "20240229"),
    ]
    one, many = _ct_small(), _ct_small()
    for tag, vr, value in edits:
        one.add_new(tag, vr, value)
    many.set_values(edits)
    assert list(one) == list(many)
    a, b = io.BytesIO(), io.BytesIO()
    one.save_as(a)
    many.save_as(b)
    assert a.getvalue() == b.getvalue()
    # a refused value: the same error, and the elements before it set
    bad = [(0x00100020, "LO", "ID-1"), (0x00080060, "CS", "lower case"), (0x00100030, "DA", "20000101")]
    one, many = _ct_small(), _ct_small()
    with pytest.raises(dicomfast.InvalidValueError) as expected:
        for tag, vr, value in bad:
            one.add_new(tag, vr, value)
    with pytest.raises(dicomfast.InvalidValueError) as got:
        many.set_values(bad)
    assert str(got.value) == str(expected.value)
    assert many.PatientID == one.PatientID == "ID-1" and many.PatientBirthDate == one.PatientBirthDate
    with pytest.raises(ValueError):
        many.set_values([(0x00100020, "xx", "bad VR")])


def test_tag_list_is_keys_as_ints():
    ds = _ct_small()
    ds.add_new(0x00091001, "LO", "new")
    del ds.PatientName
    tags = ds.tag_list()
    assert tags == [int(t) for t in ds.keys()] and all(type(t) is int for t in tags)
    assert 0x00091001 in tags and 0x00100010 not in tags


def test_deleted_records_are_left_out_of_the_runs():
    ds = _ct_small()
    records = [(t, ds[t].file_offset) for t in ds.tag_list()]
    dropped = {records[3][0], records[4][0], records[10][0]}
    runs = ds.write_runs(set(), [], False, dropped)
    covered = [(start, end) for _, index, start, end in runs]
    assert all(index == -1 for _, index, _, _ in runs) and len(runs) == 3  # ended at each dropped record
    for tag, offset in records:
        inside = any(start <= offset < end for start, end in covered)
        assert inside == (tag not in dropped), hex(tag)


def test_writes_resume_after_short_writes(tmp_path, monkeypatch):
    from dicomfast import writer

    ds = _ct_small()
    ds.PatientName = "Short^Writes"
    expected = io.BytesIO()
    ds.save_as(expected)
    real_writev = os.writev
    calls = []

    def short_writev(fd, buffers):  # at most 1000 bytes a call, across chunk boundaries
        calls.append(len(buffers))
        data = b"".join(bytes(b) for b in buffers)[:1000]
        return real_writev(fd, [data])

    monkeypatch.setattr(os, "writev", short_writev)
    monkeypatch.setattr(writer, "_IOV_MAX", 3)  # batches of three chunks
    ds.save_as(tmp_path / "out.dcm")
    assert (tmp_path / "out.dcm").read_bytes() == expected.getvalue()
    assert max(calls) == 3 and len(calls) > len(expected.getvalue()) // 1000
    assert [p.name for p in tmp_path.iterdir()] == ["out.dcm"]


def test_a_temporary_name_in_use_is_skipped(tmp_path, monkeypatch):
    import itertools

    from dicomfast import writer

    monkeypatch.setattr(writer, "_temporary_names", itertools.count(7))
    taken = tmp_path / f".dicomfast-{os.getpid()}-7.tmp"
    taken.write_bytes(b"someone else's")
    ds = _ct_small()
    ds.save_as(tmp_path / "out.dcm")
    assert taken.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([taken.name, "out.dcm"])
    assert (tmp_path / "out.dcm").stat().st_mode & 0o777 == 0o600 & ~_umask()
    assert dicomfast.dcmread(tmp_path / "out.dcm").PatientName == ds.PatientName


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
