"""Patients, studies and series of an index table, against the same computed from pydicom's datasets."""
from __future__ import annotations

import datetime
import os
from collections import defaultdict

import pytest

pa = pytest.importorskip("pyarrow")
pydicom = pytest.importorskip("pydicom")

import dicomfast  # noqa: E402
from pydicom.valuerep import DA, DT, TM  # noqa: E402


@pytest.fixture(scope="module")
def table(dicom_tree):
    root, _ = dicom_tree
    return dicomfast.index(root, workers=1)


@pytest.fixture(scope="module")
def strict_table(dicom_tree):
    root, _ = dicom_tree
    return dicomfast.index(root, workers=1, strict=True)


@pytest.fixture(scope="module")
def read_by_pydicom(dicom_tree, reference):
    """pydicom's datasets of every file it reads: the good ones and the truncated one (its last value
    cut short; the default mode of dicomfast reads it the same)."""
    root, info = dicom_tree
    cut = {rel: pydicom.dcmread(os.path.join(root, rel), stop_before_pixels=True)
           for rel, kind in info["broken"].items() if kind == "truncated"}
    assert cut
    return {**reference, **cut}


@pytest.fixture(scope="module")
def reference(dicom_tree):
    """pydicom's datasets of the readable files, by path."""
    root, info = dicom_tree
    return {rel: pydicom.dcmread(os.path.join(root, rel), stop_before_pixels=True) for rel in info["files"]}


def _time_of(ds):
    """The documented order of preference, computed with pydicom's date and time classes."""
    def date(keyword):
        return DA(ds.get(keyword)) if ds.get(keyword) else None

    if ds.get("AcquisitionDateTime"):
        return DT(ds.AcquisitionDateTime).replace(tzinfo=None)
    any_date = date("AcquisitionDate") or date("ContentDate") or date("SeriesDate") or date("StudyDate")
    for day_keyword, time_keyword in (("AcquisitionDate", "AcquisitionTime"), ("ContentDate", "ContentTime")):
        if ds.get(time_keyword):
            day = date(day_keyword) or any_date
            if day is not None:
                t = TM(ds.get(time_keyword))
                return datetime.datetime(day.year, day.month, day.day, t.hour, t.minute, t.second, t.microsecond)
    return None


def test_series_against_pydicom(table, reference, dicom_tree):
    _, info = dicom_tree
    groups = defaultdict(list)
    for ds in reference.values():
        groups[str(ds.SeriesInstanceUID)].append(ds)
    got = {row["series_instance_uid"]: row for row in dicomfast.series_table(table).to_pylist()}
    assert set(got) == set(groups) == set(info["series"])
    for uid, members in groups.items():
        row = got[uid]
        times = [t for t in map(_time_of, members) if t is not None]
        first = members[0]
        assert row["patient_id"] == first.PatientID
        assert row["study_instance_uid"] == first.StudyInstanceUID
        assert row["modality"] == first.Modality
        assert row["series_number"] == int(first.SeriesNumber)
        assert row["series_description"] == first.SeriesDescription
        assert row["n_instances"] == len({str(ds.SOPInstanceUID) for ds in members}) == info["series"][uid]["n_instances"]
        assert row["n_files"] == len(members)
        assert row["start"] == min(times) and row["end"] == max(times)
        assert row["duration"] == max(times) - min(times)
        assert row["duration_seconds"] == (max(times) - min(times)).total_seconds()


def test_the_series_that_crosses_midnight(table):
    portal = [r for r in dicomfast.series_table(table).to_pylist() if r["series_description"] == "PORTAL"][0]
    assert portal["start"].date() < portal["end"].date()
    assert datetime.timedelta(0) < portal["duration"] < datetime.timedelta(minutes=1)


@pytest.mark.parametrize("strict", [False, True])
def test_studies_and_patients_against_pydicom(table, strict_table, reference, read_by_pydicom, dicom_tree, strict):
    """Default mode: the files pydicom reads, the truncated one included (its Study Instance UID is cut
    short, as pydicom cuts it: a study of its own, without series). Strict: the good files alone."""
    _, info = dicom_tree
    if strict:
        table, reference = strict_table, reference
    else:
        reference = read_by_pydicom
    studies = defaultdict(list)
    patients = defaultdict(list)
    for ds in reference.values():
        studies[str(ds.StudyInstanceUID)].append(ds)
        patients[str(ds.PatientID)].append(ds)

    def uids(members, keyword):
        return {str(ds[keyword].value) for ds in members if keyword in ds}

    got = {row["study_instance_uid"]: row for row in dicomfast.study_table(table).to_pylist()}
    assert set(got) == set(studies)
    cut = set(studies) - set(info["studies"])
    assert len(cut) == (0 if strict else 1) and set(info["studies"]) <= set(studies)
    for uid, members in studies.items():
        row = got[uid]
        times = [t for t in map(_time_of, members) if t is not None]
        assert row["patient_id"] == members[0].PatientID
        assert row["n_series"] == len(uids(members, "SeriesInstanceUID"))
        assert row["n_series"] == (len(info["studies"][uid]["series"]) if uid not in cut else 0)
        assert row["n_instances"] == len(uids(members, "SOPInstanceUID"))
        assert row["modalities"] == sorted({ds.Modality for ds in members})
        assert row["study_date"] == datetime.date.fromordinal(DA(members[0].StudyDate).toordinal())
        assert (row["start"], row["end"]) == ((min(times), max(times)) if times else (None, None))

    got = {row["patient_id"]: row for row in dicomfast.patient_table(table).to_pylist()}
    assert set(got) == set(patients) == set(info["patients"])
    for pid, members in patients.items():
        row = got[pid]
        assert row["patient_name"] == str(members[0].PatientName)
        assert row["n_studies"] == len(uids(members, "StudyInstanceUID"))
        assert row["n_series"] == len(uids(members, "SeriesInstanceUID"))
        assert row["n_instances"] == len(uids(members, "SOPInstanceUID"))
        assert row["n_files"] == len(members)


def test_grouped_by_uid_not_by_folder(table, dicom_tree):
    _, info = dicom_tree
    series = {row["series_instance_uid"]: row for row in dicomfast.series_table(table).to_pylist()}
    split = [uid for uid, s in info["series"].items() if len(s["folders"]) > 1]
    assert split, "the tree has a series over two folders"
    for uid in split:
        assert series[uid]["n_instances"] == info["series"][uid]["n_instances"]
    studies = {row["study_instance_uid"]: row for row in dicomfast.study_table(table).to_pylist()}
    mixed = [uid for uid, s in info["studies"].items() if s["folders"] == ["mixed"]]
    assert len(mixed) == 2  # one folder, two studies
    assert all(studies[uid]["n_series"] == 1 for uid in mixed)


def test_duplicates_count_as_files_not_instances(table):
    doubled = pa.concat_tables([table, table])
    row = dicomfast.series_table(doubled).to_pylist()[0]
    single = dicomfast.series_table(table).to_pylist()[0]
    assert row["n_instances"] == single["n_instances"] and row["n_files"] == 2 * single["n_files"]


def test_per_patient_scan_duration_in_three_lines(dicom_tree, reference):
    root, _ = dicom_tree
    # the three lines of docs/collections.md
    table = dicomfast.index(root)
    series = dicomfast.series_table(table)
    per_patient = series.group_by("patient_id").aggregate([("duration_seconds", "sum")])

    # the same from pydicom: per series, last minus first acquisition; summed per patient
    spans = defaultdict(list)
    for ds in reference.values():
        spans[(str(ds.PatientID), str(ds.SeriesInstanceUID))].append(_time_of(ds))
    expected = defaultdict(float)
    for (pid, _), times in spans.items():
        expected[pid] += (max(times) - min(times)).total_seconds()
    got = {r["patient_id"]: r["duration_seconds_sum"] for r in per_patient.to_pylist()}
    assert got == pytest.approx(dict(expected))


def test_per_patient_scan_duration_with_pandas(table, reference):
    pytest.importorskip("pandas")
    per_patient = dicomfast.series_table(table).to_pandas().groupby("patient_id")["duration"].sum()
    assert set(per_patient.index) == {str(ds.PatientID) for ds in reference.values()}
    assert (per_patient.dt.total_seconds() > 0).all()


@pytest.mark.parametrize("strict", [False, True])
def test_format_tree(table, strict_table, dicom_tree, strict):
    _, info = dicom_tree
    text = dicomfast.format_tree(strict_table if strict else table)
    lines = text.splitlines()
    tail = 1 if strict else 2  # the lines that count failures (and files with defects)
    assert sum(not line.startswith(("├", "└", "│", " ")) for line in lines[:-tail]) == len(info["patients"])
    # default: the truncated file's study (its UID cut short, as pydicom reads it) is a study of its own
    assert sum(line.startswith(("├── ", "└── ")) for line in lines) == len(info["studies"]) + (not strict)
    assert sum(" (1 instance" in line or " instances" in line for line in lines if line.startswith(("│   ", "    "))) \
        == len(info["series"])
    if strict:
        assert lines[0].startswith("PAT-001  DOE^JANE  (2 studies, 4 series, 18 instances)")
        assert lines[-1] == f"{len(info['broken'])} files could not be read (NotDicomError 4, TruncatedError 1)"
    else:  # the truncated copy repeats an instance: 18 instances in 19 files
        assert lines[0].startswith("PAT-001  DOE^JANE  (3 studies, 4 series, 18 instances)")
        assert lines[-2:] == ["1 file read with defects (value_truncated 1)",
                              f"{len(info['broken']) - 1} files could not be read (NotDicomError 4)"]
    with_uids = dicomfast.format_tree(table, uids=True)
    assert all(uid in with_uids for uid in info["series"])
    assert dicomfast.format_tree(table.slice(0, 0)) == "no DICOM files\n"


def test_levels_without_times_or_ids(table):
    """Rows without times give null start/end; rows without a Patient ID group as one patient."""
    pc = pytest.importorskip("pyarrow.compute")
    stripped = table
    for name in ("acquisition_date", "acquisition_time", "acquisition_datetime", "content_date", "content_time"):
        stripped = stripped.set_column(stripped.schema.get_field_index(name), name,
                                       pa.nulls(table.num_rows, table.schema.field(name).type))
    stripped = stripped.set_column(stripped.schema.get_field_index("patient_id"), "patient_id",
                                   pa.nulls(table.num_rows, pa.string()))
    series = dicomfast.series_table(stripped)
    assert series["start"].null_count == series.num_rows and series["duration"].null_count == series.num_rows
    patients = dicomfast.patient_table(stripped).to_pylist()
    assert len(patients) == 1 and patients[0]["patient_id"] is None
    assert patients[0]["n_instances"] == pc.count_distinct(table["sop_instance_uid"]).as_py()
    assert "(no Patient ID)" in dicomfast.format_tree(stripped)
