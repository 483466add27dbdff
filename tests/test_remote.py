"""Remote sources: URLs (http, s3, file) and fsspec files, read through the same reader and pixel
pipeline as local paths, with the requests each read costs counted by the test servers.

References: the local read of the same file (dcmread, pixel_array, read_pixels, index,
load_series of the path), and pydicom for the generated files. The servers: a Range-capable HTTP
server that counts requests (tests/remote_servers.py) and moto's S3 server (through s3fs).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

fsspec = pytest.importorskip("fsspec", reason="the remote tests need fsspec (pip install dicomfast[remote])")
pytest.importorskip("aiohttp", reason="fsspec's http:// needs aiohttp")
pydicom = pytest.importorskip("pydicom")

import dicomfast  # noqa: E402
from dicomfast.pixels.fileread import FrameReader  # noqa: E402
from remote_servers import MotoS3Server, RangeServer, free_port  # noqa: E402
from corpus import corpus_files  # noqa: E402

FRAMES = 60
ROWS, COLS = 128, 128


def _base(n: int = FRAMES):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    rng = np.random.default_rng(13)
    arr = rng.integers(0, 4000, (n, ROWS, COLS), dtype=np.uint16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7.3"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Remote^Frames"
    ds.PatientID = "R13"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    # a long header: more than the first 8 KiB block, so a header read takes its second request
    ds.ImageComments = "x" * 9000 if n > 1 else "short"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = ROWS, COLS
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.NumberOfFrames = n
    ds.RescaleSlope, ds.RescaleIntercept = 1.5, -1024
    ds.WindowCenter, ds.WindowWidth = 1000, 2000
    return ds, arr


def _rle_frames(arr):
    from pydicom.pixels.encoders import RLELosslessEncoder

    return [RLELosslessEncoder.encode(f, rows=ROWS, columns=COLS, samples_per_pixel=1, bits_allocated=16,
                                      bits_stored=16, pixel_representation=0, photometric_interpretation="MONOCHROME2",
                                      number_of_frames=1, planar_configuration=0, encoding_plugin="pydicom")
            for f in arr]


def _write(path: Path, kind: str) -> Path:
    from pydicom.encaps import encapsulate, encapsulate_extended
    from pydicom.uid import RLELossless

    ds, arr = _base()
    if kind == "native":
        ds.PixelData = arr.tobytes()
    else:
        frames = _rle_frames(arr)
        ds.file_meta.TransferSyntaxUID = RLELossless
        if kind == "rle_bot":
            ds.PixelData = encapsulate(frames, has_bot=True)
        elif kind == "rle_nobot":
            ds.PixelData = encapsulate(frames, has_bot=False)
        elif kind == "rle_eot":
            data, offsets, lengths = encapsulate_extended(frames)
            ds.PixelData = data
            ds.ExtendedOffsetTable = offsets
            ds.ExtendedOffsetTableLengths = lengths
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
    ds.save_as(path, enforce_file_format=True)
    return path


KINDS = ["native", "rle_bot", "rle_eot", "rle_nobot"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The generated files, and the corpus's multi-frame files, behind a counting HTTP server."""
    root = tmp_path_factory.mktemp("served")
    for kind in KINDS:
        _write(root / f"{kind}.dcm", kind)
    multi = root / "corpus"
    multi.mkdir()
    for path in corpus_files():
        try:
            head = pydicom.dcmread(path, stop_before_pixels=True)
            n = int(head.get("NumberOfFrames", 1) or 1)
        except Exception:  # noqa: BLE001 - the corpus's broken files are not served
            continue
        if n > 1 and "PixelData" in pydicom.dcmread(path, specific_tags=["PixelData"]):
            shutil.copy(path, multi / f"{Path(path).parent.name}_{Path(path).name}")
    with RangeServer(root) as server:
        yield root, server


def _counted(server, call):
    server.counter.reset()
    result = call()
    return result, list(server.counter.requests)


def _same_dataset(a, b):
    assert [e.tag for e in a] == [e.tag for e in b]
    for x, y in zip(a, b):
        if x.VR != "SQ":
            assert x.value == y.value, x.tag


@pytest.mark.parametrize("kind", KINDS)
def test_header_read_costs_two_requests_at_most(served, kind):
    root, server = served
    url = server.url(f"{kind}.dcm")
    ds, requests = _counted(server, lambda: dicomfast.dcmread(url, stop_before_pixels=True))
    _same_dataset(ds, dicomfast.dcmread(root / f"{kind}.dcm", stop_before_pixels=True))
    assert [r.method for r in requests] == ["GET", "GET"]  # the header is longer than the first block
    assert all(r.range and r.range.startswith("bytes=0-") for r in requests)
    small, requests = _counted(server, lambda: dicomfast.dcmread(url, specific_tags=["PatientID"]))
    assert small.PatientID == "R13" and len(requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_one_frame_costs_the_header_and_one_request(served, kind):
    root, server = served
    url, path = server.url(f"{kind}.dcm"), root / f"{kind}.dcm"
    reference = pydicom.dcmread(path).pixel_array
    # the header's second read (1 MiB) holds the first frames: they cost no request of their own
    for k in (0, 40, FRAMES - 1):
        arr, requests = _counted(server, lambda: dicomfast.pixel_array(url, frame=k))
        np.testing.assert_array_equal(arr, reference[k])
        header = 2
        if kind == "rle_nobot":  # no offset table: the fragments are found by reading them all
            assert len(requests) == header + 1 and requests[-1].sent == os.path.getsize(path)
        elif k == 0:
            assert len(requests) == header
        else:
            assert len(requests) == header + 1
            assert requests[-1].sent < 1.5 * 2 * ROWS * COLS  # one frame (RLE of noise: a little more)


@pytest.mark.parametrize("kind", KINDS)
def test_scattered_and_neighbouring_frames(served, kind):
    root, server = served
    url, path = server.url(f"{kind}.dcm"), root / f"{kind}.dcm"
    reference = pydicom.dcmread(path).pixel_array
    scattered = [33, 36, 39, 42, 45, 48, 51, 54, 57, 59]  # past the header's reads
    with FrameReader(url) as reader:
        got, requests = _counted(server, lambda: reader.stored(scattered))
        for k, arr in zip(scattered, got):
            np.testing.assert_array_equal(arr, reference[k])
        if kind != "rle_nobot":
            assert len(requests) == len(scattered)  # one per frame, concurrent
            run, requests = _counted(server, lambda: reader.stored([43, 44, 45, 46]))
            assert len(requests) == 1  # a run of neighbours: one request
            for k, arr in zip([43, 44, 45, 46], run):
                np.testing.assert_array_equal(arr, reference[k])


@pytest.mark.parametrize("kind", KINDS)
def test_read_pixels_and_iter_frames_from_a_url(served, kind):
    root, server = served
    url, path = server.url(f"{kind}.dcm"), root / f"{kind}.dcm"
    for options in ({}, {"window": "dataset"}, {"rescale": False}):
        np.testing.assert_array_equal(dicomfast.read_pixels(url, frame=5, **options),
                                      dicomfast.read_pixels(path, frame=5, **options))
        np.testing.assert_array_equal(dicomfast.read_pixels(url, **options), dicomfast.read_pixels(path, **options))
    frames, requests = _counted(server, lambda: list(dicomfast.iter_frames(url)))
    np.testing.assert_array_equal(np.stack(frames), dicomfast.pixel_array(path))
    if kind != "rle_nobot":  # the header, and a request per frame past the header's bytes
        assert 2 < len(requests) < 2 + FRAMES
    np.testing.assert_array_equal(dicomfast.pixel_array(url), dicomfast.pixel_array(path))


def test_corpus_multiframe_files_by_frame(served):
    root, server = served
    files = sorted((root / "corpus").iterdir())
    assert files
    for path in files:
        url = server.url(f"corpus/{path.name}")
        try:
            expected = dicomfast.pixel_array(path)
        except dicomfast.DicomError as exc:
            with pytest.raises(type(exc)):
                dicomfast.pixel_array(url)
            continue
        n = expected.shape[0]
        for k in {0, n // 2, n - 1}:
            np.testing.assert_array_equal(dicomfast.pixel_array(url, frame=k), expected[k], err_msg=path.name)


def test_fsspec_files_and_file_urls(served):
    root, _ = served
    path = root / "rle_bot.dcm"
    with fsspec.open(path.as_uri(), "rb") as f:
        np.testing.assert_array_equal(dicomfast.pixel_array(f, frame=3), dicomfast.pixel_array(path, frame=3))
    opened = fsspec.open(path.as_uri(), "rb")
    assert dicomfast.dcmread(opened, stop_before_pixels=True).PatientID == "R13"
    np.testing.assert_array_equal(dicomfast.pixel_array(path.as_uri(), frame=29), dicomfast.pixel_array(path)[29])


def test_a_server_that_ignores_ranges(tmp_path):
    _write(tmp_path / "native.dcm", "native")
    with RangeServer(tmp_path, ignore_ranges=True) as server:
        url = server.url("native.dcm")
        np.testing.assert_array_equal(dicomfast.pixel_array(url, frame=7),
                                      dicomfast.pixel_array(tmp_path / "native.dcm", frame=7))


def test_missing_and_unreachable_urls(served):
    _, server = served
    with pytest.raises(FileNotFoundError):
        dicomfast.dcmread(server.url("nothing.dcm"))
    with pytest.raises(dicomfast.DicomError) as info:
        dicomfast.dcmread(f"http://127.0.0.1:{free_port()}/a.dcm", stop_before_pixels=True)
    assert "127.0.0.1" in str(info.value)


# -- S3: moto's server, through s3fs ------------------------------------------------------------------

@pytest.fixture(scope="module")
def s3(served):
    """A moto S3 server on a free port (its WSGI app wrapped to count requests), with a bucket of
    the generated files; s3fs is pointed at it through fsspec's configuration."""
    pytest.importorskip("s3fs", reason="s3:// needs s3fs")
    pytest.importorskip("moto.server", reason="the S3 tests need moto[server]")
    with MotoS3Server() as server:
        server.fs.mkdir("dicom")
        root, _ = served
        for kind in KINDS:
            server.fs.put(str(root / f"{kind}.dcm"), f"dicom/files/{kind}.dcm")
        yield server.counter


@pytest.mark.parametrize("kind", KINDS)
def test_s3_header_and_frames(served, s3, kind):
    root, _ = served
    url, path = f"s3://dicom/files/{kind}.dcm", root / f"{kind}.dcm"
    s3.reset()
    ds = dicomfast.dcmread(url, stop_before_pixels=True)
    _same_dataset(ds, dicomfast.dcmread(path, stop_before_pixels=True))
    gets = s3.gets("/dicom/files/")
    assert len(gets) == 2 and all(r.range for r in gets)
    s3.reset()
    np.testing.assert_array_equal(dicomfast.pixel_array(url, frame=41), dicomfast.pixel_array(path, frame=41))
    assert len(s3.gets("/dicom/files/")) == 3
    s3.reset()
    with FrameReader(url) as reader:
        s3.reset()
        frames = reader.stored([41, 42, 43, 50])
    for k, arr in zip([41, 42, 43, 50], frames):
        np.testing.assert_array_equal(arr, dicomfast.pixel_array(path, frame=k))
    if kind != "rle_nobot":
        assert len(s3.gets("/dicom/files/")) == 2  # the run 41-43, and 50


def test_s3_index_and_load_series(served, s3, tmp_path):
    import s3fs
    from series_factory import make_series

    spec = make_series(tmp_path / "series", n=6)
    fs = s3fs.S3FileSystem()
    for p in spec.paths:
        fs.put(str(p), f"dicom/series/{p.name}")
    table = dicomfast.index("s3://dicom/series/", workers=1)
    local = dicomfast.index(tmp_path / "series", workers=1)
    assert table.num_rows == local.num_rows == 6
    assert table.column("error").null_count == 6
    assert table.column("path").to_pylist()[0].startswith("s3://dicom/series/")
    for name in ("sop_instance_uid", "series_instance_uid", "instance_number"):
        assert sorted(table.column(name).to_pylist()) == sorted(local.column(name).to_pylist())
    volume = dicomfast.load_series("s3://dicom/series/")
    reference = dicomfast.load_series(tmp_path / "series")
    np.testing.assert_array_equal(volume.array, reference.array)
    assert volume.spacing == reference.spacing


# -- the frame index: index(..., frames=True) and read_frames ------------------------------------------

def _frame_rows(table):
    return {Path(row["path"]).name: row for row in table.to_pylist()}


def test_frame_index_schema():
    import pyarrow as pa

    schema = dicomfast.index_schema(frames=True)
    assert schema.field("frame_offsets").type == pa.list_(pa.int64())
    assert schema.field("frame_lengths").type == pa.list_(pa.int64())
    assert schema.field("pixel_data_offset").type == pa.int64()
    assert schema.field("Rows").type == pa.int64() and schema.field("NumberOfFrames").type == pa.int64()
    assert schema.field("PhotometricInterpretation").type == pa.string()
    assert "frame_offsets" not in dicomfast.index_schema().names


@pytest.mark.parametrize("where", ["local", "http"])
def test_frame_index_of_every_multiframe_corpus_file(served, where):
    """read_frames from an index row gives pixel_array(path, frame=k) for every frame of every
    multi-frame corpus file, indexed from the local paths and from their URLs."""
    root, server = served
    files = sorted((root / "corpus").iterdir())
    paths = files if where == "local" else [server.url(f"corpus/{p.name}") for p in files]
    rows = _frame_rows(dicomfast.index(paths, frames=True, workers=1))
    tables = set()
    for path in files:
        row = rows[path.name]
        try:
            expected = dicomfast.pixel_array(path)
        except dicomfast.DicomError:
            continue
        if row["frame_table"] is None:
            # a deflated file, or one whose fragments cannot be walked (it ends inside them): none, and why
            assert row["warnings"].startswith("frames:"), path.name
            assert "deflated" in row["warnings"] or "delimiter" in row["warnings"], path.name
            with pytest.raises(dicomfast.FrameIndexError):
                dicomfast.read_frames(row, [0])
            continue
        tables.add(row["frame_table"])
        n = len(row["frame_offsets"])
        assert n == (expected.shape[0] if row["NumberOfFrames"] and row["NumberOfFrames"] > 1 else 1)
        got = dicomfast.read_frames(row, range(n))
        for k in range(n):
            np.testing.assert_array_equal(got[k], dicomfast.pixel_array(path, frame=k), err_msg=path.name)
    assert {"native", "basic", "fragments"} <= tables


def test_frame_index_columns(served):
    root, server = served
    rows = _frame_rows(dicomfast.index([root / f"{kind}.dcm" for kind in KINDS], frames=True, workers=1))
    assert [rows[f"{kind}.dcm"]["frame_table"] for kind in KINDS] == ["native", "basic", "extended", "fragments"]
    native = rows["native.dcm"]
    size = ROWS * COLS * 2
    assert native["pixel_data_length"] == FRAMES * size
    assert native["frame_offsets"] == [native["pixel_data_offset"] + k * size for k in range(FRAMES)]
    assert native["frame_lengths"] == [size] * FRAMES
    with open(root / "native.dcm", "rb") as f:  # the offset is the pixel data's value: its first bytes
        f.seek(native["pixel_data_offset"])
        assert f.read(size) == pydicom.dcmread(root / "native.dcm").PixelData[:size]
    bot = rows["rle_bot.dcm"]
    assert bot["pixel_data_length"] is None and bot["frame_lengths"][-1] is None  # to the end of the file
    walked = rows["rle_nobot.dcm"]
    assert walked["pixel_data_length"] == os.path.getsize(root / "rle_nobot.dcm") - walked["pixel_data_offset"]
    # the same columns from the URLs
    remote = _frame_rows(dicomfast.index([server.url(f"{kind}.dcm") for kind in KINDS], frames=True, workers=1))
    for name, row in rows.items():
        for column in ("frame_table", "frame_offsets", "frame_lengths", "pixel_data_offset", "Rows", "BitsStored"):
            assert remote[name][column] == row[column], (name, column)


@pytest.mark.parametrize("kind", KINDS)
def test_read_frames_request_counts(served, kind):
    """No header read: one range request per run of neighbouring frames, never from offset 0."""
    root, server = served
    path = root / f"{kind}.dcm"
    table = dicomfast.index([server.url(f"{kind}.dcm")], frames=True, workers=1)
    reference = pydicom.dcmread(path).pixel_array
    for frames, runs in (([40], 1), ([3, 17, 33, 36, 39, 42, 45, 48, 51, 54], 10), ([43, 44, 45, 46], 1),
                         ([10, 11, 30, 31, 32], 2)):
        got, requests = _counted(server, lambda: dicomfast.read_frames(table, frames))
        for k, arr in zip(frames, got):
            np.testing.assert_array_equal(arr, reference[k])
        assert len(requests) == runs, (frames, requests)
        assert all(r.range and not r.range.startswith("bytes=0-") for r in requests)
    # the last frame of a Basic Offset Table runs to the end of the file: one open-ended request
    last, requests = _counted(server, lambda: dicomfast.read_frames(table, [FRAMES - 1]))
    np.testing.assert_array_equal(last[0], reference[-1])
    assert len(requests) == 1


def test_read_frames_errors(served):
    root, _ = served
    plain = dicomfast.index([root / "native.dcm"], workers=1)
    with pytest.raises(dicomfast.FrameIndexError, match="no frame index"):
        dicomfast.read_frames(plain, [0])
    table = dicomfast.index([root / "native.dcm"], frames=True, workers=1)
    with pytest.raises(IndexError):
        dicomfast.read_frames(table, [FRAMES])
    row = table.to_pylist()[0]
    row["BitsAllocated"] = 12  # the row's module is checked as a dataset's
    with pytest.raises(dicomfast.InvalidPixelAttributeError):
        dicomfast.read_frames(row, [0])
    pandas = pytest.importorskip("pandas")
    series = table.to_pandas().iloc[0]
    assert isinstance(series, pandas.Series)
    np.testing.assert_array_equal(dicomfast.read_frames(series, [5])[0],
                                  dicomfast.pixel_array(root / "native.dcm", frame=5))


def test_load_series_and_read_batch_of_urls_run_concurrent_requests(tmp_path):
    """load_series and read_batch of URLs: equal to the local reads, their requests in flight
    together (each answer held 0.2 s by the server, so only concurrent requests overlap)."""
    from series_factory import make_series

    spec = make_series(tmp_path / "s", n=6)
    with RangeServer(tmp_path, delay=0.2) as server:
        urls = [server.url(f"s/{p.name}") for p in spec.paths]
        server.counter.reset()
        volume = dicomfast.load_series(urls, workers=3)
        assert server.counter.max_in_flight == 3
        np.testing.assert_array_equal(volume.array, dicomfast.load_series(tmp_path / "s").array)
        assert volume.paths[0].startswith("http://")
        server.counter.reset()
        batch = dicomfast.read_batch(urls, workers=3)
        assert server.counter.max_in_flight == 3
        np.testing.assert_array_equal(batch, dicomfast.read_batch([str(p) for p in spec.paths]))
        server.counter.reset()
        dicomfast.read_batch(urls, workers=1)
        assert server.counter.max_in_flight == 1
