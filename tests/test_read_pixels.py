"""read_pixels and pixel_array(path) (dicomfast/pixels/pipeline.py, fileread.py) against pydicom and the Dataset path.

* ``fileread.read_stored(path)`` reads the header, then the pixel bytes straight into the
  array: for every corpus file it gives what ``pixel_array(dcmread(path))`` gives (or the same kind
  of error), or None where it leaves the file to the general path.
* ``read_pixels(path)`` is pydicom's ``apply_modality_lut`` cast to float32; with a window it is
  ``dicomfast.window`` of the stored values with the file's rescale, which tests/test_transforms.py
  checks against the DICOM formula; here, against pydicom's ``apply_voi_lut`` rounded to 0..255.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pydicom
import pytest
from corpus import corpus_files, corpus_id
from package import needs_checkout
from pydicom.pixels import processing as pp

import dicomfast
from dicomfast.pixels import fileread
from dicomfast.pixels import native as pixels
from dicomfast.errors import DicomError, InvalidValueError, TruncatedError


def _path(name):
    for path in corpus_files():
        if corpus_id(path) == name:
            return path
    pytest.skip(f"{name} is not in the corpus")


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_id)
def test_direct_read_of_a_path_matches_the_dataset_path(path):
    try:
        ds = dicomfast.dcmread(path)
        expected = pixels.pixel_array(ds)
    except DicomError as exc:
        try:
            fileread.read_stored(path)
        except DicomError:
            return
        except Exception as other:  # noqa: BLE001 - a clearer failure than pytest's
            pytest.fail(f"the Dataset path raises {exc!r}, the direct read {other!r}")
        return  # None (the general path would raise), or a header read that stops before the damage
    found = fileread.read_stored(path)
    if found is None:
        return
    ours = found.array
    assert ours.dtype == expected.dtype and ours.shape == expected.shape
    assert np.array_equal(ours, expected, equal_nan=ours.dtype.kind == "f")


def _ct_files():
    out = []
    for name in ("pd/CT_small.dcm", "pd/MR_small.dcm", "pdd/CT1_J2KI", "pd/MR_small_bigendian.dcm",
                 "pd/MR_small_implicit.dcm"):
        try:
            out.append(_path(name))
        except pytest.skip.Exception:
            pass
    return out


@pytest.mark.parametrize("path", _ct_files(), ids=corpus_id)
def test_read_pixels_hu_matches_pydicom(path):
    pds = pydicom.dcmread(path)
    ref = pp.apply_modality_lut(pds.pixel_array, pds)
    ours = dicomfast.read_pixels(path)
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, ref.astype(np.float32))
    np.testing.assert_array_equal(dicomfast.read_pixels(path, dtype=np.float64), ref.astype(np.float64))
    # an integer dtype: rounded to nearest (the one dtype policy of the pixel pipeline)
    np.testing.assert_array_equal(dicomfast.read_pixels(path, dtype=np.int32), np.rint(ref).astype(np.int32))
    with open(path, "rb") as f:
        blob = f.read()
    np.testing.assert_array_equal(dicomfast.read_pixels(blob), ours)
    np.testing.assert_array_equal(dicomfast.read_pixels(dicomfast.dcmread(blob)), ours)


def _rounded_voi(pds, center, width):
    """pydicom's windowing of the HU values, over its output range, scaled to 0..255 and rounded."""
    pds = pds.copy()
    pds.WindowCenter, pds.WindowWidth = center, width
    hu = pp.apply_modality_lut(pds.pixel_array, pds)
    voi = pp.apply_voi_lut(hu, pds)
    bits, signed = int(pds.BitsStored), int(pds.PixelRepresentation) == 1
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    slope, intercept = float(pds.get("RescaleSlope", 1)), float(pds.get("RescaleIntercept", 0))
    y_min, y_max = lo * slope + intercept, hi * slope + intercept
    return (voi - y_min) / (y_max - y_min) * 255


@pytest.mark.parametrize("path", _ct_files(), ids=corpus_id)
@pytest.mark.parametrize("center, width", [(40.0, 400.0), (-600.0, 1500.0), (1000.0, 1.0), (300.5, 2.0)])
def test_read_pixels_window_matches_pydicom(path, center, width):
    pds = pydicom.dcmread(path)
    scaled = _rounded_voi(pds, center, width)
    ours = dicomfast.read_pixels(path, window=(center, width))
    assert ours.dtype == np.uint8 and ours.shape == scaled.shape
    expected = np.floor(scaled + 0.5)
    near_tie = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    diff = np.abs(ours.astype(np.float64) - expected)
    assert diff[~near_tie].max(initial=0) == 0 and diff.max(initial=0) <= 1


def test_read_pixels_dataset_window_uses_the_file_window(tmp_path):
    pds = pydicom.dcmread(_path("pd/CT_small.dcm"))
    pds.WindowCenter, pds.WindowWidth = [40, 400], [400, 2000]  # two windows: the first is used
    path = tmp_path / "w.dcm"
    pds.save_as(path)
    ours = dicomfast.read_pixels(path, window="dataset")
    np.testing.assert_array_equal(ours, dicomfast.read_pixels(path, window=(40, 400)))
    raw = dicomfast.read_pixels(path, window="dataset", rescale=False)
    np.testing.assert_array_equal(raw, dicomfast.window(pds.pixel_array, 40, 400))
    as16 = dicomfast.read_pixels(path, window="dataset", dtype=np.uint16)
    assert as16.dtype == np.uint16 and as16.max() > 255
    with pytest.raises(InvalidValueError):
        dicomfast.read_pixels(_path("pd/CT_small.dcm"), window="dataset")  # no window in the file


def test_read_pixels_into_a_batch_and_stored_values(tmp_path):
    path = _path("pd/CT_small.dcm")
    pds = pydicom.dcmread(path)
    batch = np.zeros((3,) + pds.pixel_array.shape, np.uint8)
    for i in range(3):
        slot = batch[i]
        assert dicomfast.read_pixels(path, window=(40, 400), out=slot) is slot  # filled in place
    np.testing.assert_array_equal(batch[2], dicomfast.read_pixels(path, window=(40, 400)))
    assert batch[0].any()
    stored = np.empty(pds.pixel_array.shape, pds.pixel_array.dtype)
    assert dicomfast.read_pixels(path, rescale=False, out=stored) is stored
    np.testing.assert_array_equal(stored, pds.pixel_array)
    np.testing.assert_array_equal(dicomfast.read_pixels(path, rescale=False), pds.pixel_array)
    hu = np.empty(pds.pixel_array.shape, np.float32)
    dicomfast.read_pixels(path, out=hu)
    np.testing.assert_array_equal(hu, pp.apply_modality_lut(pds.pixel_array, pds).astype(np.float32))


def test_read_pixels_enhanced_multiframe_per_frame_and_one_frame():
    path = _path("pdd/eCT_Supplemental.dcm") if any(
        corpus_id(p) == "pdd/eCT_Supplemental.dcm" for p in corpus_files()) else _path("pd/eCT_Supplemental.dcm")
    ds = dicomfast.dcmread(path)
    stored = dicomfast.pixel_array(ds)
    params = dicomfast.pixels.transforms.frame_parameters(ds)
    whole = dicomfast.read_pixels(path, window="dataset")
    np.testing.assert_array_equal(whole, dicomfast.window(stored, **params))
    for k in range(stored.shape[0]):
        np.testing.assert_array_equal(dicomfast.read_pixels(path, window="dataset", frame=k), whole[k])
    hu = dicomfast.read_pixels(path)
    expected = dicomfast.apply_modality_lut(stored, ds).astype(np.float32)
    np.testing.assert_array_equal(hu, expected)


def test_read_pixels_bad_arguments(tmp_path):
    path = _path("pd/CT_small.dcm")
    with pytest.raises(ValueError):
        dicomfast.read_pixels(path, window="soft tissue")
    with pytest.raises(TypeError):
        dicomfast.read_pixels(path, window=40)
    with pytest.raises(ValueError):
        dicomfast.read_pixels(path, dtype=np.uint8)  # HU of a CT do not fit uint8: never wrapped
    with pytest.raises(TypeError):
        dicomfast.read_pixels(path, dtype=np.complex64)
    with pytest.raises(TypeError):
        dicomfast.read_pixels(path, frame="0")
    with pytest.raises(IndexError):
        dicomfast.read_pixels(path, frame=1)
    with pytest.raises(ValueError):
        dicomfast.read_pixels(path, window=(40, 400), out=np.empty((2, 2), np.uint8))
    with pytest.raises(TypeError):
        dicomfast.read_pixels(path, window=(40, 400), out=np.empty((128, 128), np.float32))
    with pytest.raises(FileNotFoundError):
        dicomfast.read_pixels(tmp_path / "missing.dcm")


def test_truncated_pixel_data_in_a_file_is_a_dicom_error(tmp_path):
    with open(_path("pd/CT_small.dcm"), "rb") as f:
        blob = f.read()
    ds = dicomfast.dcmread(blob)
    index = ds._find(0x7FE00010)
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(blob[:ds._tape.offset(index) + ds._tape.length(index) // 2])  # half the pixels
    with pytest.raises(DicomError):
        dicomfast.pixel_array(cut)
    with pytest.raises(DicomError):
        dicomfast.read_pixels(cut, window=(40, 400))
    with pytest.raises(TruncatedError):
        fd = os.open(cut, os.O_RDONLY)
        try:
            fileread._read_into(fd, np.empty(len(blob), np.uint8), 0, str(cut))
        finally:
            os.close(fd)


@needs_checkout  # it runs the checkout's benchmark
def test_read_pixels_benchmark_runs(tmp_path, capsys):
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parent.parent / "benchmarks"
    sys.path.insert(0, str(bench))
    try:
        import bench_read_pixels
    finally:
        sys.path.remove(str(bench))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = bench_read_pixels.run(n_files=2, repeat=1, quick=True, data_dir=tmp_path)
    assert not result["problems"], result["problems"]
    assert set(result["times"]) == {key for key, _ in bench_read_pixels.CASES}
    assert "speedup_vs_pydicom" in result["ratios"]
    assert "read_pixels" in bench_read_pixels.format_report(result)
    assert bench_read_pixels.main(["-n", "2", "--quick", "--data-dir", str(tmp_path)]) == 0
    assert "pydicom" in capsys.readouterr().out
