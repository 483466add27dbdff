"""Bad servers and bad bytes: every way tests/remote_servers.py's FaultServer can misbehave, met by
the fsspec HTTP source (``open_source``, ``dcmread`` of a URL) and by the DICOMweb client; and the
S3 path (s3fs, botocore) against moto's server behind a fault layer (``MotoS3Server.faults``).

Each test asserts the error class, that the message names the URL, and how many requests the server
saw: idempotent requests are tried ``retries`` more times for transient faults (connection errors,
timeouts, bodies cut short, 429/502/503/504) and not for answers that are wrong (a bad range, a wrong
content type, a broken multipart body); a POST is sent once. Stalls are bounded by short timeouts and
a wall-clock check. The backoff is shortened for the tests (``sources.RETRY_BACKOFF``).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fsspec", reason="the remote tests need fsspec (pip install dicomfast[remote])")
pytest.importorskip("aiohttp", reason="fsspec's http:// needs aiohttp")
pytest.importorskip("requests", reason="the DICOMweb client needs requests (pip install dicomfast[remote])")
pydicom = pytest.importorskip("pydicom")

import dicomfast  # noqa: E402
from dicomfast import sources  # noqa: E402
from dicomfast.errors import TransportError  # noqa: E402
from dicomfast.remote.dicomweb import DICOMwebClient, MultipartError  # noqa: E402
from dicomfast.sources import Range, open_source  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from remote_servers import FaultServer, MotoS3Server, Resource, free_port, multipart  # noqa: E402

STUDY, SERIES, INSTANCE = "1.2.3", "1.2.3.4", "1.2.3.4.5"
INSTANCE_PATH = f"studies/{STUDY}/series/{SERIES}/instances/{INSTANCE}"
FAST = (1.0, 0.5)  # connect, read: the stall tests' timeouts
RETRIES = 2


@pytest.fixture(scope="module")
def ct_bytes() -> bytes:
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file("CT_small.dcm")).read_bytes()


@pytest.fixture(scope="module")
def server(ct_bytes):
    study = {"0020000D": {"vr": "UI", "Value": [STUDY]}, "00100020": {"vr": "LO", "Value": ["F6"]}}
    resources = {
        "/ct.dcm": Resource(ct_bytes, "application/dicom"),
        "/dicom-web/studies": Resource(json.dumps([study]).encode(), "application/dicom+json"),
        f"/dicom-web/{INSTANCE_PATH}": multipart([("application/dicom", ct_bytes)]),
    }
    with FaultServer(resources) as s:
        yield s


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch, server):
    monkeypatch.setattr(sources, "RETRY_BACKOFF", 0.01)
    server.reset()
    yield
    server.release()
    server.reset()


def _source(server, **options):
    options.setdefault("retries", RETRIES)
    return open_source(server.url("ct.dcm"), **options)


def _web(server, **options):
    options.setdefault("retries", RETRIES)
    return DICOMwebClient(server.url("dicom-web"), **options)


def _raises(kind, call, url):
    with pytest.raises(kind) as info:
        call()
    assert url in str(info.value), str(info.value)
    assert info.value.url is not None and info.value.url.startswith(url)
    return info.value


def _count(server, method="GET"):
    return sum(r.method == method for r in server.counter.requests)


# -- the server works, and the happy paths count one request ------------------------------------

def test_good_server(server, ct_bytes):
    src = _source(server)
    assert src.read_at(100, 4096) == ct_bytes[100:4196]
    assert src.size == len(ct_bytes)  # learnt from the Content-Range
    assert src.read_ranges([Range(5000, 10), Range(9000, 20)]) == [ct_bytes[5000:5010], ct_bytes[9000:9020]]
    assert _count(server) == 3
    ds = _web(server).retrieve_instance(STUDY, SERIES, INSTANCE)
    assert ds.SOPInstanceUID == pydicom.dcmread(__import__("io").BytesIO(ct_bytes)).SOPInstanceUID
    assert _count(server) == 4
    assert _web(server).search_studies().column("study_instance_uid").to_pylist() == [STUDY]


# -- closing early and lying about lengths: transient for GETs (retried), never for a POST ------

@pytest.mark.parametrize("mode", ["close_early", "length_long"])
def test_body_cut_short_fsspec(server, mode):
    server.reset(mode)
    err = _raises(TransportError, lambda: _source(server).read_at(100, 4096), server.url("ct.dcm"))
    assert "bytes 100-4195" in str(err) and f"{RETRIES + 1} tries" in str(err)
    assert _count(server) == RETRIES + 1


@pytest.mark.parametrize("mode", ["close_early", "length_long"])
def test_body_cut_short_dicomweb(server, mode):
    server.reset(mode)
    _raises(TransportError, lambda: _web(server).retrieve_instance(STUDY, SERIES, INSTANCE),
            server.url(f"dicom-web/{INSTANCE_PATH}"))
    assert _count(server) == RETRIES + 1


@pytest.mark.parametrize("mode", ["close_early", "length_long", "stall_body"])
def test_post_is_sent_once(server, ct_bytes, mode, tmp_path):
    path = tmp_path / "ct.dcm"
    path.write_bytes(ct_bytes)
    server.reset(mode)
    begin = time.monotonic()
    _raises(TransportError, lambda: _web(server, timeout=FAST).store([path]), server.url("dicom-web/studies"))
    assert time.monotonic() - begin < 5
    assert _count(server, "POST") == 1


def test_length_short_fsspec(server):
    server.reset("length_short")  # aiohttp's parser meets the bytes past the Content-Length: not retried
    err = _raises(TransportError, lambda: _source(server).read_at(100, 4096), server.url("ct.dcm"))
    assert "bytes 100-4195" in str(err)
    assert _count(server) == 1


def test_body_short_fsspec(server, ct_bytes):
    server.reset("body_short")  # a 206 whose body is half what its Content-Range says: not retried
    err = _raises(TransportError, lambda: _source(server).read_at(100, 4096), server.url("ct.dcm"))
    assert "bytes 100-4195" in str(err) and "but 2048 bytes came back" in str(err)
    assert _count(server) == 1
    server.reset("body_short")  # a whole read ("bytes=0-") of half the object
    err = _raises(TransportError, _source(server).read_all, server.url("ct.dcm"))
    assert f"bytes 0-: Content-Range 'bytes 0-{len(ct_bytes) - 1}/{len(ct_bytes)}'" in str(err)
    assert f"but {len(ct_bytes) // 2} bytes came back" in str(err)
    assert _count(server) == 1


def test_length_short_dicomweb(server):
    server.reset("length_short")  # the multipart body ends inside its part
    err = _raises(MultipartError, lambda: _web(server).retrieve_instance(STUDY, SERIES, INSTANCE),
                  server.url(f"dicom-web/{INSTANCE_PATH}"))
    assert "truncated" in str(err)
    assert _count(server) == 1


# -- wrong ranges ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, says", [("range_wrong", "Content-Range 'bytes 116-4211/"),
                                        ("range_short", "Content-Range 'bytes 100-2147/"),
                                        ("range_long", "but 4196 bytes came back")])
def test_wrong_range(server, mode, says):
    server.reset(mode)
    err = _raises(TransportError, lambda: _source(server).read_at(100, 4096), server.url("ct.dcm"))
    assert "bytes 100-4195" in str(err) and says in str(err)
    assert _count(server) == 1
    server.reset(mode)  # several ranges at once (cat_ranges), each answer checked
    err = _raises(TransportError, lambda: _source(server).read_ranges([Range(5000, 100), Range(9000, 200)]),
                  server.url("ct.dcm"))
    assert "bytes 5000-5099" in str(err) or "bytes 9000-9199" in str(err)
    assert _count(server) == 2


def test_wrong_range_through_dcmread(server):
    server.reset("range_wrong")
    _raises(TransportError, lambda: dicomfast.dcmread(server.url("ct.dcm"), stop_before_pixels=True),
            server.url("ct.dcm"))


def test_range_ignored(server, ct_bytes):
    src = _source(server)
    server.ignore_range = True  # a 200 with the whole object: sliced to the range
    assert src.read_at(100, 50) == ct_bytes[100:150]
    assert src.size == len(ct_bytes)
    server.reset("body_short")  # ... but a whole object shorter than the size known is an error
    server.ignore_range = True
    err = _raises(TransportError, lambda: src.read_at(200, 50), server.url("ct.dcm"))
    assert f"a whole object of {len(ct_bytes) // 2} bytes came back, of an object of {len(ct_bytes)}" in str(err)
    assert _count(server) == 1


def test_short_read_at_the_end_is_not_an_error(server, ct_bytes):
    src = _source(server)  # the object ends: fewer bytes than asked, as for a local file
    assert src.read_at(len(ct_bytes) - 10, 100) == ct_bytes[-10:]


# -- wrong content types -----------------------------------------------------------------------------

def test_html_fsspec(server):
    server.reset("html")
    err = _raises(TransportError, lambda: _source(server).read_at(0, 8192), server.url("ct.dcm"))
    assert "HTML" in str(err)
    assert _count(server) == 1
    server.reset("html")
    _raises(TransportError, lambda: dicomfast.dcmread(server.url("ct.dcm")), server.url("ct.dcm"))


def test_html_dicomweb(server):
    server.reset("html")
    err = _raises(TransportError, lambda: _web(server).search_studies(), server.url("dicom-web/studies"))
    assert "text/html" in str(err)
    err = _raises(MultipartError, lambda: _web(server).retrieve_instance(STUDY, SERIES, INSTANCE),
                  server.url(f"dicom-web/{INSTANCE_PATH}"))
    assert "text/html" in str(err)
    assert _count(server) == 2


# -- broken multipart bodies ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode, says", [("multipart_truncated", "truncated"),
                                        ("multipart_no_close", "truncated"),
                                        ("multipart_bad_boundary", "no boundary delimiter")])
def test_broken_multipart(server, mode, says):
    server.reset(mode)
    err = _raises(MultipartError, lambda: _web(server).retrieve_instance(STUDY, SERIES, INSTANCE),
                  server.url(f"dicom-web/{INSTANCE_PATH}"))
    assert says in str(err)
    assert _count(server) == 1


# -- failures, then success: retried for GET, up to the bound ------------------------------------------

@pytest.mark.parametrize("status", [502, 503, 504, 429])
def test_transient_status_then_success(server, ct_bytes, status):
    server.reset(fail_first=2, fail_status=status)
    assert _source(server).read_at(100, 4096) == ct_bytes[100:4196]
    assert _count(server) == 3
    server.reset(fail_first=2, fail_status=status)
    assert _web(server).retrieve_instance(STUDY, SERIES, INSTANCE).PatientID == pydicom.dcmread(
        __import__("io").BytesIO(ct_bytes)).PatientID
    assert _count(server) == 3


def test_retries_are_bounded(server):
    server.reset(fail_first=100, fail_status=503)
    err = _raises(TransportError, lambda: _source(server).read_at(100, 4096), server.url("ct.dcm"))
    assert "503" in str(err)
    assert _count(server) == RETRIES + 1
    server.reset(fail_first=100, fail_status=503)
    err = _raises(TransportError, lambda: _web(server).search_studies(), server.url("dicom-web/studies"))
    assert "503" in str(err) and f"after {RETRIES + 1} tries" in str(err)
    assert _count(server) == RETRIES + 1
    server.reset(fail_first=100, fail_status=503)
    _raises(TransportError, lambda: _web(server, retries=0).search_studies(), server.url("dicom-web/studies"))
    assert _count(server) == 1


def test_errors_that_are_not_transient_are_not_retried(server, tmp_path, ct_bytes):
    server.reset(fail_first=1, fail_status=500)
    _raises(TransportError, lambda: _source(server).read_at(100, 4096), server.url("ct.dcm"))
    assert _count(server) == 1
    server.reset(fail_first=1, fail_status=500)
    _raises(TransportError, lambda: _web(server).search_studies(), server.url("dicom-web/studies"))
    assert _count(server) == 1
    path = tmp_path / "ct.dcm"
    path.write_bytes(ct_bytes)
    server.reset(fail_first=1, fail_status=503)  # a POST answered 503 is not sent again
    _raises(TransportError, lambda: _web(server).store([path]), server.url("dicom-web/studies"))
    assert _count(server, "POST") == 1


def test_retry_after_is_honoured(server, ct_bytes):
    server.reset(fail_first=1, fail_status=429, retry_after="1")
    begin = time.monotonic()
    assert _source(server).read_at(0, 100) == ct_bytes[:100]
    assert time.monotonic() - begin >= 0.9
    assert _count(server) == 2
    server.reset(fail_first=1, fail_status=503, retry_after="1")
    begin = time.monotonic()
    assert _web(server).search_studies().num_rows == 1
    assert time.monotonic() - begin >= 0.9
    assert _count(server) == 2


def test_retry_after_is_capped(server, ct_bytes, monkeypatch):
    monkeypatch.setattr(sources, "RETRY_AFTER_MAX", 0.2)
    server.reset(fail_first=1, fail_status=503, retry_after="3600")
    begin = time.monotonic()
    assert _source(server).read_at(0, 100) == ct_bytes[:100]
    server.reset(fail_first=1, fail_status=429, retry_after="3600")
    assert _web(server).search_studies().num_rows == 1
    assert time.monotonic() - begin < 3
    assert _count(server) == 2


# -- stalls: timeouts, retried, bounded in time ------------------------------------------------------

@pytest.mark.parametrize("mode", ["stall", "stall_body"])
def test_stall_fsspec(server, mode):
    server.reset(mode)
    begin = time.monotonic()
    err = _raises(TransportError, lambda: _source(server, timeout=FAST, retries=1).read_at(100, 4096),
                  server.url("ct.dcm"))
    assert time.monotonic() - begin < 5
    assert "Timeout" in str(err) or "timeout" in str(err)
    assert _count(server) == 2


@pytest.mark.parametrize("mode", ["stall", "stall_body"])
def test_stall_dicomweb(server, mode):
    server.reset(mode)
    begin = time.monotonic()
    err = _raises(TransportError, lambda: _web(server, timeout=FAST, retries=1).search_studies(),
                  server.url("dicom-web/studies"))
    assert time.monotonic() - begin < 5
    assert "timed out" in str(err).lower() or "timeout" in str(err).lower()
    assert _count(server) == 2


def test_connection_refused():
    url = f"http://127.0.0.1:{free_port()}"
    begin = time.monotonic()
    _raises(TransportError, lambda: open_source(f"{url}/ct.dcm", retries=1).read_at(0, 10), url)
    _raises(TransportError, lambda: DICOMwebClient(f"{url}/dicom-web", retries=1).search_studies(), url)
    assert time.monotonic() - begin < 5


# -- the options ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("timeout", [None, 0, -1, float("inf"), (1, None), (1, 2, 3), "5", True])
def test_timeout_must_be_finite(timeout):
    with pytest.raises(ValueError, match="timeout"):
        open_source("http://127.0.0.1:1/x.dcm", timeout=timeout)
    with pytest.raises(ValueError, match="timeout"):
        DICOMwebClient("http://127.0.0.1:1/dicom-web", timeout=timeout)


@pytest.mark.parametrize("retries", [-1, 1.5, None, True])
def test_retries_must_be_a_count(retries):
    with pytest.raises(ValueError, match="retries"):
        open_source("http://127.0.0.1:1/x.dcm", retries=retries)


def test_defaults_are_finite():
    web = DICOMwebClient("http://127.0.0.1:1/dicom-web")
    assert web.timeout == sources.DEFAULT_TIMEOUT and web.retries == sources.DEFAULT_RETRIES
    adapter = web.session.get_adapter("http://127.0.0.1:1/dicom-web/studies")
    assert adapter.max_retries.total == sources.DEFAULT_RETRIES
    assert "POST" not in adapter.max_retries.allowed_methods
    src = open_source("http://127.0.0.1:1/x.dcm")
    timeout = src.fs.client_kwargs["timeout"]
    assert (timeout.sock_connect, timeout.sock_read) == sources.DEFAULT_TIMEOUT
    assert src.retries == sources.DEFAULT_RETRIES


def test_a_session_of_ones_own_keeps_its_adapters():
    import requests

    session = requests.Session()
    before = session.get_adapter("http://127.0.0.1:1/dicom-web/studies")
    DICOMwebClient("http://127.0.0.1:1/dicom-web", session=session)
    assert session.get_adapter("http://127.0.0.1:1/dicom-web/studies") is before
    DICOMwebClient("http://127.0.0.1:1/dicom-web", session=session, retries=1)
    assert session.get_adapter("http://127.0.0.1:1/dicom-web/studies").max_retries.total == 1


def test_storage_options_through_the_readers(server, ct_bytes, tmp_path):
    """``storage_options={"timeout": ..., "retries": ..., fsspec's options}`` is how every reader that
    takes URLs takes other settings (open_source's, through one helper)."""
    import numpy as np

    ref = pydicom.dcmread(__import__("io").BytesIO(ct_bytes))
    url = server.url("ct.dcm")
    options = {"timeout": FAST, "retries": 1}
    server.reset(fail_first=1, fail_status=503)  # retries=1: the second try is served
    assert dicomfast.dcmread(url, storage_options=options).PatientID == ref.PatientID
    assert _count(server) == 2
    calls = {
        "pixel_array": lambda **o: dicomfast.pixel_array(url, **o),
        "pixel_array frame": lambda **o: dicomfast.pixel_array(url, frame=0, **o),
        "iter_frames": lambda **o: next(dicomfast.iter_frames(url, **o)),
        "read_pixels": lambda **o: dicomfast.read_pixels(url, rescale=False, **o),
        "read_batch": lambda **o: dicomfast.read_batch([url], rescale=False, **o)[0],
        "load_series": lambda **o: dicomfast.load_series([url], rescale=False, **o).array[0],
        "read_frames": lambda **o: dicomfast.read_frames(dicomfast.index([url], frames=True, workers=1, **o), [0],
                                                         **o)[0],
    }
    for name, call in calls.items():
        server.reset(fail_first=1, fail_status=503)
        np.testing.assert_array_equal(call(storage_options=options), ref.pixel_array, err_msg=name)
        server.reset(fail_first=1, fail_status=503)
        with pytest.raises((TransportError, dicomfast.FileReadError), match="503"):
            call(storage_options={"retries": 0})
    server.reset(fail_first=1, fail_status=503)  # index: the listing's retries too
    assert dicomfast.index([url], workers=1, storage_options=options).column("error").to_pylist() == [None]
    server.reset(fail_first=1, fail_status=503)
    with pytest.raises(TransportError, match="listing failed"):
        dicomfast.index([url], workers=1, storage_options={"retries": 0})
    with pytest.raises(ValueError, match="URLs"):
        dicomfast.dcmread(tmp_path / "x.dcm", storage_options=options)  # a local path has no such options
    with pytest.raises(TypeError, match="dict"):
        dicomfast.dcmread(url, storage_options=[("retries", 1)])
    with pytest.raises(ValueError, match="timeout"):
        dicomfast.pixel_array(url, storage_options={"timeout": 0})


def test_opened_source_through_the_readers(server, ct_bytes):
    """An opened source (``open_source(url, timeout=..., retries=...)``) is read as its URL is."""
    import numpy as np

    ref = pydicom.dcmread(__import__("io").BytesIO(ct_bytes))
    src = _source(server, timeout=FAST, retries=0)
    assert dicomfast.dcmread(src, stop_before_pixels=True).PatientID == ref.PatientID
    np.testing.assert_array_equal(dicomfast.pixel_array(src), ref.pixel_array)
    np.testing.assert_array_equal(dicomfast.pixel_array(src, frame=0), ref.pixel_array)
    np.testing.assert_array_equal(dicomfast.read_pixels(src, rescale=False), ref.pixel_array)
    server.reset(fail_first=1, fail_status=503)  # retries=0: the first failure is the error
    _raises(TransportError, lambda: dicomfast.dcmread(_source(server, retries=0)), server.url("ct.dcm"))
    assert _count(server) == 1


# -- other fsspec backends: the same retry loop and checks, without HTTP headers ---------------------

class _Flaky:
    """An fsspec-like filesystem (as s3fs or gcsfs look to FsspecSource: no HTTP answers to see)
    whose first ``fail`` reads raise ``error``, and whose reads give ``extra`` bytes too many
    (``whole``: the whole object, as a server that ignored the range)."""

    def __init__(self, data, fail=0, error=ConnectionError("reset by peer"), extra=0, whole=False):
        self.data, self.fail, self.error, self.extra, self.whole = data, fail, error, extra, whole
        self.calls = 0

    def cat_file(self, path, start=None, end=None):
        self.calls += 1
        if self.calls <= self.fail:
            raise self.error
        if self.whole:
            return self.data
        return self.data[start:end] + b"x" * self.extra


def test_other_backends_retry_transient_errors(ct_bytes):
    fs = _Flaky(ct_bytes, fail=2)
    assert sources.FsspecSource(fs, "ct.dcm", "mem://ct.dcm", retries=2).read_at(10, 20) == ct_bytes[10:30]
    assert fs.calls == 3
    fs = _Flaky(ct_bytes, fail=5, error=TimeoutError("slow"))
    _raises(TransportError, lambda: sources.FsspecSource(fs, "ct.dcm", "mem://ct.dcm", retries=2).read_at(10, 20),
            "mem://ct.dcm")
    assert fs.calls == 3
    fs = _Flaky(ct_bytes, fail=5, error=PermissionError("denied"))  # not transient: one try
    _raises(TransportError, lambda: sources.FsspecSource(fs, "ct.dcm", "mem://ct.dcm", retries=2).read_at(10, 20),
            "mem://ct.dcm")
    assert fs.calls == 1


def test_other_backends_more_bytes_than_asked(ct_bytes):
    fs = _Flaky(ct_bytes, extra=5)
    err = _raises(TransportError, lambda: sources.FsspecSource(fs, "ct.dcm", "mem://ct.dcm").read_at(10, 20),
                  "mem://ct.dcm")
    assert "bytes 10-29: 25 bytes came back for 20" in str(err)
    fs = _Flaky(ct_bytes, whole=True)  # the whole object is sliced to the range
    assert sources.FsspecSource(fs, "ct.dcm", "mem://ct.dcm").read_at(10, 20) == ct_bytes[10:30]


def test_opened_source_pickles(server, ct_bytes):
    """The filesystem's options (the timeout, the answer tracing) pickle, so an opened source or its
    filesystem can go to worker processes, and its reads are checked there as here."""
    import pickle

    src = pickle.loads(pickle.dumps(_source(server, timeout=FAST)))
    assert src.fs.client_kwargs["timeout"].sock_read == FAST[1]
    server.reset("range_wrong")
    _raises(TransportError, lambda: src.read_at(100, 4096), server.url("ct.dcm"))


# -- S3: s3fs and botocore against moto's server behind a fault layer --------------------------------

BUCKET = "dicom-faults"


@pytest.fixture(scope="module")
def s3(ct_bytes):
    pytest.importorskip("s3fs", reason="s3:// needs s3fs")
    pytest.importorskip("moto", reason="the S3 tests run moto's server")
    with MotoS3Server() as server:
        if not server.fs.exists(BUCKET):  # (moto's backend lives as long as the process: other modules' too)
            server.fs.mkdir(BUCKET)
        server.fs.pipe(f"{BUCKET}/ct.dcm", ct_bytes)
        server.faults.prefix = f"/{BUCKET}/"  # object reads misbehave, the setup above did not
        yield server


@pytest.fixture
def s3_faults(s3):
    s3.faults.reset()
    s3.counter.reset()
    yield s3
    s3.faults.release()
    s3.faults.reset()


S3_URL = f"s3://{BUCKET}/ct.dcm"


def _s3_gets(s3):
    return sum(r.method == "GET" for r in s3.counter.requests)


def test_s3_missing_object_or_bucket(s3_faults):
    for url in (f"s3://{BUCKET}/missing.dcm", "s3://no-such-bucket/ct.dcm"):
        s3_faults.counter.reset()
        with pytest.raises(FileNotFoundError) as info:
            dicomfast.dcmread(url, storage_options={"retries": RETRIES})
        assert info.value.filename == url and url in str(info.value)
        assert _s3_gets(s3_faults) == 1  # not retried


def test_s3_slow_down_is_retried(s3_faults, ct_bytes):
    s3_faults.faults.reset("status", fail_first=2, fail_status=503)  # S3's SlowDown
    assert open_source(S3_URL, retries=RETRIES).read_at(100, 4096) == ct_bytes[100:4196]
    assert _s3_gets(s3_faults) == 3  # s3fs's and botocore's own retries are off: ours count every try


def test_s3_retries_reach_every_request(s3_faults):
    s3_faults.faults.reset("status", fail_first=-1, fail_status=503)
    begin = time.monotonic()
    err = _raises(TransportError, lambda: dicomfast.dcmread(S3_URL, storage_options={"retries": RETRIES}), S3_URL)
    assert "HTTP 503" in str(err) and f"{RETRIES + 1} tries" in str(err)
    assert _s3_gets(s3_faults) == RETRIES + 1
    s3_faults.counter.reset()
    _raises(TransportError, lambda: open_source(S3_URL, retries=0).read_at(0, 10), S3_URL)
    assert _s3_gets(s3_faults) == 1
    assert time.monotonic() - begin < 5


def test_s3_body_cut_short(s3_faults):
    s3_faults.faults.reset("close_early")
    err = _raises(TransportError, lambda: open_source(S3_URL, retries=RETRIES).read_at(100, 4096), S3_URL)
    assert "bytes 100-4195" in str(err)
    assert _s3_gets(s3_faults) == RETRIES + 1


@pytest.mark.parametrize("mode", ["stall", "stall_body"])
def test_s3_stall_is_a_timeout(s3_faults, mode):
    s3_faults.faults.reset(mode)
    begin = time.monotonic()
    err = _raises(TransportError, lambda: open_source(S3_URL, timeout=FAST, retries=1).read_at(100, 4096), S3_URL)
    assert time.monotonic() - begin < 5
    assert "2 tries" in str(err)


def test_s3_server_down(s3_faults):
    """Nothing listening at the endpoint (passed as fsspec's own option): a TransportError at once."""
    options = {"client_kwargs": {"endpoint_url": f"http://127.0.0.1:{free_port()}"}, "retries": 1, "timeout": FAST}
    begin = time.monotonic()
    err = _raises(TransportError, lambda: dicomfast.dcmread(S3_URL, storage_options=options), S3_URL)
    assert "EndpointConnectionError" in str(err) and "2 tries" in str(err)
    assert time.monotonic() - begin < 5


def test_s3_options_reach_botocore(s3_faults, ct_bytes):
    import pickle

    src = open_source(S3_URL, timeout=(1.5, 2.5), retries=4)
    assert src.read_at(0, 132)[128:] == b"DICM"
    config = src.fs.s3.meta.config  # the botocore client's
    assert (config.connect_timeout, config.read_timeout) == (1.5, 2.5)
    assert config.retries["total_max_attempts"] == 1
    assert src.fs.retries == 1 and src.retries == 4
    again = pickle.loads(pickle.dumps(src))
    assert again.fs.retries == 1 and again.retries == 4
    assert again.fs.config_kwargs["read_timeout"] == 2.5
