"""DICOMweb against a real Orthanc with its DICOMweb plugin (Debian packages orthanc and
orthanc-dicomweb; ci/setup.sh installs them): started on free ports with its own configuration in
a temporary directory, loaded through STOW-RS, stopped after. What comes back is compared with
pydicom reading the same files."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

requests = pytest.importorskip("requests", reason="the DICOMweb client needs requests (pip install dicomfast[remote])")
pydicom = pytest.importorskip("pydicom")

import dicomfast  # noqa: E402
from dicomfast.remote.dicomweb import DICOMwebClient, MultipartError, parse_multipart  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from remote_servers import free_port  # noqa: E402

ORTHANC = shutil.which("Orthanc")
PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
DATA = Path(pydicom.__file__).parent / "data" / "test_files"


def _corpus():
    from pydicom.data import get_testdata_file

    names = ["CT_small.dcm", "MR_small.dcm", "emri_small_RLE.dcm", "SC_rgb_2frame.dcm"]
    return [Path(get_testdata_file(n)) for n in names]


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    if ORTHANC is None:
        pytest.skip("no Orthanc binary (apt-get install orthanc orthanc-dicomweb; ci/setup.sh does)")
    if not os.path.exists(PLUGIN):
        pytest.skip(f"no Orthanc DICOMweb plugin at {PLUGIN} (apt-get install orthanc-dicomweb)")
    root = tmp_path_factory.mktemp("orthanc")
    http_port, dicom_port = free_port(), free_port()
    config = {
        "Name": "dicomfast-tests", "HttpPort": http_port, "DicomPort": dicom_port,
        "StorageDirectory": str(root / "db"), "IndexDirectory": str(root / "db"),
        "RemoteAccessAllowed": False, "AuthenticationEnabled": False, "HttpServerEnabled": True,
        "Plugins": [PLUGIN], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    (root / "orthanc.json").write_text(json.dumps(config))
    log = open(root / "orthanc.log", "wb")
    proc = subprocess.Popen([ORTHANC, str(root / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{http_port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                pytest.fail(f"Orthanc exited: {(root / 'orthanc.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{base}/dicom-web/studies", timeout=1).status_code in (200, 204):
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("Orthanc did not answer in 30 s")
        client = DICOMwebClient(f"{base}/dicom-web", timeout=30)
        files = _corpus()
        client.store(files[:3])  # files as they are
        client.store([dicomfast.dcmread(files[3])])  # a dataset, written with dcmwrite
        yield client, files
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


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
