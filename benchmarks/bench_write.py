"""Read, edit and write: dicomfast against pydicom and against a bare file copy (issue 10).

    python benchmarks/bench_write.py [-n 100] [--repeat 7] [--json out.json]

On the same 512 x 512 int16 CT series as bench_pixels.py (explicit VR little endian), per file,
each case writing its output over the same file in a scratch folder beside the data:

* ``copyfile``:      ``shutil.copyfile(path, out)``: the floor, the file's bytes copied
* ``pydicom``:       ``pydicom.dcmread(path)``, three attributes set, ``save_as(out)``
* ``dicomfast``:     ``dicomfast.dcmread(path)``, the same three attributes, ``save_as(out)``: the
  untouched elements are copied as byte runs, the three encoded
* ``dicomfast_mem``: the same into an ``io.BytesIO`` (no file system: the cost of the write itself)
* ``pydicom_implicit`` / ``dicomfast_implicit``: read and write in implicit VR little endian (a
  transcode of the whole dataset: every element's header re-encoded)

Timing as in bench_header.py: one untimed pass per case, then ``repeat`` passes taking turns, the
median of the per-file times. Numbers are printed, never asserted: tests/test_bench_write.py runs
:func:`run` once on a few small files so that this script cannot go stale.
"""
from __future__ import annotations

import io
import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
if str(HERE.parent) not in sys.path:  # run from a source checkout: the package next to benchmarks/
    sys.path.append(str(HERE.parent))

import per_file  # noqa: E402
from make_ct_series import make_series  # noqa: E402

CASES = (
    ("copyfile", "shutil.copyfile(path, out)    [floor]"),
    ("pydicom", "pydicom   read + 3 edits + save_as"),
    ("dicomfast", "dicomfast read + 3 edits + save_as"),
    ("dicomfast_mem", "dicomfast ... into BytesIO"),
    ("pydicom_implicit", "pydicom   read + save as implicit VR"),
    ("dicomfast_implicit", "dicomfast read + save as implicit VR"),
)
RATIOS = (
    ("speedup_vs_pydicom", "pydicom", "dicomfast", 10.0),
    ("over_copyfile", "dicomfast", "copyfile", None),
    ("copyfile_x1.5_over_dicomfast", "copyfile", "dicomfast", 1 / 1.5),  # >= 0.67: within 1.5x of a copy
    ("transcode_speedup_vs_pydicom", "pydicom_implicit", "dicomfast_implicit", None),
)
DEFAULT_REPEAT = 7
IMPLICIT = "1.2.840.10008.1.2"


def _edit(ds: Any) -> None:
    ds.PatientName = "Anonymous^Patient"
    ds.PatientID = "ANON-0001"
    ds.InstanceNumber = 7


def _cases(out: str) -> dict[str, Callable[[str], Any]]:
    import pydicom

    import dicomfast

    def copyfile(path):
        shutil.copyfile(path, out)

    def pd(path):
        ds = pydicom.dcmread(path)
        _edit(ds)
        ds.save_as(out)

    def df(path):
        ds = dicomfast.dcmread(path)
        _edit(ds)
        ds.save_as(out)

    def df_mem(path):
        ds = dicomfast.dcmread(path)
        _edit(ds)
        buffer = io.BytesIO()
        ds.save_as(buffer)
        return buffer.getvalue()

    def pd_implicit(path):
        ds = pydicom.dcmread(path)
        ds.file_meta.TransferSyntaxUID = IMPLICIT
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.save_as(out, implicit_vr=True, little_endian=True)

    def df_implicit(path):
        dicomfast.dcmwrite(out, dicomfast.dcmread(path), transfer_syntax=IMPLICIT)

    return {"copyfile": copyfile, "pydicom": pd, "dicomfast": df, "dicomfast_mem": df_mem,
            "pydicom_implicit": pd_implicit, "dicomfast_implicit": df_implicit}


def _same_as_pydicom(path: str, out: str, cases: dict) -> list[str]:
    """The cases whose output pydicom reads to other elements than pydicom's own edit gives."""
    import pydicom

    problems = []
    cases["pydicom"](path)
    expected = [(e.tag, e.value) for e in pydicom.dcmread(out) if e.tag.group != 2]
    for key in ("dicomfast",):
        cases[key](path)
        got = [(e.tag, e.value) for e in pydicom.dcmread(out) if e.tag.group != 2]
        if got != expected:
            problems.append(key)
    data = cases["dicomfast_mem"](path)
    if [(e.tag, e.value) for e in pydicom.dcmread(io.BytesIO(data)) if e.tag.group != 2] != expected:
        problems.append("dicomfast_mem")
    cases["pydicom_implicit"](path)
    expected = [(e.tag, e.value) for e in pydicom.dcmread(out) if e.tag.group != 2]
    cases["dicomfast_implicit"](path)
    if [(e.tag, e.value) for e in pydicom.dcmread(out) if e.tag.group != 2] != expected:
        problems.append("dicomfast_implicit")
    return problems


def run(n_files: int = 100, repeat: int | None = None, quick: bool = False, *,
        data_dir: str | Path | None = None) -> dict[str, Any]:
    """Time every case on an ``n_files``-slice series; return the results (``quick``: 64 x 64
    slices and one pass, a smoke run whose timings mean little)."""
    import numpy as np
    import pydicom

    import dicomfast

    repeat, size, base = per_file.settings(n_files, repeat, quick, data_dir, DEFAULT_REPEAT, HERE)
    series = base / f"ct_explicit_{n_files}_{size}x{size}"
    paths = [os.fspath(p) for p in make_series(series, n_files, size, size)]
    scratch = base / "write_scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    out = os.fspath(scratch / "out.dcm")
    cases = _cases(out)
    problems = {key: "pydicom reads its output differently" for key in _same_as_pydicom(paths[0], out, cases)}
    order = [key for key, _ in CASES if key not in problems]
    times = per_file.time_cases(cases, order, paths, repeat)
    return per_file.result(
        versions={"pydicom": pydicom.__version__, "dicomfast": dicomfast.__version__, "numpy": np.__version__},
        n_files=n_files, repeat=repeat, size=size, quick=quick, paths=paths, directory=series, problems=problems,
        times=times, ratio_spec=RATIOS, output=out)


def format_report(result: dict[str, Any]) -> str:
    return per_file.format_report("read -> edit -> write", result, CASES)


def main(argv: list[str] | None = None) -> int:
    return per_file.main(__doc__, run, format_report, argv)


if __name__ == "__main__":
    sys.exit(main())
