"""pytest-benchmark versions of bench_header's cases, on a small series:

    python -m pytest benchmarks/ --benchmark-only

One benchmarked call reads one file (the next of a 20-slice 512 x 512 series, round and round, so
the files come from the page cache) and gets the 10 attributes of ``bench_header.TAGS``. Groups
put dicomfast next to pydicom for each path and syntax. The full comparison, with ratios and other
readers, is ``python benchmarks/bench_header.py``; timings are printed, never asserted.
"""
from __future__ import annotations

import itertools
import os

import pytest

import bench_header
from make_ct_series import make_series

N_FILES = 20

pydicom = pytest.importorskip("pydicom")
dicomfast = pytest.importorskip("dicomfast")

READS = {
    **bench_header._floor_reads(),
    **bench_header._pydicom_like("pydicom", pydicom.dcmread),
    **bench_header._pydicom_like("dicomfast", dicomfast.dcmread),
}


@pytest.fixture(scope="module", params=bench_header.SYNTAXES)
def series(request):
    syntax = request.param
    out = bench_header.HERE / "data" / f"ct_{syntax}_{N_FILES}_512x512"
    paths = [os.fspath(p) for p in make_series(out, N_FILES, 512, 512, implicit=syntax == "implicit")]
    return syntax, paths


def _bench(benchmark, series, case, group):
    syntax, paths = series
    read = READS[case]
    for path in paths:  # warm
        read(path)
    cycle = itertools.cycle(paths)
    benchmark.group = f"{group} [{syntax}]"
    benchmark.extra_info.update(syntax=syntax, files=len(paths), case=case)
    values = benchmark(lambda: read(next(cycle)))
    assert values is not None


@pytest.mark.parametrize("case", ["dicomfast_header", "pydicom_header", "open_read_8k"])
def test_header(benchmark, series, case):
    _bench(benchmark, series, case, "stop_before_pixels + 10 tags")


@pytest.mark.parametrize("case", ["dicomfast_specific", "pydicom_specific", "open_read_8k"])
def test_specific_tags(benchmark, series, case):
    _bench(benchmark, series, case, "specific_tags=10 + 10 tags")


@pytest.mark.parametrize("case", ["dicomfast_full", "pydicom_full", "open_read_all"])
def test_full_read(benchmark, series, case):
    _bench(benchmark, series, case, "full read + 10 tags")
