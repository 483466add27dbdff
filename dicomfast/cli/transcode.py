"""``dicomfast transcode PATH... --to SYNTAX -o OUTDIR``: every DICOM file found, written in another
transfer syntax under OUTDIR (the same relative paths), each file a job of the runner (this process,
a process pool or Dask). Uncompressed targets re-encode the dataset (``dcmwrite(...,
transfer_syntax=)``); compressed targets encode the pixel data through the codec registry
(``Dataset.compress``), and compressed input is decoded first (``Dataset.decompress``). Elements
the conversion does not touch are copied as their bytes. See docs/writing.md and docs/cli.md."""
from __future__ import annotations

import argparse
import functools
import os
import sys
from typing import Any, NamedTuple

from .. import uid as _uid
from .runner import EXIT_NOTHING, Item, Outcome, add_running_options, discover, failure, finish, run_items

__all__ = ["register", "run", "TARGETS", "TranscodeOptions", "transcode_file"]

#: ``--to`` names and their transfer syntaxes; the first four are uncompressed.
TARGETS = {
    "explicit": _uid.ExplicitVRLittleEndian,
    "implicit": _uid.ImplicitVRLittleEndian,
    "big": _uid.ExplicitVRBigEndian,
    "deflate": _uid.DeflatedExplicitVRLittleEndian,
    "rle": _uid.RLELossless,
    "jpegls": _uid.JPEGLSLossless,
    "jpegls-near": _uid.JPEGLSNearLossless,
    "j2k": _uid.JPEG2000Lossless,
    "j2k-lossy": _uid.JPEG2000,
    "htj2k": _uid.HTJ2KLossless,
    "htj2k-rpcl": _uid.HTJ2KLosslessRPCL,
    "jpeg": _uid.JPEGBaseline8Bit,
    "jpeg-lossless": _uid.JPEGLosslessSV1,
}
_UNCOMPRESSED = frozenset(TARGETS[name] for name in ("explicit", "implicit", "big", "deflate"))


def register(commands: Any) -> None:
    """Add the ``transcode`` subparser to ``commands`` (the parser's subparsers)."""
    p = commands.add_parser(
        "transcode", help="write DICOM files in another transfer syntax",
        description="Write every DICOM file found (directories are walked recursively) in another transfer "
                    "syntax, under OUTDIR with the same relative paths. Uncompressed targets re-encode the "
                    "dataset; compressed targets encode the pixel data (compressed input is decoded first). "
                    "The output is a conformant Part 10 file (preamble, complete meta group).")
    p.add_argument("paths", nargs="+", metavar="PATH", help="DICOM files or directories")
    p.add_argument("--to", required=True, choices=sorted(TARGETS), help="the target transfer syntax")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="where the outputs go")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: fail the file)")
    add_running_options(p)
    p.set_defaults(run=run)


class TranscodeOptions(NamedTuple):
    """What ``transcode`` does to each file (picklable: it travels to the workers)."""

    syntax: str
    out_dir: str
    overwrite: bool = False
    force: bool = False
    strict: bool = False


def transcode_file(options: TranscodeOptions, item: Item) -> Outcome:
    """Read, convert and write one file (in a worker); never raises: an error is its outcome."""
    from ..reader import dcmread
    from ..writer import dcmwrite

    try:
        ds = dcmread(item.path, force=options.force, strict=options.strict)
        has_pixels = 0x7FE00010 in ds
        if options.syntax in _UNCOMPRESSED:
            if has_pixels and ds[0x7FE00010].is_undefined_length:
                ds.decompress()
        elif has_pixels:
            ds.compress(options.syntax)
        else:
            return Outcome(item.path, "skipped", kind="no pixel data to compress")
        rel = os.path.relpath(item.path, item.root) if item.root is not None else os.path.basename(item.path)
        out = os.path.join(options.out_dir, rel)
        if not options.overwrite and os.path.exists(out):
            raise FileExistsError(f"{out} exists (pass --overwrite to replace it)")
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        dcmwrite(out, ds, transfer_syntax=options.syntax, enforce_file_format=True)
    except Exception as exc:  # reported per file, summarised at the end
        return failure(item, exc)
    return Outcome(item.path, "ok", outputs=1)


def run(args: argparse.Namespace) -> int:
    out_dir = os.path.abspath(args.output)
    items = discover(args.paths, exclude=out_dir)
    if not items:
        print(f"dicomfast transcode: no files found in {', '.join(args.paths)}", file=sys.stderr)
        return EXIT_NOTHING
    options = TranscodeOptions(TARGETS[args.to], out_dir, args.overwrite, args.force, args.strict)
    summary = run_items(functools.partial(transcode_file, options), items, args, "transcode")
    return finish(args, summary)
