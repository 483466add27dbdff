"""De-identify: dicomfast against dicognito and against a bare file copy (issue 11).

    python benchmarks/bench_deid.py [-n 300] [--repeat 3] [--json out.json]

On the CT series of benchmarks/make_ct_series.py (512 x 512 int16, explicit VR little endian; a
real GE header with 179 private elements), per file, each case writing its output over the same
file in a scratch folder beside the data:

* ``copyfile``:   ``shutil.copyfile(path, out)``: the floor, the file's bytes copied
* ``dicognito``:  ``pydicom.dcmread(path)``, ``dicognito.anonymizer.Anonymizer().anonymize(ds)``,
  ``save_as(out)`` (only when dicognito is installed: it is in the test extra)
* ``dicomfast``:  ``dicomfast.dcmread(path)``, ``dicomfast.deidentify(ds, key=...)`` (Basic
  Profile), ``save_as(out)``
* ``dicomfast_dates``: the same with ``rtnLongModifDatesOpt`` (every date shifted)
* ``memcopy``:    the file's bytes (read before the timing) copied into an ``io.BytesIO``: the floor
  of the in-memory cases
* ``dicomfast_memory``: ``dicomfast.dcmread`` of the file's bytes (read before the timing),
  ``deidentify`` (Basic Profile), ``save_as`` into an ``io.BytesIO``: dicomfast's own cost per
  file, without the file system's (which ``copyfile`` shows)

Timing as in bench_write.py: one untimed pass per case, then ``repeat`` passes taking turns, the
median of the per-file times. Numbers are printed, never asserted: tests/test_deid.py runs
:func:`run` once on a few small files so that this script cannot go stale.
"""
from __future__ import annotations

import os
import shutil
import sys
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
    ("copyfile", "shutil.copyfile(path, out)       [floor]"),
    ("dicognito", "pydicom + dicognito + save_as"),
    ("dicomfast", "dicomfast deidentify (Basic) + save_as"),
    ("dicomfast_dates", "dicomfast ... + rtnLongModifDatesOpt"),
    ("memcopy", "bytes -> BytesIO                 [in-memory floor]"),
    ("dicomfast_memory", "dicomfast, bytes -> BytesIO (no file system)"),
)
RATIOS = (
    ("speedup_vs_dicognito", "dicognito", "dicomfast", 30.0),
    ("copyfile_x2_over_dicomfast", "copyfile", "dicomfast", 0.5),  # >= 0.5: within 2x of a copy
    ("file_system_share", "dicomfast", "dicomfast_memory", None),  # how much the files add to our own cost
)
DEFAULT_REPEAT = 3
KEY = b"benchmark-key-not-a-secret-0123456789"


def _cases(out: str, paths: list[str]) -> dict[str, Callable[[str], Any]]:
    import io

    import dicomfast

    contents = {}
    for path in paths:  # the in-memory cases' input, read once before any timing
        with open(path, "rb") as f:
            contents[path] = f.read()

    def copyfile(path):
        shutil.copyfile(path, out)

    def df(path):
        ds = dicomfast.dcmread(path)
        dicomfast.deidentify(ds, key=KEY)
        ds.save_as(out)

    def df_dates(path):
        ds = dicomfast.dcmread(path)
        dicomfast.deidentify(ds, key=KEY, options=("rtnLongModifDatesOpt",))
        ds.save_as(out)

    def memcopy(path):
        io.BytesIO().write(contents[path])

    def df_memory(path):
        ds = dicomfast.dcmread(io.BytesIO(contents[path]))
        dicomfast.deidentify(ds, key=KEY)
        ds.save_as(io.BytesIO())

    cases = {"copyfile": copyfile, "dicomfast": df, "dicomfast_dates": df_dates, "memcopy": memcopy,
             "dicomfast_memory": df_memory}
    try:
        import pydicom
        from dicognito.anonymizer import Anonymizer
    except ImportError:
        return cases
    anonymizer = Anonymizer()

    def dicognito(path):
        ds = pydicom.dcmread(path)
        anonymizer.anonymize(ds)
        ds.save_as(out)

    cases["dicognito"] = dicognito
    return cases


def run(n_files: int = 300, repeat: int | None = None, quick: bool = False, *,
        data_dir: str | Path | None = None) -> dict[str, Any]:
    """Time every case on an ``n_files``-slice series; return the results (``quick``: 64 x 64
    slices and one pass, a smoke run whose timings mean little)."""
    import dicomfast

    repeat, size, base = per_file.settings(n_files, repeat, quick, data_dir, DEFAULT_REPEAT, HERE)
    series = base / f"ct_explicit_{n_files}_{size}x{size}"
    paths = [os.fspath(p) for p in make_series(series, n_files, size, size)]
    scratch = base / "deid_scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    out = os.fspath(scratch / "out.dcm")
    cases = _cases(out, paths)
    order = [key for key, _ in CASES if key in cases]
    times = per_file.time_cases(cases, order, paths, repeat)
    versions = {"dicomfast": dicomfast.__version__}
    try:
        import importlib.metadata as metadata

        versions["dicognito"] = metadata.version("dicognito")
    except Exception:  # not installed
        pass
    return per_file.result(
        versions=versions, n_files=n_files, repeat=repeat, size=size, quick=quick, paths=paths, directory=series,
        problems={} if "dicognito" in cases else {"dicognito": "not installed"}, times=times, ratio_spec=RATIOS,
        output=out)


def format_report(result: dict[str, Any]) -> str:
    return per_file.format_report("read -> de-identify -> write", result, CASES)


def main(argv: list[str] | None = None) -> int:
    return per_file.main(__doc__, run, format_report, argv)


if __name__ == "__main__":
    sys.exit(main())
