"""The reference volume: what a careful pydicom user would write, independent of dicomfast.

Read every file with pydicom, take each slice's (or frame's) Image Position and Orientation,
sort by the position projected on the normal (the cross product of the orientation's two
directions), stack the pixel data and apply pydicom's ``apply_modality_lut`` slice by slice.
Enhanced multi-frame files go frame by frame through their functional groups; pydicom 3's
``apply_modality_lut`` reads only top-level attributes, so each frame is rescaled through a copy
of the dataset carrying that frame's Rescale Slope / Intercept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut


@dataclass
class Reference:
    hu: np.ndarray            # (z, y, x) float64, pydicom's modality LUT output
    stored: np.ndarray        # (z, y, x) stored values
    positions: np.ndarray     # (z, 3) Image Position (Patient) in slice order
    row: np.ndarray
    col: np.ndarray
    pixel_spacing: tuple      # (between rows, between columns)
    paths: list               # per slice, in slice order
    frames: list              # per slice: frame index, or None


def _item(ds, keyword, frame):
    per = ds.get("PerFrameFunctionalGroupsSequence")
    if per is not None and keyword in per[frame]:
        return per[frame][keyword][0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared is not None and keyword in shared[0]:
        return shared[0][keyword][0]
    return None


def reference_volume(paths) -> Reference:
    records = []  # (ipp, iop, pixel spacing, stored, hu, path, frame)
    for path in paths:
        ds = pydicom.dcmread(path)
        arr = ds.pixel_array
        if "PerFrameFunctionalGroupsSequence" in ds:
            for f in range(int(ds.NumberOfFrames)):
                ipp = _item(ds, "PlanePositionSequence", f).ImagePositionPatient
                iop = _item(ds, "PlaneOrientationSequence", f).ImageOrientationPatient
                ps = _item(ds, "PixelMeasuresSequence", f).PixelSpacing
                pvt = _item(ds, "PixelValueTransformationSequence", f)
                carrier = pydicom.Dataset()
                if pvt is not None:
                    carrier.RescaleSlope = pvt.RescaleSlope
                    carrier.RescaleIntercept = pvt.RescaleIntercept
                records.append((ipp, iop, ps, arr[f], apply_modality_lut(arr[f], carrier), str(path), f))
        else:
            records.append((ds.ImagePositionPatient, ds.ImageOrientationPatient, ds.PixelSpacing, arr,
                            apply_modality_lut(arr, ds), str(path), None))
    iop = np.array([float(v) for v in records[0][1]])
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    records.sort(key=lambda r: float(np.dot([float(v) for v in r[0]], normal)))
    return Reference(
        hu=np.stack([np.asarray(r[4], dtype=np.float64) for r in records]),
        stored=np.stack([r[3] for r in records]),
        positions=np.array([[float(v) for v in r[0]] for r in records]),
        row=row,
        col=col,
        pixel_spacing=tuple(float(v) for v in records[0][2]),
        paths=[r[5] for r in records],
        frames=[r[6] for r in records],
    )
