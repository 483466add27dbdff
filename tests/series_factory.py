"""Synthetic series for the volume and ML tests, written with pydicom.

Every series is small (a few slices of 16 x 12 or so), with deliberately unhelpful properties:
shuffled file names, Instance Numbers that do not follow the geometric order, an oblique
orientation, a different rescale per slice. Variants break one rule each (a gap, a duplicate
position, a slice of another size or orientation, missing geometry, a second series), and
``enhanced_series`` writes the same kind of volume as one Enhanced CT multi-frame file whose
frames are stored out of order.

``make_series`` returns a :class:`SeriesSpec` holding the paths and the geometry it wrote, but
the tests build their reference from the files themselves, read with pydicom.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    CTImageStorage,
    EnhancedCTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    PYDICOM_ROOT_UID,
    generate_uid,
)

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def oblique(alpha: float = 20.0, beta: float = 35.0) -> tuple:
    """An Image Orientation (Patient) rotated by ``alpha`` about z then ``beta`` about x (degrees),
    rounded as a scanner writes DS values (so the directions are unit and orthogonal to ~1e-6)."""
    a, b = math.radians(alpha), math.radians(beta)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    m = rx @ rz
    return tuple(round(float(v), 8) for v in np.r_[m[:, 0], m[:, 1]])


def _uid(*parts) -> str:
    return generate_uid(PYDICOM_ROOT_UID, entropy_srcs=["dicomfast-series-factory", *map(str, parts)])


def _ds_str(value: float) -> str:
    return f"{value:.10g}"[:16]


@dataclass
class SeriesSpec:
    paths: list[Path]                       # in the order written (shuffled names)
    series_uid: str
    positions: list[tuple] = field(default_factory=list)  # Image Position (Patient) per geometric slice
    orientation: tuple = AXIAL
    pixel_spacing: tuple = (0.7, 0.8)
    spacing: float = 2.5


def _base(series_uid: str, study_uid: str, sop_class: str, syntax: str, rows: int, cols: int,
          signed: bool = True, bits_stored: int = 16) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.TransferSyntaxUID = syntax
    ds.SOPClassUID = sop_class
    ds.PatientName = "Series^Factory"
    ds.PatientID = "SF001"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = _uid(series_uid, "for")
    ds.Modality = "CT"
    ds.SeriesNumber = 3
    ds.SeriesDescription = "factory series"
    ds.Rows = rows
    ds.Columns = cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    return ds


def _save(ds: Dataset, path: Path) -> None:
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)


def make_series(
    out_dir: Path,
    *,
    n: int = 7,
    rows: int = 16,
    cols: int = 12,
    orientation: tuple = AXIAL,
    pixel_spacing: tuple = (0.7, 0.8),
    spacing: float = 2.5,
    origin: tuple = (-40.5, 12.25, 80.0),
    seed: int = 0,
    series_uid: str | None = None,
    study_uid: str | None = None,
    implicit: bool = False,
    signed: bool = True,
    slopes: bool = True,
    skip: tuple = (),
    overrides: dict | None = None,
) -> SeriesSpec:
    """Write an ``n``-slice series into ``out_dir`` (created) under random file names.

    Slice ``k`` (geometric order, along the normal) is at ``origin + k * spacing * normal``;
    slices in ``skip`` are not written (a gap). Instance Numbers are a shuffled permutation.
    ``overrides`` maps a geometric slice index to attributes set on that slice after the others
    (``{"Rows": 8}``, ``{"ImagePositionPatient": ...}``, ``{"delete": ["PixelSpacing"]}``).
    """
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or _uid(seed, "series", out_dir)
    study_uid = study_uid or _uid(seed, "study")
    syntax = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    row_dir = np.array(orientation[:3])
    col_dir = np.array(orientation[3:])
    normal = np.cross(row_dir, col_dir)
    instance_numbers = rng.permutation(n) + 1
    spec = SeriesSpec([], series_uid, orientation=orientation, pixel_spacing=pixel_spacing, spacing=spacing)
    overrides = overrides or {}
    for k in range(n):
        position = np.array(origin) + k * spacing * normal
        spec.positions.append(tuple(float(_ds_str(v)) for v in position))
        if k in skip:
            continue
        ds = _base(series_uid, study_uid, CTImageStorage, syntax, rows, cols, signed)
        ds.SOPInstanceUID = _uid(series_uid, "sop", k)
        ds.InstanceNumber = int(instance_numbers[k])
        ds.ImagePositionPatient = [_ds_str(v) for v in position]
        ds.ImageOrientationPatient = [_ds_str(v) for v in orientation]
        ds.PixelSpacing = [_ds_str(v) for v in pixel_spacing]
        ds.SliceThickness = _ds_str(spacing)
        ds.RescaleSlope = _ds_str(1.0 if not slopes else [1.0, 0.5, 2.0, 1.25][k % 4])
        ds.RescaleIntercept = _ds_str(-1024.0 if not slopes else -1024.0 + 3 * k)
        ds.RescaleType = "HU"
        ds.WindowCenter = "40"
        ds.WindowWidth = "400"
        low, high = (-2000, 3000) if signed else (0, 4000)
        arr = rng.integers(low, high, size=(ds.Rows, ds.Columns), dtype=np.int16 if signed else np.uint16)
        for key, value in overrides.get(k, {}).items():
            if key == "delete":
                for keyword in value:
                    delattr(ds, keyword)
            else:
                setattr(ds, key, value)
        if (ds.Rows, ds.Columns) != arr.shape:
            arr = rng.integers(low, high, size=(ds.Rows, ds.Columns), dtype=arr.dtype)
        ds.PixelData = arr.tobytes()
        path = out_dir / f"{rng.integers(1 << 40):010x}.dcm"
        _save(ds, path)
        spec.paths.append(path)
    order = rng.permutation(len(spec.paths))
    spec.paths = [spec.paths[i] for i in order]
    return spec


def enhanced_series(
    path: Path,
    *,
    n: int = 6,
    rows: int = 16,
    cols: int = 12,
    orientation: tuple = AXIAL,
    pixel_spacing: tuple = (0.6, 0.9),
    spacing: float = 3.0,
    origin: tuple = (10.0, -20.0, 30.0),
    seed: int = 1,
) -> SeriesSpec:
    """Write one Enhanced CT Image (multi-frame) whose frames are stored in a shuffled geometric
    order: positions per frame (Plane Position Sequence), orientation and pixel measures shared,
    and a Pixel Value Transformation per frame (different intercepts)."""
    rng = np.random.default_rng(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    series_uid = _uid(seed, "enhanced", path)
    ds = _base(series_uid, _uid(seed, "study"), EnhancedCTImageStorage, ExplicitVRLittleEndian, rows, cols)
    ds.SOPInstanceUID = _uid(series_uid, "sop")
    ds.InstanceNumber = 1
    ds.NumberOfFrames = n
    row_dir, col_dir = np.array(orientation[:3]), np.array(orientation[3:])
    normal = np.cross(row_dir, col_dir)

    shared = Dataset()
    ori = Dataset()
    ori.ImageOrientationPatient = [_ds_str(v) for v in orientation]
    shared.PlaneOrientationSequence = Sequence([ori])
    meas = Dataset()
    meas.PixelSpacing = [_ds_str(v) for v in pixel_spacing]
    meas.SliceThickness = _ds_str(spacing)
    shared.PixelMeasuresSequence = Sequence([meas])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])

    stored_order = rng.permutation(n)  # stored frame f holds geometric slice stored_order[f]
    spec = SeriesSpec([path], series_uid, orientation=orientation, pixel_spacing=pixel_spacing, spacing=spacing)
    spec.positions = [tuple(float(_ds_str(v)) for v in np.array(origin) + k * spacing * normal) for k in range(n)]
    per_frame = []
    for f in range(n):
        k = int(stored_order[f])
        item = Dataset()
        pos = Dataset()
        pos.ImagePositionPatient = [_ds_str(v) for v in spec.positions[k]]
        item.PlanePositionSequence = Sequence([pos])
        pvt = Dataset()
        pvt.RescaleSlope = "1"
        pvt.RescaleIntercept = _ds_str(-1024.0 + 10 * f)
        pvt.RescaleType = "HU"
        item.PixelValueTransformationSequence = Sequence([pvt])
        content = Dataset()
        content.InStackPositionNumber = k + 1
        item.FrameContentSequence = Sequence([content])
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    ds.PixelData = rng.integers(-1000, 3000, size=(n, rows, cols), dtype=np.int16).tobytes()
    _save(ds, path)
    return spec
