"""load_series and Volume against a pydicom reference (tests/volume_reference.py) on generated
series (tests/series_factory.py): sorting, values, geometry, errors, sources, enhanced
multi-frame, NIfTI."""
from __future__ import annotations

import importlib.util
import pickle
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

import dicomfast
from dicomfast import errors
from series_factory import AXIAL, enhanced_series, make_series, oblique
from volume_reference import reference_volume

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _check_geometry(vol, ref, atol=1e-6):
    """The volume's geometry against the pydicom reference, by the definitions of PS3.3 C.7.6.2.

    ``atol`` (mm) for voxel positions, a tenth of it for the direction cosines and the spacing: the
    affine's slice step is the mean and its directions are normalised, so positions and cosines
    written rounded (as tests/tree.py writes them) are off it by their rounding.
    """
    n = len(ref.positions)
    dy, dx = ref.pixel_spacing
    normal = np.cross(ref.row, ref.col)
    # voxel (i, j, k) = position of slice k + i * dx * row + j * dy * col
    for k in range(n):
        for i, j in ((0, 0), (3, 0), (0, 5), (vol.array.shape[2] - 1, vol.array.shape[1] - 1)):
            expect = ref.positions[k] + i * dx * ref.row + j * dy * ref.col
            np.testing.assert_allclose(vol.affine @ [i, j, k, 1], np.r_[expect, 1], atol=atol)
    np.testing.assert_allclose(vol.origin, ref.positions[0], atol=1e-9)
    np.testing.assert_allclose(vol.direction, np.column_stack([ref.row, ref.col, normal]), atol=atol / 10)
    if n > 1:
        dz = np.dot(ref.positions[-1] - ref.positions[0], normal) / (n - 1)
        np.testing.assert_allclose(vol.spacing, (dz, dy, dx), rtol=atol / 10)
    np.testing.assert_allclose(vol.affine_ras, LPS_TO_RAS @ vol.affine_lps)
    assert vol.affine is vol.affine_lps
    np.testing.assert_allclose(vol.direction.T @ vol.direction, np.eye(3), atol=1e-6)


SERIES = {
    "axial": dict(),
    "oblique": dict(orientation=oblique()),
    "implicit_unsigned": dict(implicit=True, signed=False, orientation=oblique(-70, 10)),
    "sagittal": dict(orientation=(0.0, 1.0, 0.0, 0.0, 0.0, -1.0), spacing=1.1),
}


@pytest.mark.parametrize("name", SERIES)
def test_volume_matches_pydicom(tmp_path, name):
    spec = make_series(tmp_path, seed=list(SERIES).index(name) + 11, **SERIES[name])
    ref = reference_volume(spec.paths)
    instance_order = [pydicom.dcmread(p).InstanceNumber for p in ref.paths]
    assert instance_order != sorted(instance_order), "the factory must not sort by Instance Number"
    assert [str(p) for p in spec.paths] != ref.paths, "the factory must shuffle the files"

    vol = dicomfast.load_series(spec.paths)
    assert vol.array.dtype == np.float32 and vol.array.shape == ref.hu.shape
    np.testing.assert_array_equal(vol.array, ref.hu.astype(np.float32))
    assert vol.paths == ref.paths and vol.frames == [None] * len(ref.paths)
    assert [ds.SOPInstanceUID for ds in vol.datasets] == [pydicom.dcmread(p).SOPInstanceUID for p in ref.paths]
    _check_geometry(vol, ref)
    np.testing.assert_allclose(vol.spacing, (spec.spacing, *spec.pixel_spacing), rtol=1e-6)
    assert vol.series_instance_uid == spec.series_uid and vol.modality == "CT" and vol.rescaled

    exact = dicomfast.load_series(spec.paths, dtype=np.float64, workers=1)
    np.testing.assert_array_equal(exact.array, ref.hu)
    raw = dicomfast.load_series(spec.paths, rescale=False, workers=3)
    assert raw.array.dtype == ref.stored.dtype and not raw.rescaled
    np.testing.assert_array_equal(raw.array, ref.stored)


def test_sources(tmp_path):
    spec = make_series(tmp_path / "a", n=5)
    other = make_series(tmp_path / "b", n=4, seed=9, orientation=oblique())
    ref = reference_volume(spec.paths)
    (tmp_path / "a" / "README.txt").write_text("not DICOM")
    (tmp_path / "a" / "sub").mkdir()
    shutil.move(spec.paths[0], tmp_path / "a" / "sub" / spec.paths[0].name)  # a walk is recursive

    from_dir = dicomfast.load_series(tmp_path / "a")
    np.testing.assert_array_equal(from_dir.array, ref.hu.astype(np.float32))
    assert len(from_dir.paths) == 5

    datasets = [dicomfast.dcmread(p) for p in other.paths]
    from_ds = dicomfast.load_series(datasets)
    np.testing.assert_array_equal(from_ds.array, reference_volume(other.paths).hu.astype(np.float32))
    assert from_ds.paths == [None] * 4

    with pytest.raises(errors.MixedSeriesError) as info:
        dicomfast.load_series(tmp_path)
    assert set(info.value.series) == {spec.series_uid, other.series_uid}
    assert spec.series_uid in str(info.value) and other.series_uid in str(info.value)
    chosen = dicomfast.load_series(tmp_path, series_uid=other.series_uid)
    assert len(chosen) == 4 and chosen.series_instance_uid == other.series_uid
    with pytest.raises(errors.SeriesError, match="no instance of series 1.2.3"):
        dicomfast.load_series(tmp_path, series_uid="1.2.3")


def test_index_rows(tmp_path):
    pa = pytest.importorskip("pyarrow")
    spec = make_series(tmp_path / "a", n=5)
    other = make_series(tmp_path / "b", n=4, seed=9)
    (tmp_path / "broken.dcm").write_bytes(b"\0" * 200)
    rows = [(str(p), spec.series_uid, None) for p in spec.paths]
    rows += [(str(p), other.series_uid, None) for p in other.paths]
    rows.insert(3, (str(tmp_path / "broken.dcm"), None, "NotDicomError: no DICM prefix"))
    table = pa.table({name: list(col) for name, col in zip(("path", "series_instance_uid", "error"), zip(*rows))})

    with pytest.raises(errors.MixedSeriesError, match="2 series"):
        dicomfast.load_series(table)
    vol = dicomfast.load_series(table, series_uid=spec.series_uid)
    np.testing.assert_array_equal(vol.array, reference_volume(spec.paths).hu.astype(np.float32))
    with pytest.raises(ValueError, match="'path' column"):
        dicomfast.load_series(pa.table({"file": ["x"]}))


def test_index_rows_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    spec = make_series(tmp_path / "a", n=4)
    other = make_series(tmp_path / "b", n=3, seed=9)
    frame = pd.DataFrame({"path": [str(p) for p in spec.paths + other.paths] + ["broken"],
                          "series_instance_uid": [spec.series_uid] * 4 + [other.series_uid] * 3 + [None],
                          "error": [None] * 7 + ["NotDicomError"]})
    with pytest.raises(errors.MixedSeriesError):
        dicomfast.load_series(frame)
    vol = dicomfast.load_series(frame, series_uid=other.series_uid)
    np.testing.assert_array_equal(vol.array, reference_volume(other.paths).hu.astype(np.float32))
    with pytest.raises(ValueError, match="'path' column"):
        dicomfast.load_series(pd.DataFrame({"file": ["x"]}))


class _FrameLike:
    """The part of pandas.DataFrame that load_series uses (columns, iloc, frame[name].tolist()),
    so that the DataFrame path is tested where pandas is not installed."""

    def __init__(self, columns):
        self._columns = columns
        self.columns = list(columns)
        self.iloc = None

    def __getitem__(self, name):
        values = self._columns[name]
        return type("Column", (), {"tolist": lambda self: list(values)})()


def test_index_rows_dataframe_protocol(tmp_path):
    spec = make_series(tmp_path / "a", n=3)
    frame = _FrameLike({"path": [str(p) for p in spec.paths] + ["broken"],
                        "error": [None, float("nan"), "", "NotDicomError"]})
    vol = dicomfast.load_series(frame)
    np.testing.assert_array_equal(vol.array, reference_volume(spec.paths).hu.astype(np.float32))


def test_gap(tmp_path):
    spec = make_series(tmp_path, n=8, skip=(4,))
    with pytest.raises(errors.SliceSpacingError, match="1 missing slice"):
        dicomfast.load_series(spec.paths)
    vol = dicomfast.load_series(spec.paths, check=False)
    assert len(vol) == 7
    assert vol.spacing[0] == pytest.approx(spec.spacing * 7 / 6)
    np.testing.assert_array_equal(vol.array, reference_volume(spec.paths).hu.astype(np.float32))


def test_irregular_spacing(tmp_path):
    spec = make_series(tmp_path, n=6, overrides={5: {"ImagePositionPatient": [-40.5, 12.25, 80.0 + 4 * 2.5 + 1.2]}})
    with pytest.raises(errors.SliceSpacingError, match="irregular slice spacing") as info:
        dicomfast.load_series(spec.paths)
    assert "missing" not in str(info.value)


def test_duplicate_position(tmp_path):
    spec = make_series(tmp_path, n=6, overrides={4: {"ImagePositionPatient": [-40.5, 12.25, 80.0 + 3 * 2.5]}})
    with pytest.raises(errors.DuplicateSliceError, match="same position") as info:
        dicomfast.load_series(spec.paths)
    assert str(tmp_path) in str(info.value)


def test_mixed_sizes(tmp_path):
    spec = make_series(tmp_path, n=5, overrides={2: {"Rows": 8}})
    with pytest.raises(errors.InconsistentSliceError, match="differ in size"):
        dicomfast.load_series(spec.paths)
    with pytest.raises(errors.InconsistentSliceError):
        dicomfast.load_series(spec.paths, check=False)  # no volume can hold them


def test_mixed_orientation(tmp_path):
    spec = make_series(tmp_path, n=5, overrides={1: {"ImageOrientationPatient": list(oblique(5, 0))}})
    with pytest.raises(errors.InconsistentSliceError, match="orientation"):
        dicomfast.load_series(spec.paths)


def test_mixed_pixel_spacing(tmp_path):
    spec = make_series(tmp_path, n=5, overrides={3: {"PixelSpacing": ["0.75", "0.8"]}})
    with pytest.raises(errors.InconsistentSliceError, match="Pixel Spacing"):
        dicomfast.load_series(spec.paths)
    assert dicomfast.load_series(spec.paths, check=False).spacing[1:] == pytest.approx((0.7, 0.8))


@pytest.mark.parametrize("keyword", ["ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"])
def test_missing_geometry(tmp_path, keyword):
    spec = make_series(tmp_path, n=4, overrides={2: {"delete": [keyword]}})
    with pytest.raises(errors.MissingGeometryError) as info:
        dicomfast.load_series(spec.paths)
    assert str(tmp_path) in str(info.value)


def test_bad_orientation(tmp_path):
    spec = make_series(tmp_path, n=3, overrides={0: {"ImageOrientationPatient": ["1", "0", "0", "1", "0", "0"]}})
    with pytest.raises(errors.MissingGeometryError, match="orthogonal"):
        dicomfast.load_series(spec.paths)


def test_tilted_stack(tmp_path):
    # Each slice shifted along y as well as z: a gantry tilt of atan(0.5 / 2.5) = 11.3 degrees.
    spec = make_series(tmp_path, n=5, overrides={k: {"ImagePositionPatient": [-40.5, 12.25 + 0.5 * k, 80.0 + 2.5 * k]}
                                                 for k in range(5)})
    with pytest.raises(errors.SliceSpacingError, match="11.31 degrees"):
        dicomfast.load_series(spec.paths)
    vol = dicomfast.load_series(spec.paths, check=False)
    ref = reference_volume(spec.paths)
    for k in range(5):  # the sheared affine still maps each slice to its own position
        np.testing.assert_allclose((vol.affine @ [2, 3, k, 1])[:3],
                                   ref.positions[k] + 2 * 0.8 * ref.row + 3 * 0.7 * ref.col, atol=1e-6)


def test_single_slice(tmp_path):
    spec = make_series(tmp_path, n=1)
    vol = dicomfast.load_series(spec.paths)
    assert vol.array.shape == (1, 16, 12) and vol.spacing == pytest.approx((2.5, 0.7, 0.8))
    ds = pydicom.dcmread(spec.paths[0])
    ds.SpacingBetweenSlices = "3.5"
    ds.save_as(spec.paths[0])
    assert dicomfast.load_series(spec.paths[0]).spacing[0] == 3.5
    _check_geometry(vol, reference_volume(spec.paths))


def test_bad_files(tmp_path):
    spec = make_series(tmp_path, n=4)
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(spec.paths[1].read_bytes()[:-100])
    with pytest.raises(errors.FileReadError) as info:
        dicomfast.load_series(spec.paths[:1] + [truncated] + spec.paths[2:])
    assert info.value.path == str(truncated) and str(truncated) in str(info.value)
    assert isinstance(info.value.__cause__, errors.DicomError)

    missing = tmp_path / "missing.dcm"
    with pytest.raises(errors.FileReadError, match="missing.dcm") as info:
        dicomfast.load_series(spec.paths + [missing])
    assert isinstance(info.value.__cause__, FileNotFoundError)
    text = tmp_path / "notes" / "README"
    text.parent.mkdir()
    text.write_text("not DICOM")
    with pytest.raises(errors.FileReadError, match="DICM"):  # a given file must be DICOM
        dicomfast.load_series(spec.paths + [text])
    with pytest.raises(errors.SeriesError, match="no DICOM images"):  # a walked one is skipped
        dicomfast.load_series(text.parent)
    with pytest.raises(TypeError):
        dicomfast.load_series(42)
    with pytest.raises(TypeError):
        dicomfast.load_series([1, 2])
    with pytest.raises(ValueError):
        dicomfast.load_series(spec.paths, workers=0)


def test_enhanced_multiframe(tmp_path):
    spec = enhanced_series(tmp_path / "enhanced.dcm", orientation=oblique(15, -40))
    ref = reference_volume(spec.paths)
    assert ref.frames != sorted(ref.frames), "the factory must store the frames out of order"
    vol = dicomfast.load_series(spec.paths[0])
    np.testing.assert_array_equal(vol.array, ref.hu.astype(np.float32))
    assert vol.frames == ref.frames and vol.paths == ref.paths
    _check_geometry(vol, ref)
    raw = dicomfast.load_series(spec.paths, rescale=False, workers=2)
    np.testing.assert_array_equal(raw.array, ref.stored)


def test_enhanced_ct_from_pydicom_data():
    spec = importlib.util.find_spec("data_store")
    path = Path(spec.origin).parent / "data" / "eCT_Supplemental.dcm" if spec else None
    if path is None or not path.exists():
        pytest.skip("pydicom-data's eCT_Supplemental.dcm is not installed")
    ref = reference_volume([path])
    vol = dicomfast.load_series(path)
    assert vol.frames == ref.frames == [1, 0]  # stored bottom-up along its normal
    np.testing.assert_array_equal(vol.array, ref.hu.astype(np.float32))
    _check_geometry(vol, ref)


def test_nifti_round_trip(tmp_path):
    nib = pytest.importorskip("nibabel")
    spec = make_series(tmp_path / "s", n=6, orientation=oblique(10, 25))
    vol = dicomfast.load_series(spec.paths)
    out = tmp_path / "vol.nii.gz"
    vol.to_nifti(out)
    img = nib.load(out)
    data = np.asarray(img.dataobj)
    assert data.shape == vol.array.shape[::-1]  # nibabel: (x, y, z)
    np.testing.assert_array_equal(data.transpose(2, 1, 0), vol.array)
    np.testing.assert_allclose(img.affine, vol.affine_ras, atol=1e-5)
    np.testing.assert_allclose(img.header.get_qform(), vol.affine_ras, atol=1e-5)
    assert img.header.get_xyzt_units()[0] == "mm"
    # an axial LPS series is L, P, S in RAS axis codes
    axial = dicomfast.load_series(make_series(tmp_path / "axial", n=3, orientation=AXIAL).paths)
    assert nib.aff2axcodes(axial.to_nibabel().affine) == ("L", "P", "S")
    # voxel (i, j, k) of the NIfTI is the DICOM position of row j, column i of slice k, in RAS
    i, j, k = 4, 7, 2
    lps = np.r_[vol.affine_lps @ [i, j, k, 1]][:3]
    np.testing.assert_allclose((img.affine @ [i, j, k, 1])[:3], lps * [-1, -1, 1], atol=1e-5)


def test_nibabel_missing(monkeypatch, tmp_path):
    import builtins

    spec = make_series(tmp_path, n=2)
    vol = dicomfast.load_series(spec.paths)
    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "nibabel":
            raise ImportError("no nibabel")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"dicomfast\[nifti\]"):
        vol.to_nibabel()


def test_volume_pickles(tmp_path):
    vol = dicomfast.load_series(make_series(tmp_path, n=3).paths)
    again = pickle.loads(pickle.dumps(vol))
    np.testing.assert_array_equal(again.array, vol.array)
    np.testing.assert_array_equal(again.affine_ras, vol.affine_ras)
    assert again.datasets[0].SOPInstanceUID == vol.datasets[0].SOPInstanceUID
    assert "Volume CT 3x16x12" in repr(vol)


def test_modality_lut_sequence(tmp_path):
    spec = make_series(tmp_path, n=3, signed=False)
    for path in spec.paths:
        ds = pydicom.dcmread(path)
        del ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType
        item = pydicom.Dataset()
        item.LUTDescriptor = [4096, 0, 16]
        item.ModalityLUTType = "HU"
        item.add_new(0x00283006, "US", [(v * 7) % 65536 for v in range(4096)])  # LUT Data as US
        ds.ModalityLUTSequence = pydicom.Sequence([item])
        ds.save_as(path)
    ref = reference_volume(spec.paths)
    vol = dicomfast.load_series(spec.paths)
    np.testing.assert_array_equal(vol.array, ref.hu.astype(np.float32))
    assert ref.hu.max() > 4095  # the LUT, not the stored values


def _claim(path, rows=65535, cols=65535, frames=None, encapsulated=False):
    """Rewrite a file's header to claim a huge image while its pixel data stays tiny."""
    from pydicom.encaps import encapsulate
    from pydicom.uid import RLELossless

    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns = rows, cols
    if frames is not None:
        ds.NumberOfFrames = frames
    if encapsulated:
        ds.file_meta.TransferSyntaxUID = RLELossless
        ds.PixelData = encapsulate([b"\0" * 64])
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
    ds.save_as(path)


def test_huge_claims_fail_before_allocating(tmp_path, monkeypatch):
    from dicomfast.pixels import pipeline as _frames

    spec = make_series(tmp_path / "native", n=3)
    _claim(spec.paths[1])
    with pytest.raises(errors.FileReadError, match="more than the whole file") as info:
        dicomfast.load_series(spec.paths)
    assert info.value.path == str(spec.paths[1]) and isinstance(info.value.__cause__, errors.PixelDataLengthError)
    with pytest.raises(errors.FileReadError, match="dataset 1: .*fewer than"):  # a Dataset given
        dicomfast.load_series([dicomfast.dcmread(p) for p in spec.paths])

    # compressed data cannot be checked against the file: the memory bound catches it
    enc = make_series(tmp_path / "rle", n=3, seed=4)
    for p in enc.paths:
        _claim(p, encapsulated=True)
    monkeypatch.setattr(_frames, "_physical_memory", lambda: 1 << 30)
    with pytest.raises(errors.PixelDataError, match="more than this machine's memory"):
        dicomfast.load_series(enc.paths)


def test_a_dataset_shared_between_threads(tmp_path):
    """load_series reads an enhanced file's frames on threads sharing one Dataset: its lazily
    decoded values must come out as one object whichever thread decodes them first."""
    import sys
    import threading

    path = enhanced_series(tmp_path / "e.dcm", n=24).paths[0]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to expose a race
    try:
        _share(path, threading)
    finally:
        sys.setswitchinterval(interval)
    ref = reference_volume([path])
    vol = dicomfast.load_series(path, workers=8)
    np.testing.assert_array_equal(vol.array, ref.hu.astype(np.float32))


def _share(path, threading):
    for _ in range(20):
        ds = dicomfast.dcmread(path)
        barrier = threading.Barrier(6)
        seen = []

        def read():
            barrier.wait()
            seen.append(ds.get("PerFrameFunctionalGroupsSequence"))

        threads = [threading.Thread(target=read) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({id(s) for s in seen}) == 1
        assert seen[0] is ds.PerFrameFunctionalGroupsSequence


def test_integer_dtypes_round_and_must_fit(tmp_path):
    spec = make_series(tmp_path, n=4, signed=False)  # slopes 0.5 and 1.25: HU with fractions
    ref = reference_volume(spec.paths)
    assert np.any(ref.hu != np.rint(ref.hu))
    vol = dicomfast.load_series(spec.paths, dtype=np.int16)
    assert vol.array.dtype == np.int16
    np.testing.assert_array_equal(vol.array, np.rint(ref.hu))
    for kw in (dict(dtype=np.uint8), dict(rescale=False, dtype=np.int8)):  # no silent wrap-around
        with pytest.raises(errors.FileReadError, match="do not fit"):
            dicomfast.load_series(spec.paths, **kw)
        with pytest.raises(errors.FileReadError, match="do not fit"):
            dicomfast.read_batch(spec.paths, **kw)


def test_float32_equals_pydicom_for_inexact_slopes(tmp_path):
    """Slopes and intercepts that binary floats cannot hold (0.1, -1000.3): a float32 computation
    would differ from pydicom's float64 result in the last bits; ours is that result rounded once."""
    rescale = {"RescaleSlope": "0.1", "RescaleIntercept": "-1000.3"}
    spec = make_series(tmp_path, n=3, overrides={k: dict(rescale) for k in range(3)})
    ref = reference_volume(spec.paths)
    naive = (ref.stored.astype(np.float32) * np.float32(0.1) + np.float32(-1000.3))
    assert np.any(naive != ref.hu.astype(np.float32)), "the case must tell the two apart"
    np.testing.assert_array_equal(dicomfast.load_series(spec.paths).array, ref.hu.astype(np.float32))
    np.testing.assert_array_equal(dicomfast.read_batch(ref.paths), ref.hu.astype(np.float32))


def test_directory_with_a_dicomdir_and_a_report(tmp_path):
    from pydicom.data import get_testdata_file

    spec = make_series(tmp_path, n=3)
    shutil.copy(get_testdata_file("DICOMDIR"), tmp_path / "DICOMDIR")  # DICOM, but not an image
    shutil.copy(get_testdata_file("rtplan.dcm"), tmp_path / "plan.dcm")
    vol = dicomfast.load_series(tmp_path)
    np.testing.assert_array_equal(vol.array, reference_volume(spec.paths).hu.astype(np.float32))
    assert sorted(vol.paths) == sorted(map(str, spec.paths))


def test_enhanced_per_frame_groups_win_over_shared(tmp_path):
    """A macro in both the Per-Frame and the Shared Functional Groups: the frame's own item wins
    (PS3.3 C.7.6.16); the shared one only fills in for frames without it."""
    path = enhanced_series(tmp_path / "e.dcm", n=5, orientation=oblique(30, 10)).paths[0]
    ds = pydicom.dcmread(path)
    shared = ds.SharedFunctionalGroupsSequence[0]
    decoy = pydicom.Dataset()
    decoy.RescaleSlope, decoy.RescaleIntercept, decoy.RescaleType = "3", "5000", "HU"
    shared.PixelValueTransformationSequence = pydicom.Sequence([decoy])
    far = pydicom.Dataset()
    far.ImagePositionPatient = ["999", "999", "999"]
    shared.PlanePositionSequence = pydicom.Sequence([far])
    del ds.PerFrameFunctionalGroupsSequence[3].PixelValueTransformationSequence  # this frame: the shared one
    ds.save_as(path)
    ref = reference_volume([path])
    vol = dicomfast.load_series(path)
    np.testing.assert_array_equal(vol.array, ref.hu.astype(np.float32))
    _check_geometry(vol, ref)
    k = vol.frames.index(3)
    np.testing.assert_array_equal(vol.array[k], (ref.stored[k] * 3.0 + 5000).astype(np.float32))


def test_enhanced_frames_without_their_groups(tmp_path):
    """Number of Frames must match the Per-Frame Functional Groups: a compressed file's header
    claiming two billion frames fails at once rather than looping over them."""
    path = enhanced_series(tmp_path / "e.dcm", n=4).paths[0]
    ds = pydicom.dcmread(path)
    del ds.PerFrameFunctionalGroupsSequence[2]
    ds.save_as(path)
    with pytest.raises(errors.MissingGeometryError, match="Number of Frames is 4 but .* 3 item"):
        dicomfast.load_series(path)
    _claim(path, rows=16, cols=12, frames=2**31 - 1, encapsulated=True)
    with pytest.raises(errors.MissingGeometryError, match="2147483647"):
        dicomfast.load_series(path)


def test_claimed_size_check_accepts_every_valid_corpus_file():
    """The pre-allocation bound must never refuse a good file: every corpus file whose pixel data
    pixel_info accepts passes check_claimed_size from its header and file size alone."""
    import os

    from corpus import corpus_files
    from dicomfast.pixels import check_claimed_size, pixel_info

    checked = 0
    for path in corpus_files():
        try:
            pixel_info(dicomfast.dcmread(path))
        except (errors.DicomError, OSError):
            continue
        check_claimed_size(dicomfast.dcmread(path, stop_before_pixels=True), os.path.getsize(path))
        checked += 1
    assert checked > 50


def test_every_series_of_the_archive_from_its_index(dicom_tree):
    # The acceptance test of the collections: index the generated archive (several patients, series
    # spanning folders, shuffled names, five transfer syntaxes, broken files), then load each series
    # from its index rows; each volume equals pydicom's, sorted by geometry.
    pytest.importorskip("pyarrow")
    root, info = dicom_tree
    table = dicomfast.index(root, workers=1)
    assert len(info["series"]) >= 4
    for uid, series in info["series"].items():
        vol = dicomfast.load_series(table, series_uid=uid)
        ref = reference_volume([root / rel for rel in series["files"]])
        assert vol.series_instance_uid == uid
        assert [str(p) for p in vol.paths] == ref.paths
        np.testing.assert_array_equal(vol.array, ref.hu.astype(np.float32))
        _check_geometry(vol, ref, atol=1e-4)  # the archive's positions are rounded to 1e-4 mm
