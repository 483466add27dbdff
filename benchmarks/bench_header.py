"""Header reads, dicomfast against pydicom (and other readers where installed): issue 2's benchmark.

    python benchmarks/bench_header.py [-n 300] [--repeat 7] [--json out.json] [--profile]

On the same files, in one process, it times what an ML data loader or an indexing job pays per file:

* ``header``:   ``dcmread(path, stop_before_pixels=True)``, then the 10 attributes of ``TAGS``
* ``specific``: ``dcmread(path, specific_tags=TAGS)``, then the same 10
* ``full``:     ``dcmread(path)`` with no stop, then the same 10 (the pixels are not touched)
* the floor:    ``open(path, 'rb')`` + ``read(8192)`` + close (the header of these files is 6.9 KB),
  the same with ``os.open``/``os.read``/``os.close``, and ``open`` + ``read()`` of the whole file
  (the floor of a full read)

for pydicom and dicomfast, and for dicomsdl and fastdicom if they import (they are not dependencies
of the project; their rows are left out, with the reason, when they do not).

The series is a 300-slice 512 x 512 CT (``make_ct_series.make_series``, the header of a real GE CT
image: 262 top-level elements, 179 of them private) in explicit and in implicit VR little endian,
written once into ``benchmarks/data/`` (gitignored) and reused. The files are read warm, from the
page cache: every case makes one untimed pass over all files first. A timed pass is one loop over
all files, timed with ``time.perf_counter_ns``; its time divided by the number of files is one
sample of the per-file time. The cases take turns, pass by pass, so that a slow spell of the machine
falls on all of them alike. The figure is the median sample over ``repeat`` passes, with the 25th and
75th percentiles and the minimum to show the noise.

Numbers are printed (and written as JSON with ``--json``), never asserted: tests/test_benchmarks.py
runs :func:`run` once on 5 small files so that this script cannot go stale.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from make_ct_series import make_series  # noqa: E402

# What a loader reads per slice: identity, geometry, intensity scaling.
TAGS = (
    "PatientID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "InstanceNumber",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "RescaleSlope",
    "RescaleIntercept",
)
# The largest of them, (0028,1053) Rescale Slope: where a reader that takes "read up to this tag"
# (dicomsdl's ``load_until``) may stop for the specific-tags case.
_LAST_TAG = 0x00281053
_BEFORE_PIXELS = 0x7FE0000F  # dicomsdl: load up to and including this tag, that is up to Pixel Data

FLOOR_BYTES = 8192
SYNTAXES = ("explicit", "implicit")
DEFAULT_REPEAT = 7

# Rows of the table, in order: (key, label). Cases that need an optional reader are left out when it
# does not import.
CASES = (
    ("open_read_8k", "open()+read(8192)+close  [floor]"),
    ("os_read_8k", "os.open/os.read(8192)/os.close"),
    ("pydicom_header", "pydicom   stop_before_pixels + 10"),
    ("dicomfast_header", "dicomfast stop_before_pixels + 10"),
    ("dicomsdl_header", "dicomsdl  load_until<pixels + 10"),
    ("fastdicom_header", "fastdicom stop_before_pixels + 10"),
    ("pydicom_specific", "pydicom   specific_tags=10 + 10"),
    ("dicomfast_specific", "dicomfast specific_tags=10 + 10"),
    ("dicomsdl_specific", "dicomsdl  load_until=(0028,1053) + 10"),
    ("open_read_all", "open()+read()+close  [full floor]"),
    ("pydicom_full", "pydicom   full read + 10"),
    ("dicomfast_full", "dicomfast full read + 10"),
    ("dicomsdl_full", "dicomsdl  full read + 10"),
    ("fastdicom_full", "fastdicom full read + 10"),
)

# (key, numerator case, denominator case, target, "min" if the ratio should be at least the target,
# "max" if at most). The targets are issue 2's; they are printed next to the ratio, not enforced.
RATIOS = (
    ("header_speedup", "pydicom_header", "dicomfast_header", 50.0, "min"),
    ("specific_speedup", "pydicom_specific", "dicomfast_specific", 80.0, "min"),
    ("header_over_floor", "dicomfast_header", "open_read_8k", 2.0, "max"),
    ("specific_over_floor", "dicomfast_specific", "open_read_8k", None, None),
    ("full_speedup", "pydicom_full", "dicomfast_full", None, None),
    ("full_over_floor", "dicomfast_full", "open_read_all", None, None),
    ("dicomsdl_header_over_dicomfast", "dicomsdl_header", "dicomfast_header", None, None),
    ("dicomsdl_specific_over_dicomfast", "dicomsdl_specific", "dicomfast_specific", None, None),
    ("fastdicom_header_over_dicomfast", "fastdicom_header", "dicomfast_header", None, None),
)


# --- the readers -------------------------------------------------------------------------------

def _floor_reads() -> dict[str, Callable[[str], Any]]:
    def open_read_8k(path):
        with open(path, "rb") as f:
            return f.read(FLOOR_BYTES)

    def os_read_8k(path, _open=os.open, _read=os.read, _close=os.close, _flags=os.O_RDONLY):
        fd = _open(path, _flags)
        try:
            return _read(fd, FLOOR_BYTES)
        finally:
            _close(fd)

    def open_read_all(path):
        with open(path, "rb") as f:
            return f.read()

    return {"open_read_8k": open_read_8k, "os_read_8k": os_read_8k, "open_read_all": open_read_all}


def _pydicom_like(prefix: str, dcmread: Callable) -> dict[str, Callable[[str], Any]]:
    """pydicom and dicomfast share the API: ``ds[keyword].value``."""
    tags = list(TAGS)

    def header(path):
        ds = dcmread(path, stop_before_pixels=True)
        return [ds[k].value for k in tags]

    def specific(path):
        ds = dcmread(path, specific_tags=tags)
        return [ds[k].value for k in tags]

    def full(path):
        ds = dcmread(path)
        return [ds[k].value for k in tags]

    return {f"{prefix}_header": header, f"{prefix}_specific": specific, f"{prefix}_full": full}


def _dicomsdl_reads(dicomsdl) -> dict[str, Callable[[str], Any]]:
    # dicomsdl.open_file(path, load_until): parse up to and including that tag; ds[keyword] is the value.
    open_file = dicomsdl.open_file

    def header(path):
        ds = open_file(path, _BEFORE_PIXELS)
        return [ds[k] for k in TAGS]

    def specific(path):
        ds = open_file(path, _LAST_TAG)
        return [ds[k] for k in TAGS]

    def full(path):
        ds = open_file(path)
        return [ds[k] for k in TAGS]

    return {"dicomsdl_header": header, "dicomsdl_specific": specific, "dicomsdl_full": full}


def _fastdicom_reads(fastdicom) -> dict[str, Callable[[str], Any]]:
    # fastdicom has no specific_tags; ds[keyword] is the value.
    dcmread = fastdicom.dcmread

    def header(path):
        ds = dcmread(path, stop_before_pixels=True)
        return [ds[k] for k in TAGS]

    def full(path):
        ds = dcmread(path)
        return [ds[k] for k in TAGS]

    return {"fastdicom_header": header, "fastdicom_full": full}


def _readers() -> tuple[dict[str, Callable[[str], Any]], dict[str, str], dict[str, str]]:
    """(case -> read function, reader -> version, optional reader -> why it is left out)."""
    import dicomfast
    import numpy
    import pydicom

    reads = _floor_reads()
    reads.update(_pydicom_like("pydicom", pydicom.dcmread))
    reads.update(_pydicom_like("dicomfast", dicomfast.dcmread))
    versions = {
        "dicomfast": getattr(dicomfast, "__version__", "?"),
        "pydicom": pydicom.__version__,
        "numpy": numpy.__version__,
    }
    unavailable = {}
    for name, make in (("dicomsdl", _dicomsdl_reads), ("fastdicom", _fastdicom_reads)):
        try:
            module = __import__(name)
        except Exception as exc:  # ImportError, or a broken binary wheel
            unavailable[name] = f"not importable ({type(exc).__name__}: {exc})"
            continue
        reads.update(make(module))
        versions[name] = _version_of(name, module)
    return reads, versions, unavailable


def _version_of(name: str, module: Any) -> str:
    version = getattr(module, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version(name)
        except Exception:
            version = "?"
    return str(version)


# --- checks and timing -------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """A value as plain Python (pydicom's MultiValue, IS, DSfloat...), to compare readers."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [_plain(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(float(value), 6)
    return str(value)


def _check(reads: dict[str, Callable[[str], Any]], path: str) -> dict[str, str]:
    """Case -> what is wrong, for every reader case whose 10 values differ from pydicom's (or that raises)."""
    expected = _plain(reads["pydicom_header"](path))
    problems = {}
    for case, read in reads.items():
        if case.startswith(("open_", "os_")):
            continue
        try:
            got = _plain(read(path))
        except Exception as exc:
            problems[case] = f"raised {type(exc).__name__}: {exc}"
            continue
        if got != expected:
            diff = [k for k, a, b in zip(TAGS, got, expected) if a != b]
            problems[case] = f"values differ from pydicom's: {', '.join(diff)}"
    return problems


def _time_pass(read: Callable[[str], Any], paths: list[str]) -> float:
    """Nanoseconds per file of one loop over all files."""
    clock = time.perf_counter_ns
    start = clock()
    for path in paths:
        read(path)
    return (clock() - start) / len(paths)


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _stats(samples_ns: list[float]) -> dict[str, Any]:
    s = sorted(samples_ns)
    return {
        "median_us": statistics.median(s) / 1e3,
        "p25_us": _quantile(s, 0.25) / 1e3,
        "p75_us": _quantile(s, 0.75) / 1e3,
        "min_us": s[0] / 1e3,
        "max_us": s[-1] / 1e3,
        "samples_us": [v / 1e3 for v in samples_ns],
    }


def _time_cases(reads: dict[str, Callable[[str], Any]], paths: list[str], repeat: int) -> dict[str, dict]:
    order = [key for key, _ in CASES if key in reads]
    for key in order:  # warm: the page cache, and each reader's own first-use costs
        _time_pass(reads[key], paths)
    samples: dict[str, list[float]] = {key: [] for key in order}
    for _ in range(repeat):
        for key in order:
            gc.collect()  # each pass starts from the same heap, not with the last one's garbage
            samples[key].append(_time_pass(reads[key], paths))
    return {key: _stats(samples[key]) for key in order}


def _ratios(times: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for key, num, den, target, sense in RATIOS:
        if num not in times or den not in times:
            continue
        value = times[num]["median_us"] / times[den]["median_us"]
        entry: dict[str, Any] = {"value": value, "numerator": num, "denominator": den}
        if target is not None:
            entry["target"] = target
            entry["sense"] = sense
            entry["met"] = value >= target if sense == "min" else value <= target
        out[key] = entry
    return out


# --- machine -----------------------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    import numpy

    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": numpy.__version__,
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    if hasattr(os, "getloadavg"):
        info["loadavg"] = [round(v, 2) for v in os.getloadavg()]
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# --- the run -----------------------------------------------------------------------------------

def run(
    n_files: int = 300,
    repeat: int | None = None,
    quick: bool = False,
    *,
    rows: int | None = None,
    cols: int | None = None,
    data_dir: str | Path | None = None,
    syntaxes: tuple[str, ...] = SYNTAXES,
) -> dict[str, Any]:
    """Time every case on an ``n_files``-slice series in each of ``syntaxes``; return the results.

    ``repeat`` is the number of timed passes per case (default 7; 1 with ``quick``). ``quick`` is a
    smoke run: 64 x 64 slices unless ``rows``/``cols`` say otherwise (its timings mean little).
    The series go to ``data_dir`` (default ``benchmarks/data/``) as ``ct_<syntax>_<n>_<rows>x<cols>``,
    the directory names the demo uses, and are reused when they are already there.

    The result: ``machine``, ``versions``, ``config``, ``unavailable`` (optional reader -> why it
    was left out), ``problems`` (case -> how its values differ from pydicom's, per syntax), and per
    syntax ``{"files": ..., "times": {case: {median_us, p25_us, p75_us, min_us, max_us,
    samples_us}}, "ratios": {name: {value, numerator, denominator[, target, sense, met]}}}``.
    """
    if repeat is None:
        repeat = 1 if quick else DEFAULT_REPEAT
    if repeat < 1 or n_files < 1:
        raise ValueError("n_files and repeat must be at least 1")
    size = 64 if quick else 512
    rows = rows or size
    cols = cols or size
    base = Path(data_dir) if data_dir is not None else HERE / "data"

    reads, versions, unavailable = _readers()
    result: dict[str, Any] = {
        "machine": machine_info(),
        "versions": versions,
        "config": {
            "n_files": n_files,
            "repeat": repeat,
            "rows": rows,
            "cols": cols,
            "quick": quick,
            "cache": "warm (one untimed pass per case before timing)",
            "clock": "time.perf_counter_ns",
            "tags": list(TAGS),
            "floor_bytes": FLOOR_BYTES,
        },
        "unavailable": unavailable,
        "problems": {},
    }
    for syntax in syntaxes:
        out = base / f"ct_{syntax}_{n_files}_{rows}x{cols}"
        paths = [os.fspath(p) for p in make_series(out, n_files, rows, cols, implicit=syntax == "implicit")]
        problems = _check(reads, paths[0])
        if problems:
            result["problems"][syntax] = problems
        times = _time_cases({k: v for k, v in reads.items() if k not in problems}, paths, repeat)
        result[syntax] = {
            "files": {
                "dir": os.fspath(out),
                "count": len(paths),
                "bytes_each": os.path.getsize(paths[0]),
            },
            "times": times,
            "ratios": _ratios(times),
        }
    return result


def format_report(result: dict[str, Any]) -> str:
    m, v, c = result["machine"], result["versions"], result["config"]
    lines = [
        f"machine: {m['cpu_model']}, {m['cpu_count']} CPUs ({m.get('cpus_usable', '?')} usable),"
        f" load {m.get('loadavg', '?')}, {m['platform']}",
        f"python {m['python']}, numpy {m['numpy']}, "
        + ", ".join(f"{k} {val}" for k, val in v.items() if k != "numpy"),
        f"{c['n_files']} files of {c['rows']}x{c['cols']} per syntax, {c['repeat']} timed passes per case,"
        f" {c['cache']}; per-file time = pass time / files ({c['clock']})",
    ]
    for name, why in result["unavailable"].items():
        lines.append(f"{name}: left out, {why}")
    labels = dict(CASES)
    for syntax in SYNTAXES:
        if syntax not in result:
            continue
        block = result[syntax]
        times = block["times"]
        floor = times["open_read_8k"]["median_us"]
        lines.append("")
        lines.append(f"{syntax} VR little endian: {block['files']['count']} files of"
                     f" {block['files']['bytes_each']:,} bytes, warm cache; microseconds per file")
        lines.append(f"  {'case':40} {'median':>9} {'p25':>9} {'p75':>9} {'min':>9} {'/floor':>7}")
        for key, _ in CASES:
            if key not in times:
                continue
            t = times[key]
            lines.append(f"  {labels[key]:40} {t['median_us']:9.1f} {t['p25_us']:9.1f} {t['p75_us']:9.1f}"
                         f" {t['min_us']:9.1f} {t['median_us'] / floor:6.1f}x")
        for case, problem in result["problems"].get(syntax, {}).items():
            lines.append(f"  {labels.get(case, case):40} left out: {problem}")
        lines.append("  ratios of medians:")
        for key, r in block["ratios"].items():
            target = ""
            if "target" in r:
                sign = ">=" if r["sense"] == "min" else "<="
                target = f"  (target {sign} {r['target']:g}x: {'met' if r['met'] else 'NOT met'})"
            lines.append(f"    {r['numerator']:>18} / {r['denominator']:<18} {r['value']:7.2f}x{target}")
    return "\n".join(lines)


def profile(n_files: int = 300, passes: int = 5, top: int = 25, syntax: str = "explicit",
            rows: int = 512, cols: int = 512, data_dir: str | Path | None = None) -> str:
    """cProfile of dicomfast's header path (``stop_before_pixels`` + 10 tags) over the series."""
    import cProfile
    import io
    import pstats

    import dicomfast

    base = Path(data_dir) if data_dir is not None else HERE / "data"
    out = base / f"ct_{syntax}_{n_files}_{rows}x{cols}"
    paths = [os.fspath(p) for p in make_series(out, n_files, rows, cols, implicit=syntax == "implicit")]
    read = _pydicom_like("dicomfast", dicomfast.dcmread)["dicomfast_header"]
    _time_pass(read, paths)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(passes):
        for path in paths:
            read(path)
    profiler.disable()
    buf = io.StringIO()
    stats = pstats.Stats(profiler, stream=buf)
    buf.write(f"cProfile, dicomfast header path, {passes} x {n_files} files ({syntax}), by own time:\n")
    stats.sort_stats("tottime").print_stats(top)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--n-files", type=int, default=300, help="slices per series (default 300)")
    parser.add_argument("--repeat", type=int, default=None, help=f"timed passes per case (default {DEFAULT_REPEAT})")
    parser.add_argument("--quick", action="store_true", help="smoke run: 64x64 slices, 1 pass")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--cols", type=int, default=None)
    parser.add_argument("--data-dir", type=Path, default=None, help="where the series go (default benchmarks/data)")
    parser.add_argument("--syntax", choices=SYNTAXES, action="append", help="only this syntax (repeatable)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--profile", action="store_true",
                        help="then print a cProfile of dicomfast's header path (explicit series)")
    args = parser.parse_args(argv)

    try:
        import dicomfast  # noqa: F401
    except ImportError as exc:
        print(f"dicomfast is not importable: {exc}\nSet it up with: bash ci/setup.sh", file=sys.stderr)
        return 1
    result = run(args.n_files, args.repeat, args.quick, rows=args.rows, cols=args.cols,
                 data_dir=args.data_dir, syntaxes=tuple(args.syntax or SYNTAXES))
    print(format_report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
        print(f"\nresults written to {args.json}")
    if args.profile:
        print()
        size = 64 if args.quick else 512
        print(profile(args.n_files, rows=args.rows or size, cols=args.cols or size, data_dir=args.data_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
