"""DICOMweb against a real Orthanc with its DICOMweb plugin (Debian packages orthanc and
orthanc-dicomweb; ci/setup.sh installs them): started on free ports with its own configuration in
a temporary directory (tests/remote_servers.py's ``OrthancServer``), behind a proxy that counts the
requests, loaded through STOW-RS, stopped after. What comes back is compared with pydicom and with
dicomfast reading the same files locally."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

requests = pytest.importorskip("requests", reason="the DICOMweb client needs requests (pip install dicomfast[remote])")
pydicom = pytest.importorskip("pydicom")

import dicomfast  # noqa: E402
from dicomfast.remote.dicomweb import DICOMwebClient, MultipartError, parse_multipart  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from remote_servers import CountingProxy, OrthancServer, free_port, orthanc_missing  # noqa: E402

DATA = Path(pydicom.__file__).parent / "data" / "test_files"


def _corpus():
    from pydicom.data import get_testdata_file

    names = ["CT_small.dcm", "MR_small.dcm", "emri_small_RLE.dcm", "SC_rgb_2frame.dcm"]
    return [Path(get_testdata_file(n)) for n in names]


@pytest.fixture(scope="module")
def orthanc_server(tmp_path_factory):
    """Orthanc and a counting proxy in front of it: ``(server, proxy)``."""
    why = orthanc_missing()
    if why:
        pytest.skip(why)
    with OrthancServer(tmp_path_factory.mktemp("orthanc")) as server, CountingProxy(server.url) as proxy:
        yield server, proxy


@pytest.fixture(scope="module")
def orthanc(orthanc_server):
    """A client (through the proxy) of Orthanc loaded with pydicom's test files, and the files."""
    _, proxy = orthanc_server
    client = DICOMwebClient(f"{proxy.url}/dicom-web", timeout=30)
    files = _corpus()
    client.store(files[:3])  # files as they are
    client.store([dicomfast.dcmread(files[3])])  # a dataset, written with dcmwrite
    return client, files


def _uids(path):
    ds = pydicom.dcmread(path)
    return ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID


def test_qido_tables(orthanc):
    client, files = orthanc
    studies = client.search_studies()
    assert studies.schema == dicomfast.index_schema()
    expected = {pydicom.dcmread(p).StudyInstanceUID for p in files}
    assert set(studies.column("study_instance_uid").to_pylist()) == expected
    ct = pydicom.dcmread(files[0])
    found = client.search_instances(ct.StudyInstanceUID, ct.SeriesInstanceUID)
    assert found.column("sop_instance_uid").to_pylist() == [ct.SOPInstanceUID]
    series = client.search_series(PatientID=ct.PatientID)
    assert ct.SeriesInstanceUID in series.column("series_instance_uid").to_pylist()
    row = client.search_studies(StudyInstanceUID=ct.StudyInstanceUID).to_pylist()[0]
    local = dicomfast.index([files[0]], workers=1).to_pylist()[0]
    for name in ("patient_id", "patient_name", "study_date", "study_time", "study_instance_uid"):
        assert row[name] == local[name], name


@pytest.mark.parametrize("k", range(4))
def test_wado_instances_equal_pydicom(orthanc, k):
    client, files = orthanc
    path = files[k]
    ds = client.retrieve_instance(*_uids(path))
    ref = pydicom.dcmread(path)
    assert isinstance(ds, dicomfast.Dataset)
    for elem in ref:
        if elem.VR == "SQ" or elem.tag.group == 0x7FE0 or elem.tag.is_private:
            continue
        assert ds[elem.tag].value == elem.value or str(ds[elem.tag].value) == str(elem.value), elem
    np.testing.assert_array_equal(dicomfast.pixel_array(ds), ref.pixel_array)


def test_wado_series_metadata_and_frames(orthanc):
    client, files = orthanc
    path = files[3]  # SC_rgb_2frame: two native RGB frames
    study, series, instance = _uids(path)
    datasets = client.retrieve_series(study, series)
    assert [d.SOPInstanceUID for d in datasets] == [instance]
    meta = client.retrieve_metadata(study, series, instance)
    assert meta[0]["00280010"]["Value"] == [pydicom.dcmread(path).Rows]
    ref = pydicom.dcmread(path).pixel_array
    frames = client.retrieve_frames(study, series, instance, [1, 0])
    np.testing.assert_array_equal(frames[0], ref[1])
    np.testing.assert_array_equal(frames[1], ref[0])
    rle = files[2]  # emri_small_RLE: encapsulated frames, decoded through the codec registry
    ref = pydicom.dcmread(rle).pixel_array
    got = client.retrieve_frames(*_uids(rle), [0, 5])
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[5])


def test_errors(orthanc):
    client, _ = orthanc
    with pytest.raises(dicomfast.TransportError):
        client.retrieve_instance("1.2.3", "4.5.6", "7.8.9")
    with pytest.raises(MultipartError, match="boundary"):
        parse_multipart(b"--X\r\n\r\nab", "multipart/related")
    with pytest.raises(MultipartError, match="truncated"):
        parse_multipart(b"--X\r\nContent-Type: application/dicom\r\n\r\nabc", "multipart/related; boundary=X")
    with pytest.raises(MultipartError, match="multipart"):
        parse_multipart(b"{}", "application/json")
    unreachable = DICOMwebClient(f"http://127.0.0.1:{free_port()}/dicom-web", timeout=5)
    with pytest.raises(dicomfast.TransportError, match="127.0.0.1"):
        unreachable.search_studies()


# -- frames in parallel, load_series, the round trip ----------------------------------------------

FRAME_SYNTAXES = {
    "native": "1.2.840.10008.1.2.1",
    "rle": "1.2.840.10008.1.2.5",
    "jpeg_ls": "1.2.840.10008.1.2.4.80",
    "jpeg_lossless": "1.2.840.10008.1.2.4.70",
}


def _multiframe(path: Path, syntax: str, n: int = 12) -> Path:
    """An n-frame 48 x 40 12-bit file in ``syntax`` (compressed by dicomfast's encoders)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import generate_uid

    from dicomfast.pixels.codecs.encoding import encode_frames

    rng = np.random.default_rng(len(path.name))
    arr = (rng.integers(0, 200, (n, 48, 40)) + np.arange(n)[:, None, None] * 300).astype(np.uint16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.3"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Frames^Parallel", "W13", "OT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns, ds.NumberOfFrames = 48, 40, n
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if syntax == FRAME_SYNTAXES["native"]:
        ds.PixelData = arr.tobytes()
    else:
        encoded = encode_frames(arr, syntax, bits_stored=12)
        ds.PixelData = encapsulate(encoded.fragments, has_bot=True)
        ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture(scope="module")
def multiframe(orthanc, tmp_path_factory):
    client, _ = orthanc
    root = tmp_path_factory.mktemp("multiframe")
    files = {kind: _multiframe(root / f"{kind}.dcm", syntax) for kind, syntax in FRAME_SYNTAXES.items()}
    client.store(list(files.values()))
    return files


@pytest.mark.parametrize("kind", list(FRAME_SYNTAXES))
def test_frames_in_parallel_requests(orthanc_server, orthanc, multiframe, kind):
    _, proxy = orthanc_server
    client, _ = orthanc
    path = multiframe[kind]
    uids = _uids(path)
    assert client.retrieve_instance(*uids).file_meta.TransferSyntaxUID == FRAME_SYNTAXES[kind]  # stored as sent
    ref = pydicom.dcmread(path).pixel_array
    asked = [11, 0, 5, 6, 7, 3, 2, 9, 10, 1]
    meta = client.retrieve_metadata(*uids)[0]
    proxy.delay = 0.2  # each request held: concurrent requests overlap, sequential ones cannot
    try:
        proxy.counter.reset()
        got = client.retrieve_frames(*uids, asked, workers=4, metadata=meta)
        requests = list(proxy.counter.requests)
        overlap = proxy.counter.max_in_flight
    finally:
        proxy.delay = 0.0
    groups = sorted(r.path.split("/frames/")[1] for r in requests)
    assert groups == sorted(["12,1,6", "7,8,4", "3,10,11", "2"])  # four groups, no metadata request
    assert overlap == 4
    for k, arr in zip(asked, got):
        np.testing.assert_array_equal(arr, ref[k])
        np.testing.assert_array_equal(arr, dicomfast.pixel_array(path, frame=k))
    proxy.counter.reset()
    one = client.retrieve_frames(*uids, [4, 8])  # by default: the metadata, then one request
    assert [r.path.rsplit("/", 1)[1] for r in proxy.counter.requests] == ["metadata", "5,9"]
    np.testing.assert_array_equal(np.stack(one), ref[[4, 8]])


def test_frame_numbers_checked(orthanc, multiframe):
    client, _ = orthanc
    uids = _uids(multiframe["native"])
    assert client.retrieve_frames(*uids, []) == []
    with pytest.raises(IndexError):
        client.retrieve_frames(*uids, [-1])
    with pytest.raises(TypeError):
        client.retrieve_frames(*uids, [1.0])
    with pytest.raises(ValueError):
        client.retrieve_frames(*uids, [1], workers=0)
    with pytest.raises(dicomfast.TransportError):
        client.retrieve_frames(*uids, [12])  # frame 13 of 12


def _same_elements(a, b):
    assert [e.tag for e in a] == [e.tag for e in b]
    for x, y in zip(a, b):
        if x.VR == "SQ":
            assert len(x.value) == len(y.value)
            for p, q in zip(x.value, y.value):
                _same_elements(p, q)
        else:
            assert x.value == y.value, x.tag


def test_round_trip_of_a_generated_series(orthanc_server, orthanc, tmp_path):
    """STOW a generated series, QIDO finds it, WADO gives its elements and pixels unchanged, and
    load_series from DICOMweb equals load_series of the local files."""
    from series_factory import make_series

    _, proxy = orthanc_server
    client, _ = orthanc
    spec = make_series(tmp_path / "series", n=9)
    client.store(spec.paths)
    local = {dicomfast.dcmread(p).SOPInstanceUID: dicomfast.dcmread(p) for p in spec.paths}
    study = next(iter(local.values())).StudyInstanceUID

    found = client.search_series(SeriesInstanceUID=spec.series_uid)
    assert found.column("series_instance_uid").to_pylist() == [spec.series_uid]
    instances = client.search_instances(study, spec.series_uid)
    assert sorted(instances.column("sop_instance_uid").to_pylist()) == sorted(local)

    for uid, ds in local.items():
        remote = client.retrieve_instance(study, spec.series_uid, uid)
        _same_elements(remote, ds)  # every element, the pixel data's bytes too
        np.testing.assert_array_equal(dicomfast.pixel_array(remote), dicomfast.pixel_array(ds))

    proxy.delay = 0.2
    try:
        proxy.counter.reset()
        volume = client.load_series(study, spec.series_uid, workers=4)
        requests, overlap = list(proxy.counter.requests), proxy.counter.max_in_flight
    finally:
        proxy.delay = 0.0
    assert len(requests) == 1 + 9  # QIDO, then one WADO-RS request per instance
    assert overlap == 4
    reference = dicomfast.load_series(tmp_path / "series")
    np.testing.assert_array_equal(volume.array, reference.array)
    assert volume.array.dtype == reference.array.dtype
    assert volume.spacing == reference.spacing and volume.origin == reference.origin
    np.testing.assert_array_equal(volume.affine, reference.affine)
    np.testing.assert_array_equal(volume.direction, reference.direction)
    assert [d.SOPInstanceUID for d in volume.datasets] == [d.SOPInstanceUID for d in reference.datasets]
    assert volume.paths[0] == f"{client.url}/studies/{study}/series/{spec.series_uid}/instances/" \
                              f"{volume.datasets[0].SOPInstanceUID}"
    proxy.counter.reset()
    stored = client.load_series(study, spec.series_uid, rescale=False)  # by default, one request
    assert [r.path for r in proxy.counter.requests] == [f"/dicom-web/studies/{study}/series/{spec.series_uid}"]
    np.testing.assert_array_equal(stored.array, dicomfast.load_series(tmp_path / "series", rescale=False).array)
    assert stored.paths == volume.paths
    with pytest.raises(dicomfast.SeriesError):
        client.load_series(study, "1.2.3.4.5", workers=2)
    with pytest.raises((dicomfast.SeriesError, dicomfast.TransportError)):
        client.load_series(study, "1.2.3.4.5", workers=1)


# -- read_batch -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def batch_series(orthanc, tmp_path_factory):
    """A generated 6-slice series (slopes differing per slice) stored in Orthanc: (paths, uids)."""
    from series_factory import make_series

    client, _ = orthanc
    spec = make_series(tmp_path_factory.mktemp("batch") / "series", n=6, seed=13)
    client.store(spec.paths)
    return list(spec.paths), [_uids(p) for p in spec.paths]


BATCH_OPTIONS = [
    {},
    {"rescale": False},
    {"window": (40, 400)},
    {"window": (40, 400), "dtype": np.float32},
    {"rescale": False, "dtype": np.int32},
    {"dtype": np.float64, "workers": 1},
]


@pytest.mark.parametrize("options", BATCH_OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults")
def test_read_batch_equals_local(orthanc_server, orthanc, batch_series, options):
    _, proxy = orthanc_server
    client, _ = orthanc
    paths, uids = batch_series
    order = [3, 0, 5, 1, 4, 2, 3]  # any order, an instance twice
    local = dicomfast.read_batch([paths[k] for k in order], **options)
    proxy.counter.reset()
    remote = client.read_batch([uids[k] for k in order], **options)
    assert remote.dtype == local.dtype and remote.shape == local.shape
    np.testing.assert_array_equal(remote, local)
    assert len(proxy.counter.requests) == len(order)  # one WADO-RS request an image, the first not twice
    assert all("/instances/" in r.path for r in proxy.counter.requests)


def test_read_batch_from_a_qido_table_into_out(orthanc, batch_series):
    client, _ = orthanc
    paths, uids = batch_series
    study, series, _ = uids[0]
    table = client.search_instances(study, series)
    by_uid = {u[2]: p for p, u in zip(paths, uids)}
    order = [by_uid[u] for u in table.column("sop_instance_uid").to_pylist()]
    out = np.full((len(order), 16, 12), 7, np.uint8)
    assert client.read_batch(table, out, window="dataset") is out
    np.testing.assert_array_equal(out, dicomfast.read_batch(order, window="dataset"))
    np.testing.assert_array_equal(client.read_batch(table.to_pandas()), dicomfast.read_batch(order))


def test_read_batch_of_frames_equals_local(orthanc, multiframe):
    client, _ = orthanc
    files = [multiframe[k] for k in FRAME_SYNTAXES]
    refs = [_uids(p) for p in files]
    np.testing.assert_array_equal(client.read_batch(refs, frame=7), dicomfast.read_batch(files, frame=7))
    whole = client.read_batch(refs, rescale=False)
    assert whole.shape == (4, 12, 48, 40) and whole.dtype == np.uint16
    np.testing.assert_array_equal(whole, dicomfast.read_batch(files, rescale=False))


def test_read_batch_errors(orthanc, batch_series, multiframe):
    client, _ = orthanc
    _, uids = batch_series
    study, series, _ = uids[0]
    missing = (study, series, "1.2.3.4.5.6")
    with pytest.raises(dicomfast.FileReadError, match="1.2.3.4.5.6") as caught:
        client.read_batch([uids[0], missing, uids[1]])
    assert caught.value.index == 1
    assert caught.value.path == f"{client.url}/studies/{study}/series/{series}/instances/1.2.3.4.5.6"
    assert isinstance(caught.value.__cause__, dicomfast.TransportError)
    with pytest.raises(dicomfast.FileReadError) as caught:  # 48 x 40 frames do not fit a 16 x 12 batch
        client.read_batch([uids[0], _uids(multiframe["native"])], frame=0)
    assert caught.value.index == 1
    out = np.empty((2, 16, 12), np.float32)
    with pytest.raises(ValueError, match="2 images for 1"):
        client.read_batch(uids[:1], out)
    with pytest.raises(TypeError, match="dtype"):
        client.read_batch(uids[:2], out, dtype=np.uint8)
    with pytest.raises(TypeError, match="triple"):
        client.read_batch([(study, series)])
    with pytest.raises(TypeError, match="triples"):
        client.read_batch("1.2.3")
    with pytest.raises(ValueError, match="three UIDs"):
        client.read_batch([(study, series, "")])
    with pytest.raises(ValueError, match="sop_instance_uid"):
        client.read_batch(client.search_studies(StudyInstanceUID=study).drop(["sop_instance_uid"]))
    with pytest.raises(ValueError, match="at least one"):
        client.read_batch([])
