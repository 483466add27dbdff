"""The index benchmark (benchmarks/bench_index.py) runs once on 20 files, and its memory runs on a few
hundred, so that it cannot go stale. Only the shape of the result is checked: the figures are
printed by the benchmark, never asserted here."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("pydicom")

from package import skip_module_unless_checkout

skip_module_unless_checkout()  # it runs the checkout's benchmarks against the checkout's build

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import bench_index  # noqa: E402


def test_index_benchmark_runs(tmp_path):
    result = bench_index.run(n_files=20, repeat=1, workers=2, memory_sizes=(60, 150), data_dir=tmp_path)
    tp = result["throughput"]
    assert tp["files"] == 21  # the series and its manifest
    assert tp["same_table"], "pydicom's job must make dicomfast's table, or the comparison means nothing"
    for name in ("dicomfast", "pydicom"):
        assert tp[name]["median_files_per_s"] > 0 and len(tp[name]["samples_s"]) == 1
    assert tp["speedup"]["value"] > 0 and tp["speedup"]["target"] == 30
    runs = result["memory"]["runs"]
    assert [r["files"] for r in runs.values()] == [60, 150]
    for r in runs.values():
        assert r["rows_written"] == r["files"]
        assert r["peak_indexer_mb"] > 0
    report = bench_index.format_report(result)
    assert "ratio dicomfast / pydicom" in report and "peak memory" in report
    json.dumps(result)


def test_index_benchmark_command_line(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench_index.main(["-n", "5", "--repeat", "1", "--memory", "--data-dir", str(tmp_path),
                             "--json", str(out)]) == 0
    assert "files/s" in capsys.readouterr().out
    assert json.loads(out.read_text())["memory"]["runs"] == {}


def test_index_benchmark_costs_and_profile(tmp_path):
    result = bench_index.run(n_files=12, repeat=2, workers=2, memory_sizes=(), data_dir=tmp_path, profile=True)
    costs = result["costs"]
    assert list(costs["parts"]) == [key for key, _ in bench_index.COST_CASES]
    assert costs["reference"] == "header_read_values" and costs["target"] == 2
    for part in costs["parts"].values():
        assert part["us_per_file"] >= 0 and part["wall_us_per_file"] > 0
    assert sorted(costs["index"]) == ["1", "2"]
    for entry in costs["index"].values():
        assert entry["cpu_us_per_file"] > 0 and entry["over_read_values"] > 0
    assert costs["index"]["2"]["pool_start_cpu_ms"] > 0
    report = bench_index.format_report(result)
    assert "where the time goes" in report and "cProfile of index" in report
    json.dumps(result)
