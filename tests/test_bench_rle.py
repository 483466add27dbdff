"""The RLE benchmark (benchmarks/bench_rle.py) runs once, quickly, so that it cannot go stale.
Only the shape of its result is checked: timings are printed, never asserted."""
from __future__ import annotations

import sys
from pathlib import Path

from package import skip_module_unless_checkout

skip_module_unless_checkout()  # it runs the checkout's benchmarks against the checkout's build

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import bench_rle  # noqa: E402


def test_rle_benchmark_runs():
    result = bench_rle.run(repeat=1, quick=True)
    frames = result["frames"]
    assert "ct_512x512_16bit" in frames
    for name, r in frames.items():
        assert {"dicomfast", "dicomfast_frame"} <= set(r["times"]), name
        assert r["ratios"]["dicomfast"] == 1.0
    print(bench_rle.report(result))
