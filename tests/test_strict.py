"""``strict=`` on every reader: by default a file with a tolerated defect is read (its defects on
``ds.defects``), with ``strict=True`` it raises; the same option, spelled the same, on dcmread, the
pixel readers, the batch and volume readers, index and the command line. Never a global setting."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

import dicomfast
from dicomfast import cli
from dicomfast.defects import DefectError
from dicomfast.errors import DicomError, FileReadError


@pytest.fixture(scope="module")
def bad_meta(tmp_path_factory) -> Path:
    """CT_small with a wrong File Meta Information Group Length (60, where the group has 192 bytes):
    pydicom reads the group to its first tag outside group 0002, and so does a tolerant read."""
    data = bytearray(Path(get_testdata_file("CT_small.dcm")).read_bytes())
    at = data.index(b"\x02\x00\x00\x00UL")
    data[at + 8:at + 12] = struct.pack("<I", 60)
    path = tmp_path_factory.mktemp("strict") / "bad_meta.dcm"
    path.write_bytes(bytes(data))
    return path


def _check_defect(ds) -> None:
    assert [(d.kind, d.tag, d.offset) for d in ds.defects] == [("meta_group_length", 0x00020000, 132)]


def test_dcmread_both_modes(bad_meta):
    ds = dicomfast.dcmread(bad_meta)
    _check_defect(ds)
    theirs = pydicom.dcmread(bad_meta)
    assert ds.file_meta.keys() == [int(t) for t in theirs.file_meta.keys()]
    assert ds.keys() == [int(t) for t in theirs.keys()]
    with pytest.raises(DefectError) as info:
        dicomfast.dcmread(bad_meta, strict=True)
    assert isinstance(info.value, DicomError) and info.value.defect.kind == "meta_group_length"
    assert dicomfast.dcmread(get_testdata_file("CT_small.dcm"), strict=True).defects == []


@pytest.mark.parametrize("reader", ["pixel_array", "iter_frames", "read_pixels", "read_pixels_frame", "read_batch",
                                    "DicomDataset", "load_series"])
def test_every_pixel_reader_takes_strict(bad_meta, reader):
    expected = pydicom.dcmread(bad_meta).pixel_array
    rescaled = pydicom.pixels.apply_modality_lut(expected, pydicom.dcmread(bad_meta)).astype(np.float32)
    path = str(bad_meta)
    call = {
        "pixel_array": lambda strict: (dicomfast.pixel_array(path, strict=strict), expected),
        "iter_frames": lambda strict: (next(dicomfast.iter_frames(path, strict=strict)), expected),
        "read_pixels": lambda strict: (dicomfast.read_pixels(path, rescale=False, strict=strict), expected),
        "read_pixels_frame": lambda strict: (dicomfast.read_pixels(path, frame=0, strict=strict), rescaled),
        "read_batch": lambda strict: (dicomfast.read_batch([path], strict=strict)[0], rescaled),
        "DicomDataset": lambda strict: (dicomfast.DicomDataset([path], strict=strict)[0], rescaled),
        "load_series": lambda strict: (dicomfast.load_series([path], strict=strict).array[0], rescaled),
    }[reader]
    got, want = call(False)
    assert np.array_equal(got, want)
    with pytest.raises(DicomError) as info:
        call(True)
    error = info.value
    if isinstance(error, FileReadError):  # the batch and volume readers name the file
        assert error.path == path
        error = error.__cause__
    assert isinstance(error, DefectError) and error.defect.kind == "meta_group_length"


def test_index_both_modes(bad_meta):
    pytest.importorskip("pyarrow")
    tolerant = dicomfast.index([str(bad_meta)], workers=1).to_pylist()[0]
    assert tolerant["error"] is None and tolerant["defects"] == ["meta_group_length"]
    assert tolerant["sop_instance_uid"] == pydicom.dcmread(bad_meta).SOPInstanceUID
    strict = dicomfast.index([str(bad_meta)], workers=1, strict=True).to_pylist()[0]
    assert strict["error_type"] == "DefectError" and strict["defects"] is None and strict["sop_instance_uid"] is None


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_dump_strict_and_defects(capsys, bad_meta):
    code, out, err = run(capsys, "dump", bad_meta, "--defects")
    assert code == cli.EXIT_OK and "(0010,0010) PN [CompressedSamples^CT1]" in out
    assert out.rstrip().splitlines()[-2:] == [
        "# 1 defect tolerated (--strict refuses the file):",
        "#   meta_group_length (0002,0000) at byte 132: meta group read up to the first tag outside group 0002"]
    code, out, err = run(capsys, "dump", get_testdata_file("CT_small.dcm"), "--defects", "--no-pixels")
    assert code == cli.EXIT_OK and out.rstrip().endswith("# no defects")
    code, out, err = run(capsys, "dump", bad_meta, "--strict")
    assert code == cli.EXIT_FAILED and "DefectError" in err and "meta_group_length" in err
    assert run(capsys, "dump", bad_meta, "--defects", "--json")[0] == cli.EXIT_USAGE


@pytest.mark.parametrize("to", ["npy", "png"])
def test_convert_strict(capsys, bad_meta, tmp_path, to):
    code, _, err = run(capsys, "convert", bad_meta, "--to", to, "-o", tmp_path / "tolerant", "-j", "1")
    assert code == cli.EXIT_OK and "1 ok (1 files written)" in err
    assert "read with defects (tolerated; --strict refuses them): 1 file (1 meta_group_length)" in err
    code, _, err = run(capsys, "convert", bad_meta, "--to", to, "-o", tmp_path / "strict", "-j", "1", "--strict")
    assert code == cli.EXIT_FAILED and "DefectError: 1" in err and not (tmp_path / "strict").exists()


def test_strict_is_per_call(bad_meta):
    """No state: a strict call between two tolerant ones changes neither."""
    assert dicomfast.dcmread(bad_meta).defects
    with pytest.raises(DefectError):
        dicomfast.pixel_array(str(bad_meta), strict=True)
    assert dicomfast.dcmread(bad_meta).defects and dicomfast.pixel_array(str(bad_meta)).shape == (128, 128)


# -- pixel defects: the one pipeline's safe defaults ------------------------------------------------

def _edited(tmp_path, name, **changes) -> Path:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    for keyword, value in changes.items():
        if value is None:
            del ds[keyword]
        else:
            setattr(ds, keyword, value)
    path = tmp_path / name
    ds.save_as(path)
    return path


def test_window_width_below_1_is_the_window_from_the_data(tmp_path):
    path = _edited(tmp_path, "ww0.dcm", WindowCenter=40, WindowWidth=0)
    theirs = pydicom.dcmread(path)
    stored = theirs.pixel_array
    slope, intercept = float(theirs.RescaleSlope), float(theirs.RescaleIntercept)
    lo, hi = sorted((stored.min() * slope + intercept, stored.max() * slope + intercept))
    expected = dicomfast.window(stored, (lo + hi) / 2, hi - lo, slope=slope, intercept=intercept,
                                function="linear_exact")
    ds = dicomfast.dcmread(path)
    assert np.array_equal(dicomfast.read_pixels(ds, window="dataset"), expected)
    offset = ds["WindowWidth"].file_offset
    assert [(d.kind, d.tag, d.offset) for d in ds.defects] == [("window_width", 0x00281051, offset)]
    assert np.array_equal(dicomfast.read_pixels(str(path), window="dataset"), expected)  # the direct file read
    with pytest.raises(DefectError):
        dicomfast.read_pixels(str(path), window="dataset", strict=True)
    # the PNG of convert: the same window, through the same pipeline
    from dicomfast.pixels import display_frames
    assert np.array_equal(display_frames(dicomfast.dcmread(path))[0], expected)
    with pytest.raises(DefectError):
        display_frames(dicomfast.dcmread(path), strict=True)


def test_unusable_modality_lut_is_ignored(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    item = pydicom.Dataset()
    item.ModalityLUTType = "HU"  # no LUT Descriptor, no LUT Data
    ds.ModalityLUTSequence = [item]
    path = tmp_path / "badlut.dcm"
    ds.save_as(path)
    clean = dicomfast.read_pixels(get_testdata_file("CT_small.dcm"))  # Rescale Slope / Intercept
    ours = dicomfast.dcmread(path)
    assert np.array_equal(dicomfast.read_pixels(ours), clean)
    assert [(d.kind, d.tag) for d in ours.defects] == [("unusable_lut", 0x00283000)]
    assert ours.defects[0].offset == ours["ModalityLUTSequence"].file_offset
    with pytest.raises(DefectError):
        dicomfast.read_pixels(str(path), strict=True)


def test_pixel_data_longer_than_the_attributes_say(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PixelData = ds.PixelData + bytes(10)
    path = tmp_path / "long.dcm"
    ds.save_as(path)
    ours = dicomfast.dcmread(path)
    assert np.array_equal(dicomfast.pixel_array(ours), pydicom.dcmread(path).pixel_array)
    assert [(d.kind, d.tag, d.offset) for d in ours.defects] == [
        ("pixel_data_long", 0x7FE00010, ours["PixelData"].file_offset)]
    with pytest.raises(DefectError):
        dicomfast.pixel_array(str(path), strict=True)


def test_convert_png_of_a_file_with_a_bad_window(capsys, tmp_path):
    path = _edited(tmp_path, "ww0.dcm", WindowCenter=40, WindowWidth=0)
    code, _, err = run(capsys, "convert", path, "--to", "png", "-o", tmp_path / "out", "-j", "1")
    assert code == cli.EXIT_OK and "1 file (1 window_width)" in err
    code, _, err = run(capsys, "convert", path, "--to", "png", "-o", tmp_path / "strict", "-j", "1", "--strict")
    assert code == cli.EXIT_FAILED and "DefectError: 1" in err
