"""``dicomfast dump FILE...``: the elements of DICOM files in DCMTK's dcmdump layout
(:func:`dicomfast.dump.dump`), or the DICOM JSON model with ``--json``."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .options import parse_tag, positive_int
from .runner import EXIT_FAILED, EXIT_OK

__all__ = ["register", "run", "defect_lines"]


def register(commands: Any) -> None:
    """Add the ``dump`` subparser to ``commands`` (the parser's subparsers)."""
    p = commands.add_parser("dump", help="list the elements of DICOM files, as dcmdump does",
                            description="List the elements of DICOM files in the layout of DCMTK's dcmdump.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--no-pixels", action="store_true", help="stop reading at the pixel data (faster)")
    p.add_argument("--max-depth", type=int, default=None, metavar="N",
                   help="expand sequences only N levels deep (0: top-level elements only)")
    p.add_argument("--max-value", type=positive_int, default=64, metavar="CHARS",
                   help="cut values longer than this (default 64)")
    p.add_argument("-t", "--tag", dest="tags", action="append", type=parse_tag, metavar="TAG",
                   help="only this top-level element: a keyword or gggg,eeee (repeatable)")
    p.add_argument("--json", action="store_true", help="print the DICOM JSON model (PS3.18 F) instead")
    p.add_argument("--force", action="store_true", help="read files without the DICM prefix too")
    p.add_argument("--strict", action="store_true",
                   help="fail a file with a defect that a tolerant read records (see --defects) instead of reading it")
    p.add_argument("--defects", action="store_true",
                   help="after the listing, list the defects the read tolerated: kind, tag, byte offset, what was done")
    p.set_defaults(run=run, check=check)


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.max_depth is not None and args.max_depth < 0:
        parser.error("--max-depth must be 0 or more")
    if args.defects and args.json:
        parser.error("--defects is for the dcmdump listing, not --json")


def defect_lines(defects: Any) -> str:
    """The ``--defects`` section: a count, then one ``#``-comment line per defect."""
    if not defects:
        return "# no defects"
    lines = [f"# {len(defects)} defect{'s' if len(defects) > 1 else ''} tolerated (--strict refuses the file):"]
    lines += [f"#   {d}" for d in defects]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from .. import dcmread
    from ..dump import dump
    from ..errors import DicomError

    failed = 0
    for number, path in enumerate(args.files):
        if len(args.files) > 1:
            print(f"{'' if number == 0 else chr(10)}# dicomfast dump ({number + 1}/{len(args.files)}): {path}")
        try:
            ds = dcmread(path, stop_before_pixels=args.no_pixels, force=args.force,
                         specific_tags=args.tags or None, strict=args.strict)
        except (DicomError, OSError) as exc:
            failed += 1
            partial = getattr(exc, "partial", None)
            if partial is not None and not args.json:
                print(dump(partial, max_value=args.max_value, max_depth=args.max_depth))
            print(f"dicomfast dump: {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps(ds.to_json_dict(), indent=1))
        else:
            print(dump(ds, max_value=args.max_value, max_depth=args.max_depth))
            if args.defects:
                print(defect_lines(ds.defects))
    return EXIT_FAILED if failed else EXIT_OK
