"""The series benchmark (benchmarks/bench_series.py) runs once, on a tiny series, so that it cannot
go stale. Only the shape of its result is checked: timings are printed, never asserted."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from package import skip_module_unless_checkout

skip_module_unless_checkout()  # it runs the checkout's benchmarks against the checkout's build

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import bench_series  # noqa: E402


def test_series_benchmark_runs(tmp_path, capsys):
    result = bench_series.run(n_files=4, repeat=1, quick=True, workers=2, data_dir=tmp_path)
    assert not result["problems"]
    assert set(result["series_times"]) == {key for key, _ in bench_series.SERIES_CASES}
    assert set(result["batch_times"]) == {key for key, _ in bench_series.BATCH_CASES}
    for stats in (*result["series_times"].values(), *result["batch_times"].values()):
        assert 0 < stats["min_us"] <= stats["median_us"] <= stats["max_us"]
    assert set(result["ratios"]) == {name for name, _, _ in bench_series.RATIOS}
    assert "load_series" in bench_series.format_report(result)
    json.dumps(result)
    out = tmp_path / "r.json"
    assert bench_series.main(["-n", "3", "--quick", "--data-dir", str(tmp_path), "--json", str(out)]) == 0
    assert "read_batch" in capsys.readouterr().out
    assert json.loads(out.read_text())["series_times"]
