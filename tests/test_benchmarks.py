"""The header benchmark (benchmarks/bench_header.py) runs once, on 5 small files, so that it cannot
go stale. Only the shape of its result is checked: timings are printed by the benchmark, never
asserted here."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from package import skip_module_unless_checkout

skip_module_unless_checkout()  # it runs the checkout's benchmarks against the checkout's build

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import bench_header  # noqa: E402

# Always there; dicomsdl's and fastdicom's rows only where those import.
REQUIRED_CASES = {
    "open_read_8k", "os_read_8k", "open_read_all",
    "pydicom_header", "dicomfast_header",
    "pydicom_specific", "dicomfast_specific",
    "pydicom_full", "dicomfast_full",
}
STAT_KEYS = {"median_us", "p25_us", "p75_us", "min_us", "max_us", "samples_us"}


def test_header_benchmark_runs(tmp_path):
    result = bench_header.run(n_files=5, repeat=1, quick=True, data_dir=tmp_path)

    assert {"machine", "versions", "config", "unavailable", "problems", "explicit", "implicit"} <= set(result)
    assert result["config"]["n_files"] == 5
    assert result["config"]["rows"] == result["config"]["cols"] == 64
    assert result["machine"]["cpu_count"]
    for syntax, problems in result["problems"].items():  # pydicom's 10 values, or the case is left out
        assert not REQUIRED_CASES & set(problems), (syntax, problems)
    for syntax in ("explicit", "implicit"):
        block = result[syntax]
        assert block["files"]["count"] == 5
        times = block["times"]
        assert REQUIRED_CASES <= set(times)
        for optional in ("dicomsdl", "fastdicom"):
            shown = any(case.startswith(optional) for case in times)
            dropped = any(case.startswith(optional) for case in result["problems"].get(syntax, {}))
            assert shown or dropped or optional in result["unavailable"], optional
            assert not (shown and optional in result["unavailable"]), optional
        for case, stats in times.items():
            assert set(stats) == STAT_KEYS, case
            assert len(stats["samples_us"]) == 1
            assert 0 < stats["min_us"] <= stats["median_us"] <= stats["max_us"], case
        for name in ("header_speedup", "specific_speedup", "header_over_floor", "full_speedup"):
            ratio = block["ratios"][name]
            assert ratio["value"] > 0
        assert {"target", "met"} <= set(block["ratios"]["header_speedup"])

    report = bench_header.format_report(result)
    assert "explicit VR little endian" in report and "implicit VR little endian" in report
    json.dumps(result)  # what --json writes


def test_header_benchmark_command_line(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = bench_header.main(["-n", "2", "--quick", "--syntax", "implicit",
                              "--data-dir", str(tmp_path), "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "implicit VR little endian" in printed and "explicit VR little endian" not in printed
    written = json.loads(out.read_text())
    assert set(written["implicit"]["times"]) >= REQUIRED_CASES
