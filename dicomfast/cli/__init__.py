"""The ``dicomfast`` command: what a person types.

    dicomfast dump FILE...                      a dcmdump-style listing
    dicomfast index PATH... -o out.parquet      one row per file (dicomfast.index), as Parquet
    dicomfast tree PATH...                      patients, studies and series, with counts
    dicomfast convert PATH... --to npy|png|nifti -o OUTDIR
    dicomfast deidentify PATH... -o OUTDIR --key-file KEY [--option NAME ...]
    dicomfast bench                             the benchmark table (from a source checkout)
    dicomfast --version

``python -m dicomfast`` is the same command. :func:`main` takes the arguments as a list and returns
the exit code, so that it can be called (and tested) in-process. Exit codes:

====  ==========================================================================================
0     everything asked for was done (files skipped as not DICOM or without pixels do not count)
1     some files failed; the summary on stderr counts them by error type
2     usage error: bad arguments or options
3     nothing to do: no files found, or none of them DICOM (or none with pixel data to convert)
4     a needed optional package or resource is missing (the message says what to install)
130   interrupted (Ctrl-C)
====  ==========================================================================================

One module per subcommand (:mod:`.dump`, :mod:`.index`, :mod:`.tree`, :mod:`.convert`,
:mod:`.deidentify`, :mod:`.bench`), each with a ``register(commands)`` that adds its subparser and sets its ``run``
(and, where options depend on each other, its ``check``). The file-level machinery shared by the
commands that work on many files (discovery, a process pool or a Dask cluster, a progress bar,
errors collected per file and summarised at the end, the exit code) is :mod:`.runner`; argument
types that several parsers use are in :mod:`.options`. See docs/cli.md.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import bench, convert, deidentify, dump, index, transcode, tree
from .runner import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_MISSING, EXIT_NOTHING, EXIT_OK, EXIT_USAGE, MissingDependency

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_NOTHING", "EXIT_MISSING",
           "EXIT_INTERRUPTED"]

#: The subcommands, in the order ``--help`` lists them.
SUBCOMMANDS = (dump, index, tree, convert, transcode, deidentify, bench)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="dicomfast",
        description="Fast DICOM tools: dump headers, index archives, show their patients, studies and "
                    "series, convert pixel data, run the benchmarks.",
        epilog="Exit codes: 0 ok, 1 some files (or series) failed, 2 usage error, 3 nothing to do (no DICOM found), "
               "4 a needed optional package or resource is missing. See docs/cli.md.",
    )
    parser.add_argument("--version", action="version", version=f"dicomfast {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in SUBCOMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dicomfast`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        check = getattr(args, "check", None)
        if check is not None:
            check(parser, args)
    except SystemExit as exc:  # argparse: --help, --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.run(args)
    except MissingDependency as exc:
        print(f"dicomfast {args.command}: {exc}", file=sys.stderr)
        return EXIT_MISSING
    except KeyboardInterrupt:
        print(f"dicomfast {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
