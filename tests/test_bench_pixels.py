"""The pixel benchmark (benchmarks/bench_pixels.py) runs once, on 3 small files, so that it cannot go
stale. Only the shape of its result is checked: timings are printed, never asserted."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from package import skip_module_unless_checkout

skip_module_unless_checkout()  # it runs the checkout's benchmarks against the checkout's build

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import bench_pixels  # noqa: E402


def test_pixel_benchmark_runs(tmp_path, capsys):
    result = bench_pixels.run(n_files=3, repeat=1, quick=True, data_dir=tmp_path)
    assert not result["problems"]
    assert set(result["times"]) == {key for key, _ in bench_pixels.CASES}
    for stats in result["times"].values():
        assert 0 < stats["min_us"] <= stats["median_us"] <= stats["max_us"]
    assert {"speedup_vs_pydicom", "over_fromfile"} <= set(result["ratios"])
    assert "dicomfast" in bench_pixels.format_report(result)
    json.dumps(result)
    out = tmp_path / "r.json"
    assert bench_pixels.main(["-n", "2", "--quick", "--data-dir", str(tmp_path), "--json", str(out)]) == 0
    assert "pydicom" in capsys.readouterr().out
    assert json.loads(out.read_text())["times"]
