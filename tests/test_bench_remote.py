"""The remote benchmark (benchmarks/bench_remote.py) runs once, on tiny data, so that it cannot go
stale: HTTP always, DICOMweb when Orthanc and dicomweb-client are here. Only the shape of its
result is checked, and that each tool's arrays equal pydicom's: the counts and times are printed,
never asserted."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from package import skip_module_unless_checkout

skip_module_unless_checkout()  # it runs the checkout's benchmarks against the checkout's build
pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import bench_remote  # noqa: E402
from remote_servers import orthanc_missing  # noqa: E402


def test_remote_benchmark_runs(tmp_path, capsys):
    result = bench_remote.run(quick=True, data_dir=tmp_path)
    assert set(result["problems"]) <= {"dicomweb", "s3"}, result["problems"]
    if orthanc_missing() is None:
        assert "dicomweb" not in result["problems"] or "not installed" in result["problems"]["dicomweb"]
    if bench_remote._s3_missing() is None:  # moto and s3fs here: the S3 cases must have run
        assert "s3" not in result["problems"], result["problems"]
    tools = {key.split("/")[1] for key in result["counts"]}
    assert {"dicomfast_http", "pydicom_http"} <= tools
    if "dicomweb" not in result["problems"]:
        assert {"dicomfast_web", "dicomfast_web_meta", "dicomfast_web_4", "dicomweb_client"} <= tools
    if "s3" not in result["problems"]:
        assert {"dicomfast_s3", "pydicom_s3"} <= tools
        assert result["counts"]["header/dicomfast_s3"]["requests"] == 1
    if "dicomweb" not in result["problems"]:  # the frames alone when the metadata is given
        assert result["counts"]["frame_rle/dicomfast_web_meta"]["requests"] == 1
        assert result["counts"]["frame_rle/dicomfast_web"]["requests"] == 2
    assert {key.split("/")[0] for key in result["counts"]} == {op for op, _ in bench_remote.OPERATIONS}
    assert set(result["times"]) == set(result["counts"])
    for key, c in result["counts"].items():
        assert c["requests"] >= 1 and c["bytes"] > 0, key
    # a header read over HTTP: the first block and nothing more
    assert result["counts"]["header/dicomfast_http"]["requests"] == 1
    report = bench_remote.format_report(result)
    assert "whole series" in report and "pydicom + fsspec HTTP" in report
    json.dumps(result)
    out = tmp_path / "r.json"
    argv = ["--quick", "--no-dicomweb", "--no-s3", "--data-dir", str(tmp_path), "--json", str(out)]
    assert bench_remote.main(argv) == 0
    assert "dicomfast, fsspec HTTP" in capsys.readouterr().out
    assert json.loads(out.read_text())["problems"] == {"dicomweb": "not asked for", "s3": "not asked for"}


def test_scattered_frames():
    ks = bench_remote.scattered(60)
    assert len(ks) == len(set(ks)) == 10 and ks != sorted(ks)
    assert all(0 < k < 60 for k in ks) and all(b - a > 1 for a, b in zip(sorted(ks), sorted(ks)[1:]))
