"""The write benchmark (benchmarks/bench_write.py) runs once, on 3 small files, so that it cannot go
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

import bench_write  # noqa: E402


def test_write_benchmark_runs(tmp_path, capsys):
    result = bench_write.run(n_files=3, repeat=1, quick=True, data_dir=tmp_path)
    assert not result["problems"]  # every output read back by pydicom as pydicom's own
    assert set(result["times"]) == {key for key, _ in bench_write.CASES}
    for stats in result["times"].values():
        assert 0 < stats["min_us"] <= stats["median_us"] <= stats["max_us"]
    assert {"speedup_vs_pydicom", "over_copyfile"} <= set(result["ratios"])
    json.dumps(result)
    assert bench_write.main(["-n", "2", "--quick", "--data-dir", str(tmp_path)]) == 0
    assert "dicomfast" in capsys.readouterr().out
