"""dicomfast.index against pydicom's reading of the same files (tests/tree.py's archive).

Every cell of every row is compared with a value computed from pydicom's dataset, converted to the
column's type independently of dicomfast (pydicom's DA/TM/DT classes parse the dates and times).
"""
from __future__ import annotations

import datetime
import os
import shutil
import sys
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pydicom = pytest.importorskip("pydicom")

import dicomfast  # noqa: E402
from dicomfast.collection import indexing  # noqa: E402
from pydicom.valuerep import DA, DT, TM  # noqa: E402

from package import run_python  # noqa: E402

# What a cell must hold, from pydicom's element: one function for this test and the benchmark's pydicom
# job. bench_index puts benchmarks/ and the directory above it on sys.path; that is undone, so that no
# process started later (a spawned pool worker inherits sys.path) can find a package there.
_saved_path = list(sys.path)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
try:
    from bench_index import _pydicom_cell  # noqa: E402
finally:
    sys.path[:] = _saved_path

# Every kind of column: multi-valued DS and CS, US, DA, DS present in some files only (EchoTime),
# VM 1-n DS (WindowCenter), OW pixel data (binary), a private tag no file has, a tag by (group, element).
TAGS = [
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness", "ImageType",
    "Rows", "PatientBirthDate", "RescaleSlope", "WindowCenter", "EchoTime", "AccessionNumber",
    "PatientSex", (0x0018, 0x0088), 0x00191002, "PixelData",
]


def _specs():
    return indexing._columns(TAGS)


@pytest.fixture(scope="module")
def table(dicom_tree):
    root, _ = dicom_tree
    return dicomfast.index(root, TAGS, workers=1)


def test_every_row_matches_pydicom(dicom_tree, table):
    root, info = dicom_tree
    rows = {row["path"]: row for row in table.to_pylist()}
    assert set(rows) == {os.path.join(root, rel) for rel in [*info["files"], *info["broken"]]}
    assert table.column("path").to_pylist() == sorted(rows)  # sorted by path

    for rel in info["files"]:
        path = os.path.join(root, rel)
        row = rows[path]
        theirs = pydicom.dcmread(path)
        st = os.stat(path)
        assert row["file_size"] == st.st_size
        assert row["mtime"] == datetime.datetime.fromtimestamp(st.st_mtime_ns // 1000 / 1e6, datetime.timezone.utc).replace(
            microsecond=st.st_mtime_ns // 1000 % 1_000_000)
        assert row["transfer_syntax"] == theirs.file_meta.TransferSyntaxUID
        assert row["error"] is None and row["error_type"] is None and row["warnings"] is None
        assert row["defects"] == []
        for name, tag, kind, multi in _specs():
            element = theirs.get(tag)
            expected = _pydicom_cell(element, kind, multi)
            if tag == 0x7FE00010 and element is not None:
                # pydicom keeps the bytes as written; so does dicomfast, big endian included
                expected = bytes(theirs.PixelData)
            assert row[name] == expected, (rel, name, row[name], expected)
        # and against what tree.py says it wrote
        wrote = info["files"][rel]
        assert (row["patient_id"], row["study_instance_uid"], row["series_instance_uid"], row["sop_instance_uid"],
                row["instance_number"], row["modality"], row["transfer_syntax"]) == (
            wrote["patient_id"], wrote["study_uid"], wrote["series_uid"], wrote["sop_uid"],
            wrote["instance_number"], wrote["modality"], wrote["transfer_syntax"])


def test_column_types_come_from_the_dictionary(dicom_tree, tmp_path, table):
    schema = table.schema
    assert schema == dicomfast.index_schema(TAGS)
    expect = {
        "study_date": pa.date32(), "study_time": pa.time64("us"), "acquisition_datetime": pa.timestamp("us"),
        "instance_number": pa.int64(), "series_number": pa.int64(), "patient_name": pa.string(),
        "ImagePositionPatient": pa.list_(pa.float64()), "SliceThickness": pa.float64(),
        "ImageType": pa.list_(pa.string()), "Rows": pa.int64(), "WindowCenter": pa.list_(pa.float64()),
        "SpacingBetweenSlices": pa.float64(), "00191002": pa.string(), "PixelData": pa.binary(),
        "mtime": pa.timestamp("us", tz="UTC"), "file_size": pa.int64(), "error": pa.string(),
    }
    for name, arrow_type in expect.items():
        assert schema.field(name).type == arrow_type, name
    assert dicomfast.collection.indexing.column_type("AcquisitionDateTime") == pa.timestamp("us")
    assert dicomfast.collection.indexing.column_type(0x00280030) == pa.list_(pa.float64())
    # no file, or only a bad file: the same schema
    (tmp_path / "empty").mkdir()
    assert dicomfast.index(tmp_path / "empty", TAGS, workers=1).schema == schema
    assert dicomfast.index(tmp_path / "empty", TAGS, workers=1).num_rows == 0
    (tmp_path / "junk").write_bytes(b"junk")
    assert dicomfast.index(tmp_path / "junk", TAGS, workers=1).schema == schema


def test_bad_tags_are_argument_errors():
    for bad in ("NoSuchKeyword", "(0010,002G)", "0010002", "(00010,0020)"):
        with pytest.raises(ValueError, match="neither a DICOM keyword nor a tag"):
            dicomfast.index_schema([bad])
    with pytest.raises(ValueError, match="sequence"):
        dicomfast.index_schema(["ReferencedImageSequence"])
    with pytest.raises(TypeError):
        dicomfast.index_schema([1.5])
    # a tag asked for twice is one column
    schema = dicomfast.index_schema([0x00191002, 0x00191002, "Rows", 0x00280010, (0x0028, 0x0010)])
    assert schema.names.count("Rows") == 1 and schema.names.count("00191002") == 1
    # a tag written as text, as pydicom and the standard's tables write them: the same column
    for text in ("(0028,0010)", "00280010", "0x00280010", "0028,0010", " (0028, 0010) "):
        assert dicomfast.index_schema([text]) == dicomfast.index_schema(["Rows"]), text
    assert dicomfast.index_schema(["(0019,1002)"]) == dicomfast.index_schema([0x00191002])
    assert dicomfast.index_schema(["00191002"]).names[-5] == "00191002"  # a private column's name gives it back


def test_bad_files_are_rows_with_their_error(dicom_tree, table):
    """Strict: every broken file is a row with its error. Default: the truncated file is read as pydicom
    reads it (its last value cut short), a row with its values and its defect; the others fail as before."""
    root, info = dicom_tree
    strict = {row["path"]: row for row in dicomfast.index(root, TAGS, workers=1, strict=True).to_pylist()}
    tolerant = {row["path"]: row for row in table.to_pylist()}
    expected_type = {"truncated": "TruncatedError", "not_dicom": "NotDicomError", "empty": "NotDicomError",
                     "text": "NotDicomError", "no_preamble": "NotDicomError"}
    for rel, kind in info["broken"].items():
        path = os.path.join(root, rel)
        for rows in (strict, tolerant) if kind != "truncated" else (strict,):
            row = rows[path]
            assert row["error_type"] == expected_type[kind], (rel, row)
            assert rel.split("/")[-1] in row["error"]
            assert row["file_size"] == os.path.getsize(path)
            assert row["sop_instance_uid"] is None and row["patient_id"] is None and row["transfer_syntax"] is None
            assert row["defects"] is None
        if kind != "truncated":
            continue
        row = tolerant[path]
        assert row["error"] is None and row["error_type"] is None and row["defects"] == ["value_truncated"]
        assert row["file_size"] == os.path.getsize(path)
        theirs = pydicom.dcmread(path)  # pydicom reads it too: the same cells
        assert row["transfer_syntax"] == theirs.file_meta.TransferSyntaxUID
        for name, tag, kind_, multi in _specs():
            assert row[name] == _pydicom_cell(theirs.get(tag), kind_, multi), name
        assert row["sop_instance_uid"] == theirs.SOPInstanceUID
        assert row["study_instance_uid"] == theirs.StudyInstanceUID != info["files"][
            next(r for r in info["files"] if info["files"][r]["sop_uid"] == theirs.SOPInstanceUID)]["study_uid"]
        assert row["series_instance_uid"] is None and "SeriesInstanceUID" not in theirs


def test_paths_files_lists_and_missing_files(dicom_tree, tmp_path):
    root, info = dicom_tree
    some = sorted(info["files"])[:3]
    missing = tmp_path / "nowhere.dcm"
    table = dicomfast.index([os.path.join(root, some[0]), root / some[1], str(missing)], workers=1)
    rows = {row["path"]: row for row in table.to_pylist()}
    assert rows[str(missing)]["error_type"] == "FileNotFoundError"
    assert rows[str(missing)]["file_size"] is None
    assert rows[os.path.join(root, some[1])]["sop_instance_uid"] == info["files"][some[1]]["sop_uid"]
    # recursive=False: only the files directly in the folder (none at the root of the tree)
    assert dicomfast.index(root, workers=1, recursive=False).num_rows == 0
    assert dicomfast.index(root / "mixed", workers=1, recursive=False).num_rows == sum(
        rel.startswith("mixed/") for rel in [*info["files"], *info["broken"]])


def test_an_unexpected_exception_is_a_row_too(dicom_tree, monkeypatch):
    root, info = dicom_tree
    victim = os.path.join(root, sorted(info["files"])[0])
    real = indexing._read_file

    def flaky(path, wanted, strict=False, storage_options=None):
        if path == victim:
            raise RuntimeError("a bug in a reader")
        return real(path, wanted, strict, storage_options)

    monkeypatch.setattr(indexing, "_read_file", flaky)
    table = dicomfast.index(root, workers=1)
    rows = {row["path"]: row for row in table.to_pylist()}
    assert rows[victim]["error_type"] == "RuntimeError" and rows[victim]["error"] == "a bug in a reader"
    assert rows[victim]["defects"] is None
    # the files read: every good one but the victim, and the truncated one (read as pydicom reads it)
    truncated = sum(kind == "truncated" for kind in info["broken"].values())
    assert sum(row["error"] is None for row in rows.values()) == len(info["files"]) - 1 + truncated


def test_values_that_do_not_convert_are_null_cells_with_a_warning(dicom_tree, tmp_path):
    root, info = dicom_tree
    rel = next(r for r, f in info["files"].items() if f["transfer_syntax"] == "1.2.840.10008.1.2.1")
    data = (root / rel).read_bytes()
    study_date = pydicom.dcmread(root / rel).StudyDate.encode()
    bad = tmp_path / "bad_date.dcm"
    bad.write_bytes(data.replace(study_date, b"2024XX05"))  # every date of the file
    row = dicomfast.index(bad, workers=1).to_pylist()[0]
    assert row["error"] is None and row["sop_instance_uid"] == info["files"][rel]["sop_uid"]
    assert row["study_date"] is None and row["content_date"] is None
    assert "study_date" in row["warnings"] and "2024XX05" in row["warnings"]


@pytest.mark.parametrize("kind", ["text", "int", "float", "binary", "date", "time", "datetime"])
@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("empty", ["", [], b"", memoryview(b""), None])
def test_empty_values_are_null_cells(kind, multi, empty):
    assert indexing._cell(empty, kind, multi) is None
    assert indexing._converter(kind, multi)(empty) is None
    assert indexing._cell(0, "int", multi) == ([0] if multi else 0)  # zero is a value, not empty


@pytest.mark.parametrize("text", ["20240105", "2024.01.05", "19000101", "99991231"])
def test_dates_parse_as_pydicom(text):
    assert datetime.date(1970, 1, 1) + datetime.timedelta(days=indexing._parse_date(text)) == \
        datetime.date.fromordinal(DA(text).toordinal())


@pytest.mark.parametrize("text", ["12", "1230", "123045", "123045.1", "123045.123456", "000000", "235959.999999",
                                  "235960", "123045."])
def test_times_parse_as_pydicom(text):
    theirs = TM(text)
    expected = ((theirs.hour * 60 + theirs.minute) * 60 + theirs.second) * 1_000_000 + theirs.microsecond
    assert indexing._parse_time(text) == expected


def test_times_with_colons_as_old_files_write_them():
    # ACR-NEMA's HH:MM:SS, which pydicom does not take: the same time as HHMMSS
    assert indexing._parse_time("12:30:45") == indexing._parse_time("123045")


@pytest.mark.parametrize("text", ["2024", "202401", "20240105", "2024010512", "202401051230", "20240105123045",
                                  "20240105123045.5", "20240105123045.123456+0100", "20240105123045-0500",
                                  "20240105123045.", "2024+0100"])
def test_datetimes_parse_as_pydicom(text):
    theirs = DT(text).replace(tzinfo=None)
    expected = theirs - datetime.datetime(1970, 1, 1)
    assert indexing._parse_datetime(text) == expected // datetime.timedelta(microseconds=1)


@pytest.mark.parametrize("parse, text", [
    (indexing._parse_date, "2024010"), (indexing._parse_date, "20241305"), (indexing._parse_date, "abcdefgh"),
    (indexing._parse_time, "2460"), (indexing._parse_time, "1"), (indexing._parse_time, "12.5"),
    (indexing._parse_time, "123045.1234567"), (indexing._parse_datetime, "20240105123"),
    (indexing._parse_datetime, "2024.5"),
    # an ISO date, a sign without an offset, a short offset: not a DT's "&HHMM"
    (indexing._parse_datetime, "2024-01-05"), (indexing._parse_datetime, "2024010512-"),
    (indexing._parse_datetime, "20240105123045.5+01"), (indexing._parse_datetime, "20240105+01:00"),
    (indexing._parse_date, "2024"),
    (indexing._parse_date, "２０２４０１０５"), (indexing._parse_time, "１２"),  # full-width digits
])
def test_bad_dates_and_times_are_value_errors(parse, text):
    with pytest.raises(ValueError):
        parse(text)


def test_a_process_pool_gives_the_same_table(dicom_tree, table):
    root, _ = dicom_tree
    pooled = dicomfast.index(root, TAGS, workers=2, chunksize=4, progress=True)
    assert pooled.equals(table)


def _copy(dicom_tree, tmp_path):
    root, info = dicom_tree
    copy = tmp_path / "archive"
    shutil.copytree(root, copy)
    return copy, info


def _counting(monkeypatch):
    reads = []
    real = indexing._read_file

    def counted(path, wanted, strict=False, storage_options=None):
        reads.append(path)
        return real(path, wanted, strict, storage_options)

    monkeypatch.setattr(indexing, "_read_file", counted)
    return reads


def test_incremental_reindex_reads_only_what_changed(dicom_tree, tmp_path, monkeypatch):
    root, info = _copy(dicom_tree, tmp_path)
    reads = _counting(monkeypatch)
    first = dicomfast.index(root, TAGS, workers=1)
    n_files = len(info["files"]) + len(info["broken"])
    assert len(reads) == n_files

    # nothing changed: only the files that failed are read again (a failure may pass); the truncated
    # file is read as pydicom reads it, a row with its defect: kept
    failed = sorted(os.path.join(root, rel) for rel, kind in info["broken"].items() if kind != "truncated")
    with_defects = sorted(os.path.join(root, rel) for rel, kind in info["broken"].items() if kind == "truncated")
    reads.clear()
    again = dicomfast.index(root, TAGS, workers=1, previous=first)
    assert sorted(reads) == failed
    assert again.equals(first)
    # strict: the rows with defects are read again too (strict refuses their files)
    reads.clear()
    strict = dicomfast.index(root, TAGS, workers=1, previous=first, strict=True)
    assert sorted(reads) == sorted(failed + with_defects)
    assert {r["error_type"] for r in strict.to_pylist() if r["path"] in with_defects} == {"TruncatedError"}

    good = sorted(info["files"])
    changed, disguised, removed = (root / good[0]), (root / good[1]), (root / good[2])
    # a changed file (new contents, new mtime) is read again
    ds = pydicom.dcmread(changed)
    ds.PatientID = "CHANGED-ID"
    ds.save_as(changed)
    os.utime(changed, ns=(os.stat(changed).st_atime_ns, os.stat(changed).st_mtime_ns + 10**9))
    # the mtime trick: new contents, but the same size and mtime as before -> not read, old row kept
    stat = os.stat(disguised)
    ds = pydicom.dcmread(disguised)
    ds.PatientID = "X" * len(ds.PatientID)
    ds.save_as(disguised)
    assert os.path.getsize(disguised) == stat.st_size
    os.utime(disguised, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.remove(removed)
    shutil.copy(changed, root / "new_file.dcm")

    reads.clear()
    parquet = tmp_path / "first.parquet"
    pq.write_table(first, parquet)
    third = dicomfast.index(root, TAGS, workers=1, previous=parquet)  # a Parquet path works too
    assert sorted(reads) == sorted([str(changed), str(root / "new_file.dcm"), *failed])
    rows = {row["path"]: row for row in third.to_pylist()}
    assert rows[str(changed)]["patient_id"] == "CHANGED-ID"
    assert rows[str(root / "new_file.dcm")]["patient_id"] == "CHANGED-ID"
    assert rows[str(disguised)]["patient_id"] == info["files"][good[1]]["patient_id"]  # reused, not read
    assert str(removed) not in rows
    assert third.num_rows == n_files
    assert third.schema == first.schema


def test_a_previous_index_with_other_columns_is_not_reused(dicom_tree, monkeypatch):
    root, info = dicom_tree
    first = dicomfast.index(root, ["Rows"], workers=1)
    reads = _counting(monkeypatch)
    with pytest.warns(UserWarning, match="other columns"):
        second = dicomfast.index(root, ["Columns"], workers=1, previous=first)
    assert len(reads) == first.num_rows == second.num_rows
    with pytest.raises(TypeError):
        dicomfast.index(root, workers=1, previous=42)


@pytest.mark.parametrize("workers", [1, 2])
def test_parquet_streaming_equals_the_table(dicom_tree, tmp_path, table, monkeypatch, workers):
    root, _ = dicom_tree
    monkeypatch.setattr(indexing, "_ROW_GROUP", 8)  # several row groups from a small tree
    out = tmp_path / "index.parquet"
    assert dicomfast.index(root, TAGS, workers=workers, chunksize=3, out=out) is None
    written = pq.ParquetFile(out)
    assert written.metadata.num_row_groups > 1
    assert written.schema_arrow == table.schema
    assert written.read().sort_by("path").equals(table)


def test_parquet_streaming_with_a_previous_index(dicom_tree, tmp_path, table):
    root, _ = dicom_tree
    out = tmp_path / "again.parquet"
    dicomfast.index(root, TAGS, workers=1, out=out, previous=table)
    assert pq.read_table(out).sort_by("path").equals(table)


def test_parquet_in_place_of_the_previous_one_and_a_failed_run(dicom_tree, tmp_path, table, monkeypatch):
    root, _ = dicom_tree
    out = tmp_path / "index.parquet"
    dicomfast.index(root, TAGS, workers=1, out=out)
    dicomfast.index(root, TAGS, workers=1, out=out, previous=out)  # the usual update: in place
    assert pq.read_table(out).sort_by("path").equals(table)

    def failing(func, items, **kwargs):  # a run that dies after its first chunk (a worker lost, ^C)
        items = list(items)
        yield func(items[:3])
        raise KeyboardInterrupt

    monkeypatch.setattr(indexing, "map_chunks", failing)
    with pytest.raises(KeyboardInterrupt):
        dicomfast.index(root, TAGS, workers=1, out=out)
    assert pq.read_table(out).sort_by("path").equals(table)  # the last complete index, not 3 rows
    assert os.listdir(tmp_path) == ["index.parquet"]  # and nothing half-written beside it


def test_to_pandas(table):
    pytest.importorskip("pandas")
    df = table.to_pandas()
    assert len(df) == table.num_rows and list(df.columns) == table.column_names


def test_importing_dicomfast_does_not_import_pyarrow():
    code = "import sys, dicomfast; dicomfast.dcmread; print('pyarrow' in sys.modules, 'numpy' in sys.modules)"
    out = run_python("-c", code, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_a_row_not_a_hang(dicom_tree, tmp_path):
    # a FIFO among the files: opening it for reading would block until a writer comes
    root, info = dicom_tree
    shutil.copy(os.path.join(root, sorted(info["files"])[0]), tmp_path / "a.dcm")
    os.mkfifo(tmp_path / "b.fifo")
    rows = {row["path"]: row for row in dicomfast.index(tmp_path, workers=1).to_pylist()}
    assert rows[str(tmp_path / "a.dcm")]["error"] is None
    fifo = rows[str(tmp_path / "b.fifo")]
    assert fifo["error_type"] == "OSError" and "not a regular file" in fifo["error"]
    assert fifo["sop_instance_uid"] is None


def test_the_walk_skips_links_to_directories_and_warns_of_unlistable_ones(dicom_tree, tmp_path, monkeypatch):
    root, info = dicom_tree
    first = sorted(info["files"])[0]
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    shutil.copy(os.path.join(root, first), tmp_path / "a" / "deep" / "x.dcm")
    shutil.copy(os.path.join(root, first), tmp_path / "a" / "y.dcm")
    shutil.copy(os.path.join(root, first), tmp_path / "b" / "z.dcm")
    os.symlink(tmp_path / "a", tmp_path / "a" / "deep" / "loop")  # a loop back up
    os.symlink(tmp_path / "b" / "z.dcm", tmp_path / "a" / "link.dcm")  # a link to a file is a file
    walked = list(indexing.iter_files(tmp_path))
    assert walked == [str(tmp_path / p) for p in ("a/link.dcm", "a/y.dcm", "a/deep/x.dcm", "b/z.dcm")]

    real_scandir = os.scandir

    def denied(path):  # the tests run as root, where chmod 000 does not deny anything
        if os.fspath(path) == str(tmp_path / "b"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(indexing.os, "scandir", denied)
    with pytest.warns(UserWarning, match=r"/b is not indexed: it cannot be listed .*Permission denied"):
        table = dicomfast.index(tmp_path, workers=1)
    assert table.column("path").to_pylist() == sorted(walked[:3])
    assert table["error"].null_count == 3


@pytest.mark.skipif(os.fsencode("\udce9") != b"\xe9", reason="the file system encoding is not UTF-8")
def test_a_file_name_that_is_not_utf8(dicom_tree, tmp_path, monkeypatch):
    # Latin-1 "café": os.scandir gives it as a surrogate escape, which Arrow strings cannot hold
    root, info = dicom_tree
    first = sorted(info["files"])[0]
    latin1 = os.path.join(os.fsencode(tmp_path), b"caf\xe9.dcm")
    shutil.copy(os.path.join(root, first), latin1)
    os.mkfifo(os.path.join(os.fsencode(tmp_path), b"fifo\xff"))  # an error row whose message names the path
    table = dicomfast.index(tmp_path, workers=1)
    rows = {row["path"]: row for row in table.to_pylist()}
    assert set(rows) == {str(tmp_path / "caf\\xe9.dcm"), str(tmp_path / "fifo\\xff")}
    row = rows[str(tmp_path / "caf\\xe9.dcm")]
    assert row["error"] is None and row["sop_instance_uid"] == info["files"][first]["sop_uid"]
    assert "path: not UTF-8" in row["warnings"]
    assert "fifo\\xff" in rows[str(tmp_path / "fifo\\xff")]["error"]
    # incremental: the row of the unchanged file is found by its written path, and reused
    reads = _counting(monkeypatch)
    again = dicomfast.index(tmp_path, workers=1, previous=table)
    assert reads == [] and again.equals(table)  # the FIFO's row is an error: stat'ed, never read
