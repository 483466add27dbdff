"""What the per-file benchmarks share (bench_pixels.py, bench_read_pixels.py): timing the cases in
turns, the ratio table with its targets, the report and the command line.

A benchmark defines ``CASES`` (``(key, label)`` pairs, in the order they are timed and printed),
``RATIOS`` (``(name, numerator, denominator, target or None)``: a ratio is the numerator's median
time over the denominator's) and a ``run()`` that builds the reads and calls :func:`time_cases`.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

from bench_header import _stats, _time_pass


def settings(n_files: int, repeat: int | None, quick: bool, data_dir: Any, default_repeat: int,
             here: Path) -> tuple[int, int, Path]:
    """``(repeat, size, data directory)`` of a run: one pass and 64 x 64 slices when ``quick``,
    512 x 512 otherwise; the data under ``benchmarks/data`` unless ``data_dir`` says where."""
    if repeat is None:
        repeat = 1 if quick else default_repeat
    if repeat < 1 or n_files < 1:
        raise ValueError("n_files and repeat must be at least 1")
    return repeat, 64 if quick else 512, Path(data_dir) if data_dir is not None else here / "data"


def result(*, versions: dict[str, str], n_files: int, repeat: int, size: int, quick: bool, paths: list[str],
           directory: Any, problems: dict[str, str], times: dict[str, dict], ratio_spec, **config: Any) -> dict:
    """The result record every per-file benchmark returns (and writes with ``--json``)."""
    from bench_header import machine_info

    return {
        "machine": machine_info(),
        "versions": versions,
        "config": {"n_files": n_files, "repeat": repeat, "rows": size, "cols": size, "quick": quick,
                   "cache": "warm (one untimed pass per case before timing)", **config},
        "files": {"dir": str(directory), "count": len(paths), "bytes_each": os.path.getsize(paths[0])},
        "problems": problems,
        "times": times,
        "ratios": ratios(times, ratio_spec),
    }


def time_cases(reads: dict[str, Callable[[str], Any]], order: list[str], paths: list[str],
               repeat: int) -> dict[str, dict]:
    """Median (and quartiles) per file of each case: one untimed pass each, then ``repeat`` passes
    with the cases taking turns, so that a change in the machine's load touches all of them."""
    for key in order:
        _time_pass(reads[key], paths)
    samples: dict[str, list[float]] = {key: [] for key in order}
    for _ in range(repeat):
        for key in order:
            gc.collect()
            samples[key].append(_time_pass(reads[key], paths))
    return {key: _stats(samples[key]) for key in order}


def ratios(times: dict[str, dict], spec) -> dict[str, dict]:
    """The ``RATIOS`` whose two cases were both timed, with ``met`` where a target is set."""
    found = {}
    for name, num, den, target in spec:
        if num in times and den in times:
            value = times[num]["median_us"] / times[den]["median_us"]
            entry: dict[str, Any] = {"value": value, "numerator": num, "denominator": den}
            if target is not None:
                entry["target"] = target
                entry["met"] = value >= target
            found[name] = entry
    return found


def format_report(title: str, result: dict[str, Any], cases) -> str:
    cfg = result["config"]
    lines = [f"{title}: {cfg['n_files']} x {cfg['rows']}x{cfg['cols']} int16 CT slices, "
             f"{result['files']['bytes_each']} bytes each, {cfg['repeat']} passes (median, p25-p75 per file)"]
    labels = dict(cases)
    width = max(len(label) for label in labels.values()) + 1
    for key, stats in result["times"].items():
        lines.append(f"  {labels[key]:<{width}} {stats['median_us']:9.1f} us  "
                     f"({stats['p25_us']:.1f}-{stats['p75_us']:.1f})")
    for key, why in result["problems"].items():
        lines.append(f"  {labels[key]:<{width}} left out: {why}")
    for name, r in result["ratios"].items():
        target = f"  (target >= {r['target']:g}: {'met' if r['met'] else 'NOT met'})" if "target" in r else ""
        lines.append(f"  {name:<{width}} {r['value']:9.2f}x{target}")
    return "\n".join(lines)


def main(doc: str, run: Callable[..., dict], report: Callable[[dict], str], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("-n", "--n-files", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="64 x 64 slices, one pass (a smoke run)")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    result = run(args.n_files, args.repeat, args.quick, data_dir=args.data_dir)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":  # pragma: no cover - a library for the benchmarks, not a benchmark
    sys.exit("run bench_pixels.py or bench_read_pixels.py")
