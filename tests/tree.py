"""A small archive of DICOM files for the collection tests: ``make_tree(root, seed=0)``.

    from tree import make_tree
    info = make_tree(tmp_path)          # writes 39 files, returns what it wrote

Several patients, studies and series, written with pydicom (the reference) in five transfer syntaxes,
laid out the way real archives are: file names shuffled (random hex, no extension), one study spread
over two folders, one series split across two folders, one folder mixing series of two studies, and
broken files mixed in (truncated, not DICOM, empty, a text file, a DICOM file without its preamble).

The slices are CT and MR images of 32 x 32 pixels with real geometry: Image Orientation / Position
(Patient), Pixel Spacing, Slice Thickness, Spacing Between Slices; the CT has Rescale Slope and
Intercept. Instance Number does not follow the slice position in every series (one runs against it,
one is shuffled), so that a reader that sorts by Instance Number gets the volume wrong. Dates and
times: Study, Series, Acquisition and Content Date/Time; one MR series has only Content times, one
enhanced-style series only Acquisition DateTime, and one series crosses midnight.

``make_tree`` returns a dict (JSON-serialisable, paths relative to ``root``)::

    {
      "root": str,
      "files": {relpath: {"patient_id", "study_uid", "series_uid", "sop_uid", "transfer_syntax",
                          "modality", "instance_number", "position": [x, y, z]}},
      "broken": {relpath: kind},        # kind: truncated | not_dicom | empty | text | no_preamble
      "series": {series_uid: {"patient_id", "study_uid", "modality", "transfer_syntax",
                              "n_instances", "rows", "columns", "orientation", "spacing" ([row, col]),
                              "slice_thickness", "slice_spacing", "rescale" ([slope, intercept] or None),
                              "folders": [relpath, ...], "files": [relpath sorted along the normal]}},
      "studies": {study_uid: {"patient_id", "series": [uid, ...], "folders": [...]}},
      "patients": {patient_id: {"name", "studies": [uid, ...]}},
    }

Only pydicom and NumPy are needed. The same ``seed`` writes the same files (UIDs included).
"""

from __future__ import annotations

import datetime
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MRImageStorage,
    RLELossless,
)

__all__ = ["make_tree", "TRANSFER_SYNTAXES", "ROWS", "COLUMNS"]

ROWS = COLUMNS = 32
TRANSFER_SYNTAXES = {
    "explicit": ExplicitVRLittleEndian,
    "implicit": ImplicitVRLittleEndian,
    "big": ExplicitVRBigEndian,
    "deflate": DeflatedExplicitVRLittleEndian,
    "rle": RLELossless,
}
_UID_ROOT = "1.2.826.0.1.3680043.10.1145."  # a test root; the seed and a counter make the rest

# (patient id, name, birth date, sex), studies: (folder(s), date, time, description, [series...])
# series: (modality, syntax, slices, description, options)
_LAYOUT = [
    ("PAT-001", "DOE^JANE", "19700102", "F", [
        (["P1/S1"], "20240105", "091500", "CT CHEST", [
            ("CT", "explicit", 6, "AXIAL 5MM", {"order": "forward"}),
            ("CT", "implicit", 4, "AXIAL LUNG", {"order": "reverse", "shift": 30}),
        ]),
        (["P1/S2"], "20240612", "140000", "MR BRAIN", [
            ("MR", "big", 5, "T1 SAG", {"order": "shuffle", "orientation": "sagittal"}),
            ("MR", "explicit", 3, "T2 AX", {"times": "content"}),
        ]),
    ]),
    ("PAT-002", "ROE^RICHARD^J", "19551230", "M", [
        # one study over two folders; its first series split across them too
        (["P2/a", "P2/b"], "20231224", "235800", "CT ABDOMEN", [
            ("CT", "deflate", 5, "PORTAL", {"split": True, "midnight": True}),
            ("CT", "rle", 4, "DELAYED", {"order": "reverse"}),
        ]),
    ]),
    ("PAT-003", "MUSTER^ERIKA", "19880808", "O", [
        (["mixed"], "20250301", "080000", "MR KNEE", [
            ("MR", "implicit", 4, "PD FS", {"orientation": "oblique", "times": "datetime"}),
        ]),
        (["mixed"], "20250302", "101010", "CT KNEE", [
            ("CT", "explicit", 3, "BONE", {"order": "shuffle"}),
        ]),
    ]),
]

_ORIENTATIONS = {
    "axial": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    "sagittal": [0.0, 1.0, 0.0, 0.0, 0.0, -1.0],
    # rotated 30 degrees about the z axis, then tilted: a real oblique plane
    "oblique": [0.866025, 0.5, 0.0, -0.353553, 0.612372, 0.707107],
}


def make_tree(root: str | os.PathLike, *, seed: int = 0) -> dict[str, Any]:
    """Write the archive into ``root`` (created if needed) and return what was written (see the module)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    counter = iter(range(1, 1 << 30))

    def uid() -> str:
        return f"{_UID_ROOT}{seed}.{next(counter)}"

    info: dict[str, Any] = {"root": str(root), "files": {}, "broken": {}, "series": {}, "studies": {}, "patients": {}}
    names: set[str] = set()

    def new_name(folder: str) -> str:
        while True:
            name = f"{folder}/{rng.getrandbits(40):010x}"
            if name not in names:
                names.add(name)
                return name

    series_number = 0
    for patient_id, patient_name, birth, sex, studies in _LAYOUT:
        info["patients"][patient_id] = {"name": patient_name, "studies": []}
        for folders, study_date, study_time, study_description, series_list in studies:
            study_uid = uid()
            info["patients"][patient_id]["studies"].append(study_uid)
            info["studies"][study_uid] = {"patient_id": patient_id, "series": [], "folders": sorted(set(folders))}
            for s_index, (modality, syntax, n, description, options) in enumerate(series_list):
                series_number += 1
                series_uid = uid()
                info["studies"][study_uid]["series"].append(series_uid)
                plane = options.get("orientation", "axial")
                orientation = _ORIENTATIONS[plane]
                row, col = np.array(orientation[:3]), np.array(orientation[3:])
                normal = np.cross(row, col)
                spacing = [0.7, 0.7] if modality == "CT" else [0.9375, 0.9375]
                thickness = 2.5 if modality == "CT" else 4.0
                origin = np.array([-11.2, -11.2, -50.0 + 10 * s_index])
                rescale = [1.0, -1024.0] if modality == "CT" else None
                if modality == "CT" and syntax == "rle":
                    rescale = [0.5, -1000.0]  # a slope that is not 1

                # instance numbers against the position order, as the options say
                numbers = list(range(1, n + 1))
                order = options.get("order", "forward")
                if order == "reverse":
                    numbers.reverse()
                elif order == "shuffle":
                    rng.shuffle(numbers)

                start = datetime.datetime.strptime(study_date + study_time, "%Y%m%d%H%M%S")
                start += datetime.timedelta(minutes=3 + 7 * s_index)
                if options.get("midnight"):
                    start = datetime.datetime.strptime(study_date + "235950", "%Y%m%d%H%M%S")
                step = datetime.timedelta(seconds=7, microseconds=250000)

                split = options.get("split")
                series_info = {
                    "patient_id": patient_id, "study_uid": study_uid, "modality": modality,
                    "transfer_syntax": str(TRANSFER_SYNTAXES[syntax]), "n_instances": n,
                    "rows": ROWS, "columns": COLUMNS, "orientation": orientation, "spacing": spacing,
                    "slice_thickness": thickness, "slice_spacing": thickness, "rescale": rescale,
                    "folders": [], "files": [],
                }
                for k in range(n):
                    folder = folders[k % len(folders)] if split else folders[s_index % len(folders)]
                    position = origin + normal * thickness * k
                    when = start + step * (numbers[k] - 1)  # acquired in instance order
                    ds = _instance(
                        rng, modality=modality, syntax=syntax, patient=(patient_id, patient_name, birth, sex),
                        study=(study_uid, study_date, study_time, study_description, f"ACC{seed}{series_number:03d}"),
                        series=(series_uid, series_number, description, start),
                        sop_uid=uid(), number=numbers[k], when=when, times=options.get("times", "acquisition"),
                        orientation=orientation, position=[round(float(v), 4) for v in position],
                        spacing=spacing, thickness=thickness, rescale=rescale, k=k,
                    )
                    rel = new_name(folder)
                    path = root / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    _write(ds, path, syntax)
                    info["files"][rel] = {
                        "patient_id": patient_id, "study_uid": study_uid, "series_uid": series_uid,
                        "sop_uid": str(ds.SOPInstanceUID), "transfer_syntax": str(TRANSFER_SYNTAXES[syntax]),
                        "modality": modality, "instance_number": numbers[k],
                        "position": [float(v) for v in ds.ImagePositionPatient],
                    }
                    series_info["files"].append(rel)
                    if folder not in series_info["folders"]:
                        series_info["folders"].append(folder)
                info["series"][series_uid] = series_info

    _write_broken(root, rng, info, new_name)
    return info


def _instance(rng, *, modality, syntax, patient, study, series, sop_uid, number, when, times,
              orientation, position, spacing, thickness, rescale, k) -> pydicom.Dataset:
    patient_id, patient_name, birth, sex = patient
    study_uid, study_date, study_time, study_description, accession = study
    series_uid, series_number, description, series_start = series
    sop_class = CTImageStorage if modality == "CT" else MRImageStorage

    ds = pydicom.Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL" if modality == "CT" else "OTHER"]
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = study_date
    ds.SeriesDate = series_start.strftime("%Y%m%d")
    ds.StudyTime = study_time
    ds.SeriesTime = series_start.strftime("%H%M%S")
    if times == "acquisition":
        ds.AcquisitionDate = when.strftime("%Y%m%d")
        ds.AcquisitionTime = when.strftime("%H%M%S.%f")
    elif times == "datetime":
        ds.AcquisitionDateTime = when.strftime("%Y%m%d%H%M%S.%f")
    ds.ContentDate = when.strftime("%Y%m%d")
    ds.ContentTime = (when + datetime.timedelta(seconds=1)).strftime("%H%M%S.%f")
    ds.AccessionNumber = accession
    ds.Modality = modality
    ds.Manufacturer = "DICOMFAST TESTS"
    ds.StudyDescription = study_description
    ds.SeriesDescription = description
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = birth
    ds.PatientSex = sex
    ds.SliceThickness = thickness
    if modality == "MR":
        ds.RepetitionTime = 500.0 + 10 * k
        ds.EchoTime = 12.5
        ds.MagneticFieldStrength = 1.5
    ds.SpacingBetweenSlices = thickness
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = number
    ds.ImagePositionPatient = position
    ds.ImageOrientationPatient = orientation
    ds.FrameOfReferenceUID = series_uid + ".1"
    ds.SliceLocation = position[2]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ROWS
    ds.Columns = COLUMNS
    ds.PixelSpacing = spacing
    ds.BitsAllocated = 16
    ds.BitsStored = 12 if modality == "CT" else 16
    ds.HighBit = ds.BitsStored - 1
    signed = modality == "CT" and syntax != "rle"
    ds.PixelRepresentation = 1 if signed else 0
    if rescale is not None:
        ds.RescaleIntercept = rescale[1]
        ds.RescaleSlope = rescale[0]
        ds.RescaleType = "HU"
    ds.WindowCenter = 40 if modality == "CT" else 600
    ds.WindowWidth = 400 if modality == "CT" else 1200

    # a gradient that encodes the slice (k) so that a wrong slice order shows
    y, x = np.mgrid[0:ROWS, 0:COLUMNS]
    image = (x * 3 + y * 5 + k * 50 + rng.randrange(20)).astype(np.int32)
    if signed:
        image = (image - 800).clip(-2048, 2047).astype(np.int16)
    else:
        image = image.clip(0, 4095).astype(np.uint16)
    ds.PixelData = image.tobytes() if syntax != "big" else image.astype(image.dtype.newbyteorder(">")).tobytes()
    return ds


def _write(ds: pydicom.Dataset, path: Path, syntax: str) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.ImplementationClassUID = _UID_ROOT + "0"
    ds.file_meta = meta
    if syntax == "rle":
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.compress(RLELossless, encoding_plugin="pydicom")
    else:
        meta.TransferSyntaxUID = TRANSFER_SYNTAXES[syntax]
    # the Pixel Data's VR: OW, as uncompressed 16-bit data is written
    ds.save_as(path, enforce_file_format=True)


def _write_broken(root: Path, rng: random.Random, info: dict, new_name) -> None:
    """Files an archive really holds next to its images: none of them may stop an index."""
    good = sorted(rel for rel, f in info["files"].items() if f["transfer_syntax"] == str(ExplicitVRLittleEndian))
    source = (root / good[0]).read_bytes()

    rel = new_name("P1/S1")  # cut inside the value of Study Instance UID
    cut = source.index(info["files"][good[0]]["study_uid"].encode()) + 10
    (root / rel).write_bytes(source[:cut])
    info["broken"][rel] = "truncated"

    rel = new_name("P2/a")
    (root / rel).write_bytes(bytes(rng.getrandbits(8) for _ in range(700)))
    info["broken"][rel] = "not_dicom"

    rel = new_name("mixed")
    (root / rel).write_bytes(b"")
    info["broken"][rel] = "empty"

    rel = "mixed/README.txt"
    (root / rel).write_text("Exported by the test suite. Not an image.\n")
    info["broken"][rel] = "text"

    rel = new_name("P1/S2")  # a dataset without preamble and 'DICM': read only with force=True
    meta_length = int.from_bytes(source[140:144], "little")  # (0002,0000) File Meta Information Group Length
    (root / rel).write_bytes(source[144 + meta_length:])
    info["broken"][rel] = "no_preamble"
