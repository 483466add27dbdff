"""The job runner of the commands that work on many files (``index``, ``tree``, ``convert``).

Discovery (:func:`discover`: the walk of :func:`dicomfast.collection.indexing.iter_files`), one
:class:`Item` in and one :class:`Outcome` out per file (or series), the :class:`Summary` printed at
the end and its exit code, the :class:`Progress` bar, the ``--error-log``, and
:func:`run_items`, which runs a function over the items through
:func:`dicomfast.collection.executor.map_chunks` (this process, a process pool, or a Dask
cluster), as :func:`dicomfast.index` does. :func:`run_index` is :func:`dicomfast.index` with the
same options, for the commands that work from an index table. See docs/cli.md.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections import Counter, defaultdict
from typing import Any, Callable, Iterable, NamedTuple, Sequence, TextIO

from ..collection.executor import default_workers, map_chunks
from .options import positive_int

__all__ = [
    "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_NOTHING", "EXIT_MISSING", "EXIT_INTERRUPTED",
    "MissingDependency", "Item", "Outcome", "discover", "failure", "Summary", "write_error_log", "Progress",
    "run_items", "add_running_options", "finish", "need_pyarrow", "run_index", "index_summary", "named_files",
    "DASK_CONNECT_TIMEOUT", "INDEX_EXTRA", "SUMMARY_EXAMPLES",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOTHING = 3
EXIT_MISSING = 4
EXIT_INTERRUPTED = 130

#: Installs what ``index``, ``tree`` and ``convert --to nifti`` use.
INDEX_EXTRA = "pip install 'dicomfast[index]'"
#: How many failed paths the summary shows per error type.
SUMMARY_EXAMPLES = 5
#: Seconds to wait for ``--dask ADDRESS`` to answer.
DASK_CONNECT_TIMEOUT = 10


class MissingDependency(Exception):
    """A needed optional package or resource is missing: exit code 4, with this message."""


# ---------------------------------------------------------------------------------------------
# files: discovery, per-file outcomes, the summary


class Item(NamedTuple):
    """One input file. ``root`` is the directory argument it was found under (output names are
    made relative to it), or None for a file named on the command line."""

    path: str
    root: str | None


class Outcome(NamedTuple):
    """What happened to one input file. ``status`` is "ok", "skipped" or "failed"; ``kind`` is the
    error type (failed) or the reason (skipped); ``outputs`` counts the files written; ``defects``
    holds the kind of each defect a tolerant read put up with (:mod:`dicomfast.defects`);
    ``detail`` is what a command wants back from its workers besides (an orderable record, e.g.
    deidentify's audit row), passed to ``run_items``' ``on_outcome``."""

    path: str
    status: str
    outputs: int = 0
    kind: str = ""
    message: str = ""
    defects: tuple[str, ...] = ()
    detail: Any = None


def discover(paths: Iterable[str], *, exclude: str | None = None) -> list[Item]:
    """The files named, and every regular file under the directories named, recursively.

    The walk is :func:`dicomfast.collection.indexing.iter_files` (sorted, depth first, symbolic
    links to directories not followed, absolute paths) with names starting with a dot
    (``.DS_Store``, ``.git``) left out and the directory ``exclude`` (the output directory, when it
    is inside an input) not entered. A path that does not exist is kept as an item, so that it
    fails and is reported like any other file.
    """
    from ..collection.indexing import iter_files

    items: list[Item] = []
    for arg in paths:
        if not os.path.isdir(arg):
            items.append(Item(arg, None))
            continue
        items.extend(Item(path, arg) for path in iter_files(arg, hidden=False, exclude=exclude))
    return items


def failure(item: Item, exc: BaseException) -> Outcome:
    """The outcome of ``item`` that raised ``exc``: failed with the exception's class name, except
    that NotDicomError for a file found in a directory walk is a skip (not DICOM)."""
    from ..errors import NotDicomError

    message = str(exc) or repr(exc)
    if message.startswith(f"{item.path}: "):  # the summary shows the path already
        message = message[len(item.path) + 2:]
    if isinstance(exc, NotDicomError) and item.root is not None:
        return Outcome(item.path, "skipped", kind="not DICOM", message=message)
    return Outcome(item.path, "failed", kind=type(exc).__name__, message=message)


class Summary:
    """Outcomes counted as they come in, and the report printed at the end. ``unit`` is what an
    outcome is about: a file, or (``convert --to nifti``) a series."""

    def __init__(self, verb: str, unit: str = "file", units: str = "files"):
        self.verb, self.unit, self.units = verb, unit, units
        self.counts: Counter[str] = Counter()
        self.outputs = 0
        self.skipped: Counter[str] = Counter()
        self.failed: dict[str, list[Outcome]] = defaultdict(list)
        self.with_defects = 0  # outcomes read with defects (ok, skipped or failed later)
        self.defects: Counter[str] = Counter()  # defects by kind
        self.started = time.perf_counter()

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.status] += 1
        if outcome.defects:
            self.with_defects += 1
            self.defects.update(outcome.defects)
        self.outputs += outcome.outputs
        if outcome.status == "skipped":
            self.skipped[outcome.kind] += 1
        elif outcome.status == "failed":
            self.failed[outcome.kind].append(outcome)

    @property
    def n_failed(self) -> int:
        return self.counts["failed"]

    def exit_code(self) -> int:
        if self.n_failed:
            return EXIT_FAILED
        if not self.counts["ok"]:
            return EXIT_NOTHING
        return EXIT_OK

    def report(self, outputs_label: str | None = "files written") -> str:
        total = sum(self.counts.values())
        seconds = time.perf_counter() - self.started
        rate = f" ({total / seconds:.0f} {self.units}/s)" if seconds > 0 and total > 1 else ""
        head = (f"{self.verb}: {total} {self.unit if total == 1 else self.units} in {seconds:.1f} s{rate}: "
                f"{self.counts['ok']} ok{f' ({self.outputs} {outputs_label})' if outputs_label else ''}, "
                f"{self.counts['skipped']} skipped, {self.n_failed} failed")
        lines = [head]
        if self.with_defects:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.defects.items(), key=lambda kv: (-kv[1], kv[0])))
            lines.append(f"read with defects (tolerated; --strict refuses them): "
                         f"{self.with_defects} {self.unit if self.with_defects == 1 else self.units} ({kinds})")
        if self.skipped:
            # most frequent first, ties by name: the same text whatever order the workers finished in
            by_count = sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append("skipped: " + ", ".join(f"{n} {why}" for why, n in by_count))
        if self.failed:
            lines.append("failed, by error:")
            for kind, outcomes in sorted(self.failed.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                lines.append(f"  {kind}: {len(outcomes)}")
                for o in sorted(outcomes)[:SUMMARY_EXAMPLES]:
                    lines.append(f"    {o.path}: {o.message}")
                if len(outcomes) > SUMMARY_EXAMPLES:
                    lines.append(f"    ... and {len(outcomes) - SUMMARY_EXAMPLES} more")
        return "\n".join(lines)


def write_error_log(path: str, *summaries: Summary) -> None:
    """Every failure of ``summaries``, one per line: path, error type and message, tab-separated.
    A field holding a tab, a newline or a quote (a file name may) is quoted, as csv readers expect."""
    import csv

    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(("path", "error", "message"))
        for summary in summaries:
            for kind, outcomes in sorted(summary.failed.items()):
                for o in sorted(outcomes):
                    writer.writerow((o.path, kind, o.message.replace("\t", " ").replace("\n", " ")))


def finish(args: argparse.Namespace, summary: Summary, outputs_label: str | None = "files written", *,
           earlier: Sequence[Summary] = ()) -> int:
    """The exit code of ``summary``; the error log (the failures of the ``earlier`` summaries of
    the run first) and the summary on stderr (with -q: only when not all went well)."""
    code = summary.exit_code()
    if getattr(args, "error_log", None):
        write_error_log(args.error_log, *earlier, summary)
    if not args.quiet or code != EXIT_OK:
        print(summary.report(outputs_label), file=sys.stderr)
    return code


# ---------------------------------------------------------------------------------------------
# progress


class Progress:
    """A progress bar on stderr: tqdm's if it is installed, else a status line at most once a
    second (rewritten in place on a terminal, one line each time in a log). ``enabled`` False makes
    every method a no-op."""

    def __init__(self, total: int, desc: str, enabled: bool, *, stream: TextIO | None = None,
                 interval: float = 1.0, use_tqdm: bool = True, unit: str = "file", units: str = "files"):
        self.total, self.desc, self.enabled = total, desc, enabled
        self.unit, self.units = unit, units
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = self.failed = 0
        self._bar = None
        self._started = self._last = time.monotonic()
        if enabled and use_tqdm:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self._bar = tqdm(total=total, desc=desc, unit=unit, file=self.stream, dynamic_ncols=True)

    def update(self, outcome: Outcome) -> None:
        if not self.enabled:
            return
        self.done += 1
        self.failed += outcome.status == "failed"
        if self._bar is not None:
            self._bar.update(1)
            if outcome.status == "failed":
                self._bar.set_postfix(failed=self.failed, refresh=False)
            return
        now = time.monotonic()
        if now - self._last >= self.interval or self.done == self.total:
            self._last = now
            self._line(now)

    def _line(self, now: float) -> None:
        rate = self.done / max(now - self._started, 1e-9)
        percent = 100.0 * self.done / self.total if self.total else 100.0
        line = (f"{self.desc}: {self.done}/{self.total} {self.units} ({percent:.0f}%), {self.failed} failed, "
                f"{rate:.1f} {self.units}/s")
        self.stream.write(f"\r{line}" if self._tty else f"{line}\n")
        self.stream.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
        elif self.done and self._tty:
            self.stream.write("\n")
            self.stream.flush()


def _progress_enabled(args: argparse.Namespace) -> bool:
    if args.quiet:
        return False
    if args.progress is not None:
        return args.progress
    return sys.stderr.isatty()


# ---------------------------------------------------------------------------------------------
# running a function over items: map_chunks (this process, a pool, or Dask)


def _run_chunk(func: Callable[[Any], Outcome], chunk: Sequence[Any]) -> list[Outcome]:
    return [func(item) for item in chunk]


def _crashed(chunk: Sequence[Any]) -> list[Outcome]:
    """map_chunks' ``on_crash``: an item that killed a worker process twice."""
    return [Outcome(getattr(item, "path", str(item)), "failed", kind="WorkerCrashed",
                    message="the worker process died reading this file") for item in chunk]


def _chunksize(args: argparse.Namespace, n_items: int) -> int:
    """``--chunksize``, else about eight chunks per worker, at most 64 items: small chunks balance
    the load of files that differ in size, and a crash retries only its own chunk's items."""
    if getattr(args, "chunksize", None):
        return args.chunksize
    workers = args.workers or default_workers()
    return max(1, min(64, n_items // (workers * 8)))


def run_items(func: Callable[[Any], Outcome], items: list[Any], args: argparse.Namespace,
              verb: str, *, summary: Summary | None = None, chunksize: int | None = None,
              on_outcome: Callable[[Outcome], None] | None = None) -> Summary:
    """``func(item)`` for every item through :func:`map_chunks`, on ``--workers`` processes or the
    ``--dask`` cluster; outcomes come back as chunks finish (each also to ``on_outcome``). ``func``
    must be picklable and never raise for a bad item. A worker that dies fails only the item that
    killed it (``WorkerCrashed``)."""
    summary = summary if summary is not None else Summary(verb)
    progress = Progress(len(items), verb, _progress_enabled(args), unit=summary.unit, units=summary.units)
    try:
        for outcomes in map_chunks(functools.partial(_run_chunk, func), items, workers=args.workers,
                                   scheduler=_scheduler(args), chunksize=chunksize or _chunksize(args, len(items)),
                                   ordered=False, on_crash=_crashed):
            for outcome in outcomes:
                summary.add(outcome)
                progress.update(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
    finally:
        progress.close()
    return summary


_REACHED: set[str] = set()


def _scheduler(args: argparse.Namespace) -> str | None:
    """``--dask ADDRESS``, after checking that dask.distributed imports and the scheduler answers."""
    address = getattr(args, "dask", None)
    if address and address not in _REACHED:
        try:
            from distributed import Client
        except ImportError:
            raise MissingDependency("--dask needs dask.distributed: pip install 'dicomfast[dask]'") from None
        try:  # a clear message now, not a traceback from inside the run
            with Client(address, timeout=DASK_CONNECT_TIMEOUT):
                pass
        except (OSError, ValueError) as exc:
            raise MissingDependency(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        _REACHED.add(address)
    return address


def add_running_options(parser: argparse.ArgumentParser, *, force: bool = True) -> None:
    """The options of every command that works on many files."""
    group = parser.add_argument_group("running")
    group.add_argument("-j", "--workers", type=positive_int, default=None, metavar="N",
                       help=f"worker processes (default: the CPUs available, here {default_workers()}; "
                            "1 runs in this process)")
    group.add_argument("-q", "--quiet", action="store_true",
                       help="no progress bar, and no summary unless something failed")
    group.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show a progress bar on stderr (default: when stderr is a terminal)")
    group.add_argument("--error-log", metavar="TSV",
                       help="also write every failure (path, error, message) to this file")
    group.add_argument("--dask", metavar="ADDRESS",
                       help="run on this Dask cluster (a scheduler address, e.g. tcp://host:8786) instead "
                            "of local processes; the paths must mean the same on its workers")
    group.add_argument("--chunksize", type=positive_int, default=None, metavar="N",
                       help="files per task (default: index 256; convert about 8 tasks per worker, at "
                            "most 64); on Dask use thousands")
    group.add_argument("--strict", action="store_true",
                       help="fail files with defects that a tolerant read records (a value cut short by the "
                            "end of the file, a wrong VR, ...; see dicomfast.defects) instead of reading them")
    if force:
        group.add_argument("--force", action="store_true",
                           help="read files without the DICM prefix too (non-DICOM files then fail instead "
                                "of being skipped)")


# ---------------------------------------------------------------------------------------------
# dicomfast.index with the same options: index, tree, convert --to nifti


def need_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise MissingDependency(f"this command needs pyarrow: {INDEX_EXTRA}") from None


def _walk(paths: Sequence[str], exclude: Sequence[str] = ()) -> Iterable[str]:
    """The files to index, lazily: :func:`~dicomfast.collection.indexing.iter_files` without hidden
    names, and without the command's own outputs (``exclude``: files or a directory)."""
    from ..collection.indexing import iter_files

    skip = {os.path.realpath(p) for p in exclude}
    skip_dirs = [p for p in exclude if os.path.isdir(p)]
    for path in iter_files(paths, hidden=False, exclude=skip_dirs[0] if skip_dirs else None):
        if not skip or os.path.realpath(path) not in skip:
            yield path


def run_index(args: argparse.Namespace, tags: Sequence[Any] = (), *, out: str | None = None,
              exclude: Sequence[str] = ()) -> Any:
    """:func:`dicomfast.index` of ``args.paths`` with the command's options: the table (or None
    with ``out``)."""
    import warnings

    from ..collection.indexing import DEFAULT_CHUNKSIZE, index

    def show(message: Any, *_: Any, **__: Any) -> None:  # one line, without the source line
        print(f"dicomfast {args.command}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        return index(_walk(args.paths, exclude), tags, workers=args.workers, scheduler=_scheduler(args),
                     previous=getattr(args, "previous", None), out=out,
                     progress="index" if _progress_enabled(args) else False,
                     chunksize=args.chunksize or DEFAULT_CHUNKSIZE, strict=args.strict)


def index_summary(table: Any, named: Iterable[str], verb: str = "index") -> Summary:
    """A :class:`Summary` of an index table (``path``, ``error_type``, ``error`` are enough;
    ``defects`` counted when it is there): a row without error is ok; ``NotDicomError`` for a file
    found in a directory walk is skipped (not DICOM), for a file in ``named`` (given on the command
    line) it is a failure, as for convert."""
    import pyarrow.compute as pc

    from ..collection.indexing import DEFECTS_COLUMN

    named = {os.path.abspath(p) for p in named}
    summary = Summary(verb)
    errors = table.filter(pc.is_valid(table["error_type"])).select(["path", "error_type", "error"])
    summary.counts["ok"] = table.num_rows - errors.num_rows
    if DEFECTS_COLUMN in table.column_names:  # an index written before the column was added has none
        kinds = table[DEFECTS_COLUMN]
        summary.with_defects = pc.sum(pc.greater(pc.list_value_length(kinds), 0)).as_py() or 0
        summary.defects.update({c["values"]: c["counts"] for c in pc.value_counts(pc.list_flatten(kinds)).to_pylist()})
    for row in errors.to_pylist():
        path, kind, message = row["path"], row["error_type"], row["error"] or ""
        if message.startswith(f"{path}: "):  # the summary shows the path already
            message = message[len(path) + 2:]
        if kind == "NotDicomError" and path not in named:
            summary.add(Outcome(path, "skipped", kind="not DICOM", message=message))
        else:
            summary.add(Outcome(path, "failed", kind=kind, message=message))
    return summary


def named_files(paths: Sequence[str]) -> list[str]:
    """The arguments that name files, not directories."""
    return [p for p in paths if not os.path.isdir(p)]
