"""``dicomfast index PATH... -o OUT.parquet``: :func:`dicomfast.index` on the command line, one
row per file streamed to Parquet, written under a temporary name and renamed at the end."""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from .options import parse_tag
from .runner import EXIT_NOTHING, add_running_options, finish, index_summary, named_files, need_pyarrow, run_index

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    """Add the ``index`` subparser to ``commands`` (the parser's subparsers)."""
    p = commands.add_parser(
        "index", help="index DICOM files into a Parquet table, one row per file",
        description="Read the header of every file found (directories are walked recursively) into a "
                    "Parquet table with one row per file, as dicomfast.index does: path, size, UIDs, "
                    "dates and times, the --tags asked for, and the error of files that cannot be read.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="DICOM files or directories")
    p.add_argument("-o", "--output", required=True, metavar="PARQUET", help="the Parquet file to write")
    p.add_argument("-t", "--tags", nargs="+", action="extend", type=parse_tag, metavar="TAG",
                   help="more columns: keywords or gggg,eeee tags")
    p.add_argument("--previous", metavar="PARQUET",
                   help="an earlier index (same --tags): files unchanged since are not read again "
                        "(may be the -o file itself)")
    add_running_options(p, force=False)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    need_pyarrow()
    import pyarrow.parquet as pq

    out = os.path.abspath(args.output)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    # written next to its destination and renamed at the end: an interrupted run leaves no
    # half-written file, and --previous may name the file being replaced
    tmp = os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.{os.getpid()}.tmp")
    started = time.perf_counter()
    try:
        run_index(args, args.tags or (), out=tmp, exclude=[out, tmp])
        table = pq.read_table(tmp, columns=["path", "error_type", "error", "defects"])
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    found = index_summary(table, named_files(args.paths))
    found.started = started
    if not table.num_rows:
        print(f"dicomfast index: no files found in {', '.join(args.paths)} (an empty table was written)",
              file=sys.stderr)
        return EXIT_NOTHING
    code = finish(args, found, None)
    if not args.quiet:
        print(f"wrote {table.num_rows} rows to {args.output}", file=sys.stderr)
    if code == EXIT_NOTHING:
        print("dicomfast index: no DICOM file found", file=sys.stderr)
    return code
