"""dicomfast.ml: read_batch and DicomDataset against pydicom, torch's DataLoader with 2 workers,
and the import rule (importing dicomfast and dicomfast.ml does not import torch)."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut

import dicomfast
from dicomfast import errors
from package import run_python
from series_factory import enhanced_series, make_series, oblique


def _hu(path) -> np.ndarray:
    ds = pydicom.dcmread(path)
    return np.asarray(apply_modality_lut(ds.pixel_array, ds), dtype=np.float64)


def _windowed_u8(hu: np.ndarray, center: float, width: float) -> np.ndarray:
    """DICOM's LINEAR window (PS3.3 C.11.2.1.2) over 0..255, rounded half up, in float64."""
    t = np.clip((hu - (center - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)
    return np.floor(t * 255 + 0.5)


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return make_series(tmp_path_factory.mktemp("ml"), n=6, orientation=oblique()).paths


def test_import_does_not_import_torch():
    code = ("import sys; import dicomfast, dicomfast.ml, dicomfast.collection.series; "
            "heavy = [m for m in ('torch', 'pyarrow', 'pandas', 'nibabel') if m in sys.modules]; "
            "assert not heavy, heavy; print('ok')")
    result = run_python("-c", code)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_read_batch_hu(series):
    out = dicomfast.read_batch(series)
    assert out.shape == (6, 16, 12) and out.dtype == np.float32
    for i, path in enumerate(series):
        np.testing.assert_array_equal(out[i], _hu(path).astype(np.float32))
    again = np.full((6, 16, 12), np.nan, np.float64)
    assert dicomfast.read_batch(series, again, workers=3) is again
    np.testing.assert_array_equal(again, np.stack([_hu(p) for p in series]))
    raw = dicomfast.read_batch([str(p) for p in series], rescale=False, workers=1)
    assert raw.dtype == np.int16
    np.testing.assert_array_equal(raw, np.stack([pydicom.dcmread(p).pixel_array for p in series]))


def test_read_batch_window(series):
    out = np.empty((6, 16, 12), np.uint8)
    dicomfast.read_batch(series, out, window=(40, 400))
    for i, path in enumerate(series):
        expect = _windowed_u8(_hu(path), 40, 400)
        assert np.max(np.abs(out[i] - expect)) <= 1  # a tie at x.5 may round either way
        assert np.mean(out[i] == expect) > 0.99
    # the files' own window (40/400) gives the same
    np.testing.assert_array_equal(dicomfast.read_batch(series, window="dataset", dtype=np.uint8), out)
    np.testing.assert_array_equal(dicomfast.read_batch(series, window=np.array([40, 400]), dtype=np.uint8), out)
    # the one dtype policy: a window gives uint8 by default, float32 in [0, 1] on request
    np.testing.assert_array_equal(dicomfast.read_batch(series, window=(40, 400)), out)
    unit = dicomfast.read_batch(series, window=(40, 400), dtype=np.float32)
    assert unit.dtype == np.float32 and 0 <= unit.min() and unit.max() <= 1


def test_read_batch_multiframe(tmp_path):
    specs = [enhanced_series(tmp_path / f"e{k}.dcm", seed=k) for k in range(3)]
    paths = [s.paths[0] for s in specs]
    out = dicomfast.read_batch(paths, rescale=False)
    assert out.shape == (3, 6, 16, 12)
    np.testing.assert_array_equal(out, np.stack([pydicom.dcmread(p).pixel_array for p in paths]))
    third = dicomfast.read_batch(paths, frame=2, rescale=False)
    np.testing.assert_array_equal(third, out[:, 2])
    hu = dicomfast.read_batch(paths, frame=2)  # the frame's own Pixel Value Transformation
    for i, path in enumerate(paths):
        pvt = pydicom.dcmread(path).PerFrameFunctionalGroupsSequence[2].PixelValueTransformationSequence[0]
        np.testing.assert_array_equal(hu[i], (out[i, 2] * float(pvt.RescaleSlope) + float(pvt.RescaleIntercept)).astype(np.float32))
    with pytest.raises(errors.FileReadError, match="out of range") as info:
        dicomfast.read_batch(paths, frame=6)
    assert info.value.index == 0


def test_read_batch_errors(series, tmp_path):
    with pytest.raises(ValueError, match="6 paths"):
        dicomfast.read_batch(series, np.empty((5, 16, 12), np.float32))
    with pytest.raises(TypeError, match="differs"):
        dicomfast.read_batch(series, np.empty((6, 16, 12), np.float32), dtype=np.float64)
    with pytest.raises(TypeError, match="windowed"):
        dicomfast.read_batch(series, np.empty((6, 16, 12), np.int16), window=(40, 400))
    with pytest.raises(ValueError, match="C-contiguous"):
        dicomfast.read_batch(series, np.empty((6, 12, 16), np.float32).transpose(0, 2, 1))
    with pytest.raises(ValueError, match="shape"):
        dicomfast.read_batch(series, np.empty((6, 192), np.float32))
    with pytest.raises(TypeError):
        dicomfast.read_batch(series, [[0]])
    with pytest.raises(ValueError, match="window"):
        dicomfast.read_batch(series, window="auto")
    with pytest.raises(ValueError, match="width"):
        dicomfast.read_batch(series, window=(40, 0))

    # a file that does not fit out: which one, and why
    other = make_series(tmp_path / "small", n=1, rows=8, cols=8).paths
    mixed = list(series[:3]) + other + list(series[3:])
    with pytest.raises(errors.FileReadError) as info:
        dicomfast.read_batch(mixed, np.empty((7, 16, 12), np.float32))
    assert info.value.index == 3 and info.value.path == str(other[0])
    assert str(other[0]) in str(info.value) and "(8, 8)" in str(info.value)

    broken = tmp_path / "broken.dcm"
    broken.write_bytes(Path(series[0]).read_bytes()[:400])
    with pytest.raises(errors.FileReadError, match="file 2 .*broken.dcm") as info:
        dicomfast.read_batch([series[0], series[1], broken])
    assert isinstance(info.value.__cause__, errors.DicomError)
    with pytest.raises(errors.FileReadError, match="nothere.dcm"):
        dicomfast.read_batch([series[0], tmp_path / "nothere.dcm"])


def test_dataset_items(series):
    ds = dicomfast.DicomDataset(series, labels=list(range(10, 16)))
    assert len(ds) == 6
    image, label = ds[4]
    assert label == 14 and image.dtype == np.float32
    np.testing.assert_array_equal(image, _hu(series[4]).astype(np.float32))
    np.testing.assert_array_equal(ds[-1][0], ds[5][0])
    with pytest.raises(IndexError):
        ds[6]
    with pytest.raises(TypeError):
        ds["a"]
    windowed = dicomfast.DicomDataset(series, window=(40, 400), dtype=np.uint8, transform=lambda a: a[None])
    assert windowed[0].shape == (1, 16, 12) and windowed[0].dtype == np.uint8
    by_path = dicomfast.DicomDataset(series, labels=lambda p: Path(p).name, target_transform=len)
    assert by_path[2][1] == len(Path(series[2]).name)
    with pytest.raises(ValueError, match="5 labels"):
        dicomfast.DicomDataset(series, labels=[1, 2, 3, 4, 5])
    bad = dicomfast.DicomDataset(list(series) + ["/nonexistent/x.dcm"])
    with pytest.raises(errors.FileReadError, match="file 6"):
        bad[6]


def test_dataset_from_table_pickles(series):
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"path": [str(p) for p in series] + ["/broken"],
                      "label": [0, 1, 0, 1, 1, 0, 9],
                      "error": [None] * 6 + ["NotDicomError"]})
    ds = dicomfast.DicomDataset(table, labels="label", window="dataset")
    assert len(ds) == 6 and [ds[i][1] for i in range(6)] == [0, 1, 0, 1, 1, 0]
    again = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(again[3][0], ds[3][0])
    assert not any(type(v).__module__.startswith("pyarrow") for v in vars(ds).values())
    with pytest.raises(ValueError, match="no column"):
        dicomfast.DicomDataset(table, labels="nope")
    with pytest.raises(TypeError):
        dicomfast.DicomDataset(series, labels="label")


def _first_channel(a):  # module level: picklable for DataLoader workers
    return a[None]


def test_torch_dataloader_two_workers(series):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    labels = [i % 2 for i in range(len(series))]
    ds = dicomfast.DicomDataset(series, labels=labels, transform=_first_channel)
    loader = DataLoader(ds, batch_size=4, num_workers=2, shuffle=False)
    images, targets = [], []
    for image, target in loader:
        assert isinstance(image, torch.Tensor) and image.dtype == torch.float32
        images.append(image.numpy())
        targets.extend(target.tolist())
    batch = np.concatenate(images)
    assert batch.shape == (6, 1, 16, 12) and targets == labels
    np.testing.assert_array_equal(batch[:, 0], np.stack([_hu(p) for p in series]).astype(np.float32))


def test_enhanced_frame_windows():
    """window='dataset' on an enhanced image takes each frame's Frame VOI LUT and Pixel Value
    Transformation; checked against pydicom's values through the LINEAR formula."""
    import importlib.util

    spec = importlib.util.find_spec("data_store")
    path = Path(spec.origin).parent / "data" / "eCT_Supplemental.dcm" if spec else None
    if path is None or not path.exists():
        pytest.skip("pydicom-data's eCT_Supplemental.dcm is not installed")
    batch = dicomfast.read_batch([path], window="dataset", dtype=np.uint8)
    ds = pydicom.dcmread(path)
    for f in range(2):
        shared = ds.SharedFunctionalGroupsSequence[0]
        pvt = shared.PixelValueTransformationSequence[0]
        voi = shared.FrameVOILUTSequence[0]
        hu = ds.pixel_array[f] * float(pvt.RescaleSlope) + float(pvt.RescaleIntercept)
        expect = _windowed_u8(hu, float(voi.WindowCenter), float(voi.WindowWidth))
        assert np.max(np.abs(batch[0, f] - expect)) <= 1 and np.mean(batch[0, f] == expect) > 0.99


def test_huge_claims_fail_before_allocating(tmp_path):
    from test_series import _claim

    paths = make_series(tmp_path, n=2, seed=5).paths
    _claim(paths[0], frames=10000)
    with pytest.raises(errors.FileReadError, match="more than the whole file") as info:
        dicomfast.read_batch(paths)
    assert isinstance(info.value.__cause__, errors.PixelDataLengthError)
    with pytest.raises(errors.FileReadError, match="fewer than"):  # the full read checks the data
        dicomfast.DicomDataset(paths)[0]
    _claim(paths[0], frames=10000, encapsulated=True)  # 156 TiB of float32: no machine has that
    with pytest.raises(errors.PixelDataError, match="more than this machine's memory"):
        dicomfast.read_batch(paths)
    with pytest.raises(errors.FileReadError, match="more than this machine's memory"):
        dicomfast.DicomDataset(paths)[0]


def test_rescale_needs_slope_and_intercept(tmp_path):
    """A file with Rescale Intercept but no Rescale Slope (malformed): pydicom's
    apply_modality_lut leaves the values alone, and so do we (and likewise the other way round)."""
    paths = make_series(tmp_path, n=2, seed=6).paths
    for path, keyword in zip(paths, ("RescaleSlope", "RescaleIntercept")):
        ds = pydicom.dcmread(path)
        delattr(ds, keyword)
        ds.save_as(path)
    out = dicomfast.read_batch(paths)
    for i, path in enumerate(paths):
        np.testing.assert_array_equal(out[i], _hu(path).astype(np.float32))
        np.testing.assert_array_equal(out[i], pydicom.dcmread(path).pixel_array)
