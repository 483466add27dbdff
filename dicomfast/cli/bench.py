"""``dicomfast bench``: the benchmarks of a source checkout (``benchmarks/bench_*.py``) and one table
of dicomfast's times against pydicom's, NumPy's and pylibjpeg-rle's.

The benchmarks are scripts outside the package: they put their own directory (and some the
checkout and its ``tests/``) on ``sys.path`` to import their helpers (``make_ct_series``,
``per_file``, ``bench_header``). So each one runs in a child process of its own, as it would from
the command line, and sends back its results and its report as JSON: this process's ``sys.path``
and ``sys.modules`` stay as they were, and the child imports the same ``dicomfast`` as this
process. See docs/cli.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

from .options import positive_int
from .runner import EXIT_FAILED, EXIT_OK, MissingDependency

__all__ = ["register", "run", "BENCHMARKS", "BenchmarkFailed", "find_benchmarks", "benchmark_arguments", "run_benchmark",
           "run_benchmarks", "run_in_this_process", "format_bench_table"]

#: The benchmarks that ``dicomfast bench`` runs, in order.
BENCHMARKS = ("header", "pixels", "transform", "rle")

#: The directory that holds the imported ``dicomfast`` package (dicomfast/cli/bench.py is two levels
#: below it): in a source checkout, the checkout's root.
_PACKAGE_PARENT = Path(__file__).resolve().parents[2]

#: What the child process runs: ``argv`` is the benchmarks directory, the benchmark's name, its
#: ``run()`` arguments as JSON and the file to write the results to.
_CHILD = "import sys; from dicomfast.cli.bench import run_in_this_process; run_in_this_process(*sys.argv[1:])"


class BenchmarkFailed(Exception):
    """A benchmark's process ended with an error (its traceback is on stderr)."""


def register(commands: Any) -> None:
    """Add the ``bench`` subparser to ``commands`` (the parser's subparsers)."""
    p = commands.add_parser(
        "bench", help="run the benchmarks and print the table (from a source checkout)",
        description="Run the benchmarks of a source checkout (benchmarks/bench_*.py) on a generated CT "
                    "series and print dicomfast's times against pydicom's. Needs pydicom.")
    p.add_argument("--only", action="append", choices=BENCHMARKS, help="only this benchmark (repeatable)")
    p.add_argument("-n", "--n-files", type=positive_int, default=50, help="slices in the series (default 50)")
    p.add_argument("--repeat", type=positive_int, default=5, help="timed passes per case (default 5)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 64 x 64 slices, one pass")
    p.add_argument("--full", action="store_true", help="also print each benchmark's own report")
    p.add_argument("--data-dir", help="keep the series here and reuse it (default: a temporary directory)")
    p.add_argument("--benchmarks", metavar="DIR", help="the benchmarks/ directory (default: the checkout's)")
    p.add_argument("--json", metavar="OUT", help="also write all results as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    p.set_defaults(run=run)


def find_benchmarks(directory: str | None = None) -> Path:
    """The ``benchmarks/`` directory of a source checkout: ``directory``, else
    ``$DICOMFAST_BENCHMARKS``, else the one next to the imported ``dicomfast`` package."""
    candidates = [directory] if directory else []
    if not directory:
        if os.environ.get("DICOMFAST_BENCHMARKS"):
            candidates.append(os.environ["DICOMFAST_BENCHMARKS"])
        candidates.append(os.fspath(_PACKAGE_PARENT / "benchmarks"))
    for candidate in candidates:
        if (Path(candidate) / "bench_header.py").is_file():
            return Path(candidate).resolve()
    raise MissingDependency(
        "dicomfast bench runs the benchmarks of a source checkout (benchmarks/ next to the dicomfast "
        f"package); none found at {', '.join(map(str, candidates))}: pass --benchmarks DIR"
    )


def benchmark_arguments(name: str, *, n_files: int, repeat: int, quick: bool, data_dir: str) -> dict[str, Any]:
    """The keyword arguments of ``bench_<name>.run()`` for the command's options."""
    if name in ("header", "pixels"):
        return dict(n_files=n_files, repeat=repeat, quick=quick, data_dir=data_dir)
    if name == "transform":
        return dict(size=64 if quick else 512, repeat=1 if quick else max(repeat, 11), number=1 if quick else 10)
    if name == "rle":
        return dict(repeat=1 if quick else repeat, quick=quick)
    raise ValueError(f"no benchmark {name!r}: one of {', '.join(BENCHMARKS)}")


def run_in_this_process(directory: str, name: str, arguments: str, out: str) -> None:
    """The child's side: import ``bench_<name>`` from ``directory`` (first on ``sys.path``, as when
    the script runs from the command line), call its ``run(**arguments)`` and write
    ``{"result": ..., "report": ...}`` as JSON to ``out``."""
    import importlib

    sys.path.insert(0, directory)
    module = importlib.import_module(f"bench_{name}")
    result = module.run(**json.loads(arguments))
    report = getattr(module, "format_report", None) or module.report
    Path(out).write_text(json.dumps({"result": result, "report": report(result)}, default=str))


def run_benchmark(directory: Path, name: str, arguments: dict[str, Any]) -> tuple[Any, str]:
    """Run ``bench_<name>.run(**arguments)`` in a child process: its result (as JSON gives it back)
    and its own report. What the child prints is passed on to ``sys.stdout`` and ``sys.stderr``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_PARENT), env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory(prefix="dicomfast-bench-result-") as tmp:
        out = os.path.join(tmp, "result.json")
        child = subprocess.run([sys.executable, "-c", _CHILD, str(directory), name, json.dumps(arguments), out],
                               env=env, capture_output=True, text=True)
        sys.stdout.write(child.stdout)
        sys.stderr.write(child.stderr)
        if child.returncode != 0:
            raise BenchmarkFailed(f"{directory / f'bench_{name}.py'} failed (exit code {child.returncode})")
        answer = json.loads(Path(out).read_text())
    return answer["result"], answer["report"]


def run_benchmarks(directory: Path, which: Sequence[str], *, n_files: int, repeat: int, quick: bool,
                   data_dir: str, log: Callable[[str], None] = lambda s: None) -> dict[str, tuple[Any, str]]:
    """Run the benchmarks' own ``run()`` functions, one child process each; benchmark name ->
    (its result, its report)."""
    results: dict[str, tuple[Any, str]] = {}
    for name in which:
        log(f"running bench_{name} ...")
        arguments = benchmark_arguments(name, n_files=n_files, repeat=repeat, quick=quick, data_dir=data_dir)
        results[name] = run_benchmark(directory, name, arguments)
    return results


def _bench_rows(results: dict[str, Any]) -> list[tuple[str, float, float | None, str]]:
    """(case, dicomfast us, other us, other's name) for the summary table."""
    rows: list[tuple[str, float, float | None, str]] = []

    def add(case: str, times: dict, ours: str, theirs: str, label: str, scale: float = 1.0) -> None:
        """``times`` holds {"median_us": ...} per case, or (bench_transform) seconds times ``scale``."""
        def micros(t: Any) -> float:
            return t["median_us"] if isinstance(t, dict) else t * scale

        mine, other = times.get(ours), times.get(theirs)
        if mine is not None:
            rows.append((case, micros(mine), micros(other) if other is not None else None, label))

    header = results.get("header")
    if header:
        for syntax in ("explicit", "implicit"):
            times = header.get(syntax, {}).get("times", {})
            for path, what in (("header", "stop_before_pixels + 10 tags"), ("specific", "specific_tags=10"),
                               ("full", "full read + 10 tags")):
                add(f"header/{syntax[:4]}: {what}", times, f"dicomfast_{path}", f"pydicom_{path}", "pydicom")
    pixels = results.get("pixels")
    if pixels:
        add("pixels: dcmread + pixel_array", pixels["times"], "dicomfast", "pydicom", "pydicom")
        add("pixels: ... + .copy()", pixels["times"], "dicomfast_copy", "pydicom", "pydicom")
    transform = results.get("transform")
    if transform:
        size = transform["config"]["size"]
        add(f"window {size}x{size} int16 -> uint8", transform["times"], "dicomfast_window_uint8",
            "numpy_best", "numpy", 1e6)
        add(f"window {size}x{size} int16 -> uint8", transform["times"], "dicomfast_window_uint8",
            "pydicom_modality_voi", "pydicom", 1e6)
    rle = results.get("rle")
    if rle:
        for frame, r in rle["frames"].items():
            if frame.startswith("ct_"):
                add(f"rle: {frame} frame", r["times"], "dicomfast_frame", "pydicom", "pydicom")
                add(f"rle: {frame} frame", r["times"], "dicomfast_frame", "pylibjpeg_rle", "pylibjpeg-rle")
    return rows


def format_bench_table(results: dict[str, Any]) -> str:
    """The summary table: median microseconds per operation, and how many times faster dicomfast is."""
    lines = [f"{'case':46} {'dicomfast':>11} {'other':>11}  {'other':<14} {'ratio':>7}"]
    for case, mine, other, label in _bench_rows(results):
        other_text = f"{other:11.1f}" if other is not None else f"{'-':>11}"
        ratio = f"{other / mine:6.1f}x" if other is not None and mine > 0 else f"{'-':>7}"
        lines.append(f"{case:46} {mine:11.1f} {other_text}  {label:<14} {ratio}")
    lines.append("(median microseconds per file or call; ratio = other / dicomfast, above 1: dicomfast is faster)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    directory = find_benchmarks(args.benchmarks)
    try:
        import pydicom  # noqa: F401
    except ImportError:
        raise MissingDependency("dicomfast bench compares with pydicom: pip install 'dicomfast[test]'") from None
    which = args.only or list(BENCHMARKS)
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory(prefix="dicomfast-bench-") as tmp:
        try:
            ran = run_benchmarks(directory, which, n_files=args.n_files, repeat=args.repeat, quick=args.quick,
                                 data_dir=args.data_dir or tmp, log=log)
        except BenchmarkFailed as exc:
            print(f"dicomfast bench: {exc}", file=sys.stderr)
            return EXIT_FAILED
    results = {name: result for name, (result, _) in ran.items()}
    if args.full:
        for name, (_, report) in ran.items():
            print(f"== bench_{name} ==")
            print(report)
            print()
    print(format_bench_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return EXIT_OK
