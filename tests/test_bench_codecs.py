"""The codecs benchmark (benchmarks/bench_codecs.py) runs once, quickly, so that it cannot go stale.
Only the shape of its result is checked: timings are printed, never asserted."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from package import skip_module_unless_checkout

skip_module_unless_checkout()  # it runs the checkout's benchmarks against the checkout's build
pytest.importorskip("imagecodecs")

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import bench_codecs  # noqa: E402


def test_codecs_benchmark_runs():
    result = bench_codecs.run(repeat=1, quick=True)
    files = result["files"]
    assert "gen:htj2k" in files
    for key, r in files.items():
        assert "dicomfast" in r["times"], (key, r["failed"])
        assert r["ratios"]["dicomfast"] == 1.0
        assert "floor" in r["times"], key
    assert "speedup_2t" in files["gen:htj2k"]["ratios"]
    print(bench_codecs.report(result))
