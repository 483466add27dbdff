"""``dicomfast tree PATH... | --index OUT.parquet``: the patient -> study -> series hierarchy
(:func:`dicomfast.collection.hierarchy.format_tree`) of files indexed in memory, or of an index
written earlier; ``--durations`` adds each series' acquisition times."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .runner import EXIT_FAILED, EXIT_NOTHING, add_running_options, finish, index_summary, named_files, \
    need_pyarrow, run_index

__all__ = ["register", "run", "duration_lines"]


def register(commands: Any) -> None:
    """Add the ``tree`` subparser to ``commands`` (the parser's subparsers)."""
    p = commands.add_parser(
        "tree", help="the patients, studies and series of DICOM files, with counts",
        description="Index the files (or read an index written by 'dicomfast index') and print the "
                    "patient -> study -> series hierarchy, grouped by UID, never by folder.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="DICOM files or directories")
    p.add_argument("--index", metavar="PARQUET", help="read this index instead of the files")
    p.add_argument("--uids", action="store_true", help="show the Study and Series Instance UIDs")
    p.add_argument("--durations", action="store_true",
                   help="also list each series' start, end and duration, and the total per patient")
    add_running_options(p, force=False)
    p.set_defaults(run=run, check=check)


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if bool(args.index) == bool(args.paths):
        parser.error("give PATHs to index, or --index PARQUET (not both)")


def duration_lines(table: Any) -> list[str]:
    """One line per series: when it began and ended, and how long it took; then a total per patient."""
    from ..collection.hierarchy import series_table

    series = series_table(table).to_pylist()
    lines = ["", "acquisition times per series (start, end, duration):"]
    totals: dict = {}
    for one in series:
        end = f"{one['end']:%H:%M:%S}" if one["start"] is None or one["end"].date() == one["start"].date() \
            else f"{one['end']:%Y-%m-%d %H:%M:%S}"
        when = (f"{one['start']:%Y-%m-%d %H:%M:%S}  {end}  {_hms(one['duration_seconds'])}"
                if one["start"] is not None else "(no acquisition or content times)")
        number = f"#{one['series_number']}" if one["series_number"] is not None else "#?"
        lines.append(f"  {one['patient_id'] or '(no Patient ID)'}  {number} {one['modality'] or '??'}  "
                     f"{one['series_description'] or ''}  {when}".replace("    ", "  "))
        if one["duration_seconds"] is not None:
            n, seconds = totals.get(one["patient_id"], (0, 0.0))
            totals[one["patient_id"]] = (n + 1, seconds + one["duration_seconds"])
    lines.append("total scan time per patient:")
    for patient, (n, seconds) in sorted(totals.items(), key=lambda kv: str(kv[0])):
        lines.append(f"  {patient or '(no Patient ID)'}  {n} series  {_hms(seconds)}")
    return lines


def _hms(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def run(args: argparse.Namespace) -> int:
    need_pyarrow()
    started = time.perf_counter()
    from ..collection.hierarchy import format_tree

    if args.index:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(args.index)
        except (OSError, ValueError) as exc:  # missing, or not Parquet (ArrowInvalid is a ValueError)
            print(f"dicomfast tree: {args.index}: {exc}", file=sys.stderr)
            return EXIT_FAILED
        named: list[str] = []
    else:
        table = run_index(args)
        named = named_files(args.paths)
    summary = index_summary(table, named, "tree")
    summary.started = started
    if not table.num_rows:
        print("dicomfast tree: no files found", file=sys.stderr)
        return EXIT_NOTHING
    text = format_tree(table, uids=args.uids)
    if args.durations:
        text += "\n".join(duration_lines(table)) + "\n"
    sys.stdout.write(text)
    return finish(args, summary, None)
