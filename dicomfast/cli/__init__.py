"""The ``dicomfast`` command: what a person types.

    dicomfast dump FILE...                      a dcmdump-style listing
    dicomfast index PATH... -o out.parquet      one row per file (dicomfast.index), as Parquet
    dicomfast tree PATH...                      patients, studies and series, with counts
    dicomfast convert PATH... --to npy|png|nifti -o OUTDIR
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

The file-level machinery (recursive discovery, a process pool or a Dask cluster, a progress bar,
errors collected per file and summarised at the end) is shared by the commands that work on many
files: the walk is :func:`dicomfast.indexing.iter_files` and the executor
:func:`dicomfast._parallel.map_chunks`, as for :func:`dicomfast.index`. See docs/cli.md.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple, Sequence, TextIO

from ..collection.executor import default_workers, map_chunks

__all__ = ["main", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_NOTHING", "EXIT_MISSING", "EXIT_INTERRUPTED"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOTHING = 3
EXIT_MISSING = 4
EXIT_INTERRUPTED = 130

#: Installs what ``convert --to png`` and the progress bar use.
CLI_EXTRA = "pip install 'dicomfast[cli]'"
#: Installs what ``index``, ``tree`` and ``convert --to nifti`` use.
INDEX_EXTRA = "pip install 'dicomfast[index]'"
#: File name suffixes that are dropped from input names when output names are made from them.
_DICOM_SUFFIXES = (".dcm", ".dicom", ".dic", ".ima")
#: How many failed paths the summary shows per error type.
SUMMARY_EXAMPLES = 5


class _MissingDependency(Exception):
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
    error type (failed) or the reason (skipped); ``outputs`` counts the files written."""

    path: str
    status: str
    outputs: int = 0
    kind: str = ""
    message: str = ""


def discover(paths: Iterable[str], *, exclude: str | None = None) -> list[Item]:
    """The files named, and every regular file under the directories named, recursively.

    The walk is :func:`dicomfast.indexing.iter_files` (sorted, depth first, symbolic links to
    directories not followed, absolute paths) with names starting with a dot (``.DS_Store``,
    ``.git``) left out and the directory ``exclude`` (the output directory, when it is inside an
    input) not entered. A path that does not exist is kept as an item, so that it fails and is
    reported like any other file.
    """
    from ..collection.indexing import iter_files

    items: list[Item] = []
    for arg in paths:
        if not os.path.isdir(arg):
            items.append(Item(arg, None))
            continue
        items.extend(Item(path, arg) for path in iter_files(arg, hidden=False, exclude=exclude))
    return items


def _failure(item: Item, exc: BaseException) -> Outcome:
    """A DicomError is reported by its class; NotDicomError for a file found in a walk is a skip."""
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
        self.started = time.perf_counter()

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.status] += 1
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


def _write_error_log(path: str, summary: Summary) -> None:
    """Every failure, one per line: path, error type and message, tab-separated. A field holding
    a tab, a newline or a quote (a file name may) is quoted, as csv readers expect."""
    import csv

    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(("path", "error", "message"))
        for kind, outcomes in sorted(summary.failed.items()):
            for o in sorted(outcomes):
                writer.writerow((o.path, kind, o.message.replace("\t", " ").replace("\n", " ")))


# ---------------------------------------------------------------------------------------------
# running a function over files: dicomfast._parallel.map_chunks (this process, a pool, or Dask)


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


def _run_files(func: Callable[[Any], Outcome], items: list[Any], args: argparse.Namespace,
               verb: str, *, summary: Summary | None = None, chunksize: int | None = None) -> Summary:
    """``func(item)`` for every item through :func:`map_chunks`, on ``--workers`` processes or the
    ``--dask`` cluster; outcomes come back as chunks finish. A worker that dies fails only the item
    that killed it (``WorkerCrashed``)."""
    summary = summary if summary is not None else Summary(verb)
    progress = Progress(len(items), verb, _progress_enabled(args), unit=summary.unit, units=summary.units)
    try:
        for outcomes in map_chunks(functools.partial(_run_chunk, func), items, workers=args.workers,
                                   scheduler=_scheduler(args), chunksize=chunksize or _chunksize(args, len(items)),
                                   ordered=False, on_crash=_crashed):
            for outcome in outcomes:
                summary.add(outcome)
                progress.update(outcome)
    finally:
        progress.close()
    return summary


def _scheduler(args: argparse.Namespace) -> str | None:
    """``--dask ADDRESS``, after checking that dask.distributed imports."""
    address = getattr(args, "dask", None)
    if address and address not in _REACHED:
        try:
            from distributed import Client
        except ImportError:
            raise _MissingDependency("--dask needs dask.distributed: pip install 'dicomfast[dask]'") from None
        try:  # a clear message now, not a traceback from inside the run
            with Client(address, timeout=DASK_CONNECT_TIMEOUT):
                pass
        except (OSError, ValueError) as exc:
            raise _MissingDependency(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        _REACHED.add(address)
    return address


#: Seconds to wait for ``--dask ADDRESS`` to answer.
DASK_CONNECT_TIMEOUT = 10
_REACHED: set[str] = set()


# ---------------------------------------------------------------------------------------------
# dump


def _parse_tag(text: str) -> Any:
    """A keyword, or a tag as ``0010,0010``, ``(0010,0010)``, ``00100010`` or ``0x00100010``."""
    bare = text.strip().strip("()").replace(",", "").replace(" ", "")
    if bare.lower().startswith("0x"):
        bare = bare[2:]
    if re.fullmatch(r"[0-9A-Fa-f]{8}", bare):
        return int(bare, 16)
    from ..datadict import tag_for_keyword

    if tag_for_keyword(text.strip()) is None:
        raise argparse.ArgumentTypeError(f"not a tag or a DICOM keyword: {text!r}")
    return text.strip()


def _cmd_dump(args: argparse.Namespace) -> int:
    from .. import dcmread
    from ..dump import dump
    from ..errors import DicomError

    failed = 0
    for number, path in enumerate(args.files):
        if len(args.files) > 1:
            print(f"{'' if number == 0 else chr(10)}# dicomfast dump ({number + 1}/{len(args.files)}): {path}")
        try:
            ds = dcmread(path, stop_before_pixels=args.no_pixels, force=args.force,
                         specific_tags=args.tags or None)
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
    return EXIT_FAILED if failed else EXIT_OK


# ---------------------------------------------------------------------------------------------
# convert


class ConvertOptions(NamedTuple):
    """What ``convert`` does to each file (picklable: it travels to the worker processes)."""

    to: str
    out_dir: str
    name: str = "path"
    hu: bool = False
    window: tuple[float, float] | None = None
    dtype: str | None = None
    overwrite: bool = False
    force: bool = False


_UNSAFE = re.compile(r"[^0-9A-Za-z._-]")


def output_stem(item: Item, ds: Any, options: ConvertOptions) -> str:
    """The output path of ``item`` without its extension, relative to the output directory.

    ``--name path``: the input's path relative to the directory argument it was found under (a
    file named on the command line: its file name), with a ``.dcm``/``.dicom``/``.dic``/``.ima``
    suffix dropped; any other suffix is kept (``1.2.840.99`` -> ``1.2.840.99.npy``).
    ``--name uid``: the SOP Instance UID, in one flat directory.
    """
    if options.name == "uid":
        from ..errors import InvalidValueError

        uid = str(ds.get("SOPInstanceUID") or "").strip("\0 ")
        if not uid:
            raise InvalidValueError("no SOP Instance UID to name the output after (use --name path)")
        return _UNSAFE.sub("_", uid)
    rel = os.path.relpath(item.path, item.root) if item.root is not None else os.path.basename(item.path)
    if rel.lower().endswith(_DICOM_SUFFIXES):
        rel = rel[: rel.rfind(".")]
    return rel


def _save(path: str, write: Callable[[Any], None], overwrite: bool) -> None:
    """Write ``path`` through ``write(file)``: atomically replacing it with ``overwrite``, else
    refusing (FileExistsError) if it exists, which also catches two inputs with the same name."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if overwrite:
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as f:
                write(f)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return
    try:
        f = open(path, "xb")
    except FileExistsError:
        raise FileExistsError(f"{path} exists (pass --overwrite to replace it)") from None
    try:
        with f:
            write(f)
    except BaseException:
        os.unlink(path)
        raise


def convert_file(options: ConvertOptions, item: Item) -> Outcome:
    """Convert one file (run in a worker process); never raises for a bad file."""
    try:
        return _convert(options, item)
    except Exception as exc:  # reported per file (MemoryError too: a huge file), summarised at the end
        return _failure(item, exc)


def _convert(options: ConvertOptions, item: Item) -> Outcome:
    import numpy as np

    from .. import dcmread
    from ..pixels.native import pixel_array

    ds = dcmread(item.path, force=options.force)
    if not any(tag in ds for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009)):
        return Outcome(item.path, "skipped", kind="no pixel data")
    stem = os.path.join(options.out_dir, output_stem(item, ds, options))
    arr = pixel_array(ds)
    if options.to == "npy":
        if options.hu:
            from ..pixels.transforms import apply_modality_lut

            arr = apply_modality_lut(arr, ds)
        if options.dtype is not None:
            from ..pixels.frames import cast

            arr = cast(arr, options.dtype)  # rounded to nearest, and no silent wrap-around
        _save(stem + ".npy", lambda f: np.save(f, arr, allow_pickle=False), options.overwrite)
        return Outcome(item.path, "ok", outputs=1)

    from PIL import Image

    from ..pixels.render import display_frames

    frames = display_frames(ds, arr, window=options.window)
    n = frames.shape[0]
    width = max(4, len(str(n)))
    for k in range(n):
        image = Image.fromarray(np.ascontiguousarray(frames[k]))
        # DICOM numbers frames from 1
        path = f"{stem}.png" if n == 1 else f"{stem}_f{k + 1:0{width}d}.png"
        _save(path, functools.partial(image.save, format="PNG"), options.overwrite)
    return Outcome(item.path, "ok", outputs=n)


def _cmd_convert(args: argparse.Namespace) -> int:
    if args.to == "nifti":
        return _cmd_convert_nifti(args)
    if args.to == "png":
        try:
            import PIL.Image  # noqa: F401
        except ImportError:
            raise _MissingDependency(f"--to png needs Pillow: {CLI_EXTRA}") from None
    items = discover(args.paths, exclude=args.output)
    if not items:
        print(f"dicomfast convert: no files found in {', '.join(args.paths)}", file=sys.stderr)
        return EXIT_NOTHING
    options = ConvertOptions(
        to=args.to, out_dir=args.output, name=args.name, hu=args.hu,
        window=tuple(args.window) if args.window else None, dtype=args.dtype,
        overwrite=args.overwrite, force=args.force,
    )
    summary = _run_files(functools.partial(convert_file, options), items, args, "convert")
    code = summary.exit_code()
    if args.error_log:
        _write_error_log(args.error_log, summary)
    if not args.quiet or code != EXIT_OK:
        print(summary.report(), file=sys.stderr)
    if code == EXIT_NOTHING:
        print("dicomfast convert: nothing converted: no DICOM file with pixel data found", file=sys.stderr)
    return code


# ---------------------------------------------------------------------------------------------
# index, tree: dicomfast.index on the command line


def _need_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise _MissingDependency(f"this command needs pyarrow: {INDEX_EXTRA}") from None


def _walk_args(paths: Sequence[str], exclude: Sequence[str] = ()) -> Iterable[str]:
    """The files to index, lazily: :func:`~dicomfast.indexing.iter_files` without hidden names,
    and without the command's own outputs (``exclude``: files or a directory)."""
    from ..collection.indexing import iter_files

    skip = {os.path.realpath(p) for p in exclude}
    skip_dirs = [p for p in exclude if os.path.isdir(p)]
    for path in iter_files(paths, hidden=False, exclude=skip_dirs[0] if skip_dirs else None):
        if not skip or os.path.realpath(path) not in skip:
            yield path


def _index(args: argparse.Namespace, tags: Sequence[Any] = (), *, out: str | None = None,
           exclude: Sequence[str] = ()) -> Any:
    """``dicomfast.index`` with the command's options: the table (or None with ``out``)."""
    import warnings

    from ..collection.indexing import DEFAULT_CHUNKSIZE, index

    def show(message: Any, *_: Any, **__: Any) -> None:  # one line, without the source line
        print(f"dicomfast {args.command}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        return index(_walk_args(args.paths, exclude), tags, workers=args.workers, scheduler=_scheduler(args),
                     previous=getattr(args, "previous", None), out=out,
                     progress="index" if _progress_enabled(args) else False,
                     chunksize=args.chunksize or DEFAULT_CHUNKSIZE)


def index_summary(table: Any, named: Iterable[str], verb: str = "index") -> Summary:
    """A :class:`Summary` of an index table (``path``, ``error_type``, ``error`` are enough): a row
    without error is ok; ``NotDicomError`` for a file found in a directory walk is skipped (not
    DICOM), for a file in ``named`` (given on the command line) it is a failure, as for convert."""
    import pyarrow.compute as pc

    named = {os.path.abspath(p) for p in named}
    summary = Summary(verb)
    errors = table.filter(pc.is_valid(table["error_type"])).select(["path", "error_type", "error"])
    summary.counts["ok"] = table.num_rows - errors.num_rows
    for row in errors.to_pylist():
        path, kind, message = row["path"], row["error_type"], row["error"] or ""
        if message.startswith(f"{path}: "):  # the summary shows the path already
            message = message[len(path) + 2:]
        if kind == "NotDicomError" and path not in named:
            summary.add(Outcome(path, "skipped", kind="not DICOM", message=message))
        else:
            summary.add(Outcome(path, "failed", kind=kind, message=message))
    return summary


def _finish(args: argparse.Namespace, summary: Summary, outputs_label: str) -> int:
    """Exit code; the error log and the summary on stderr (with -q: only when not all went well)."""
    code = summary.exit_code()
    if getattr(args, "error_log", None):
        _write_error_log(args.error_log, summary)
    if not args.quiet or code != EXIT_OK:
        print(summary.report(outputs_label), file=sys.stderr)
    return code


def _named_files(paths: Sequence[str]) -> list[str]:
    return [p for p in paths if not os.path.isdir(p)]


def _cmd_index(args: argparse.Namespace) -> int:
    _need_pyarrow()
    import pyarrow.parquet as pq

    out = os.path.abspath(args.output)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    # written next to its destination and renamed at the end: an interrupted run leaves no
    # half-written file, and --previous may name the file being replaced
    tmp = os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.{os.getpid()}.tmp")
    started = time.perf_counter()
    try:
        _index(args, args.tags or (), out=tmp, exclude=[out, tmp])
        table = pq.read_table(tmp, columns=["path", "error_type", "error"])
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    found = index_summary(table, _named_files(args.paths))
    found.started = started
    if not table.num_rows:
        print(f"dicomfast index: no files found in {', '.join(args.paths)} (an empty table was written)",
              file=sys.stderr)
        return EXIT_NOTHING
    code = _finish(args, found, None)
    if not args.quiet:
        print(f"wrote {table.num_rows} rows to {args.output}", file=sys.stderr)
    if code == EXIT_NOTHING:
        print("dicomfast index: no DICOM file found", file=sys.stderr)
    return code


def _duration_lines(table: Any) -> list[str]:
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


def _cmd_tree(args: argparse.Namespace) -> int:
    _need_pyarrow()
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
        table = _index(args)
        named = _named_files(args.paths)
    summary = index_summary(table, named, "tree")
    summary.started = started
    if not table.num_rows:
        print("dicomfast tree: no files found", file=sys.stderr)
        return EXIT_NOTHING
    text = format_tree(table, uids=args.uids)
    if args.durations:
        text += "\n".join(_duration_lines(table)) + "\n"
    sys.stdout.write(text)
    return _finish(args, summary, None)


# ---------------------------------------------------------------------------------------------
# convert --to nifti: one file per series, found by UID (never by folder)


class SeriesJob(NamedTuple):
    """One series to convert (picklable): its UID, its files, and its output path."""

    path: str  # what the summary shows: the output name, relative to the output directory
    series_uid: str
    files: tuple[str, ...]
    out: str


def _name_part(value: Any, default: str, limit: int = 64) -> str:
    """A path component: ``0-9A-Za-z._-`` kept, runs of anything else as one ``_``."""
    text = re.sub(r"_+", "_", _UNSAFE.sub("_", str(value).strip())).strip("._") if value not in (None, "") else ""
    return text[:limit] or default


def series_output_names(series: list[dict], naming: str = "path") -> list[str]:
    """The output path (relative, without ``.nii.gz``) of each series row (``patient_id``,
    ``study_instance_uid``, ``series_instance_uid``, ``series_number``, ``series_description``,
    ``modality``).

    ``path`` (the default): ``PatientID/StudyInstanceUID/SeriesNumber_SeriesDescription``, sanitised
    (see :func:`_name_part`; no Patient ID: ``NO_PATIENT_ID``; no description: the modality); two
    series that would get the same name both get ``_SeriesInstanceUID`` appended. ``uid``: the Series
    Instance UID, in one flat directory.
    """
    if naming == "uid":
        return [_name_part(s["series_instance_uid"], "NO_SERIES_UID", 128) for s in series]
    names = []
    for s in series:
        number = s["series_number"] if s["series_number"] is not None else "NA"
        label = _name_part(s["series_description"] or s["modality"], "series")
        names.append(os.path.join(_name_part(s["patient_id"], "NO_PATIENT_ID"),
                                  _name_part(s["study_instance_uid"], "NO_STUDY_UID", 128), f"{number}_{label}"))
    counts = Counter(names)
    return [f"{name}_{_name_part(s['series_instance_uid'], 'x', 128)}" if counts[name] > 1 else name
            for name, s in zip(names, series)]


def convert_series(options: ConvertOptions, job: SeriesJob) -> Outcome:
    """Read one series with :func:`dicomfast.load_series` and write it as NIfTI (in a worker
    process); never raises for a bad series: a SeriesError (a gap, mixed sizes...) is its outcome."""
    try:
        from ..collection.series import load_series

        if not options.overwrite and os.path.exists(job.out):
            raise FileExistsError(f"{job.out} exists (pass --overwrite to replace it)")
        volume = load_series(list(job.files), series_uid=job.series_uid, dtype=options.dtype, workers=1)
        os.makedirs(os.path.dirname(job.out), exist_ok=True)
        # nibabel compresses by the name's suffix: the temporary file keeps it
        tmp = os.path.join(os.path.dirname(job.out), f".{os.getpid()}.{os.path.basename(job.out)}")
        try:
            volume.to_nifti(tmp)
            os.replace(tmp, job.out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except Exception as exc:  # reported per series, summarised at the end
        return Outcome(job.path, "failed", kind=type(exc).__name__, message=str(exc) or repr(exc))
    return Outcome(job.path, "ok", outputs=1)


def _cmd_convert_nifti(args: argparse.Namespace) -> int:
    _need_pyarrow()
    try:
        import nibabel  # noqa: F401
    except ImportError:
        raise _MissingDependency("--to nifti needs nibabel: pip install 'dicomfast[nifti]'") from None
    import pyarrow.compute as pc

    from ..collection.hierarchy import series_table

    # 1. the index: which files belong to which series, by UID (Rows: which files are images)
    started = time.perf_counter()
    table = _index(args, ["Rows"], exclude=[args.output])
    files = index_summary(table, _named_files(args.paths), "index")
    files.started = started
    if not args.quiet or files.n_failed:
        print(files.report(None), file=sys.stderr)
    images = table.filter(pc.and_kleene(pc.is_null(table["error"]), pc.is_valid(table["Rows"])))
    images = images.filter(pc.is_valid(images["series_instance_uid"]))
    if not images.num_rows:
        print("dicomfast convert: nothing converted: no DICOM image with a Series Instance UID found",
              file=sys.stderr)
        return EXIT_FAILED if files.n_failed else EXIT_NOTHING

    # 2. one job per series
    series = series_table(images).to_pylist()
    paths_of: dict[str, list[str]] = defaultdict(list)
    for path, uid in zip(images["path"].to_pylist(), images["series_instance_uid"].to_pylist()):
        paths_of[uid].append(path)
    names = series_output_names(series, args.name)
    jobs = [SeriesJob(name + ".nii.gz", s["series_instance_uid"], tuple(paths_of[s["series_instance_uid"]]),
                      os.path.join(args.output, name + ".nii.gz")) for s, name in zip(series, names)]
    options = ConvertOptions(to="nifti", out_dir=args.output, name=args.name, dtype=args.dtype,
                             overwrite=args.overwrite)
    summary = _run_files(functools.partial(convert_series, options), jobs, args, "convert",
                         summary=Summary("convert", "series", "series"), chunksize=1)
    code = summary.exit_code()
    if args.error_log:
        _write_error_log(args.error_log, files)
        with open(args.error_log, "a", encoding="utf-8") as f:
            for kind, outcomes in sorted(summary.failed.items()):
                for o in sorted(outcomes):
                    f.write(f"{o.path}\t{kind}\t{o.message.replace(chr(9), ' ').replace(chr(10), ' ')}\n")
    if not args.quiet or code != EXIT_OK:
        print(summary.report("files written"), file=sys.stderr)
    return EXIT_FAILED if files.n_failed and code == EXIT_OK else code


# ---------------------------------------------------------------------------------------------
# bench


#: The benchmarks that ``dicomfast bench`` runs, in order.
BENCHMARKS = ("header", "pixels", "transform", "rle")


def find_benchmarks(directory: str | None = None) -> Path:
    """The ``benchmarks/`` directory of a source checkout: ``directory``, else
    ``$DICOMFAST_BENCHMARKS``, else the one next to the imported ``dicomfast`` package."""
    candidates = [directory] if directory else []
    if not directory:
        if os.environ.get("DICOMFAST_BENCHMARKS"):
            candidates.append(os.environ["DICOMFAST_BENCHMARKS"])
        candidates.append(os.fspath(Path(__file__).resolve().parents[2] / "benchmarks"))
    for candidate in candidates:
        if (Path(candidate) / "bench_header.py").is_file():
            return Path(candidate).resolve()
    raise _MissingDependency(
        "dicomfast bench runs the benchmarks of a source checkout (benchmarks/ next to the dicomfast "
        f"package); none found at {', '.join(map(str, candidates))}: pass --benchmarks DIR"
    )


def _import_benchmark(directory: Path, name: str) -> Any:
    import importlib

    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    return importlib.import_module(f"bench_{name}")


def run_benchmarks(directory: Path, which: Sequence[str], *, n_files: int, repeat: int, quick: bool,
                   data_dir: str, log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Run the benchmarks' own ``run()`` functions; benchmark name -> its result."""
    results: dict[str, Any] = {}
    for name in which:
        log(f"running bench_{name} ...")
        module = _import_benchmark(directory, name)
        if name == "header":
            results[name] = module.run(n_files, repeat, quick, data_dir=data_dir)
        elif name == "pixels":
            results[name] = module.run(n_files, repeat, quick, data_dir=data_dir)
        elif name == "transform":
            results[name] = module.run(size=64 if quick else 512, repeat=1 if quick else max(repeat, 11),
                                       number=1 if quick else 10)
        elif name == "rle":
            results[name] = module.run(repeat=1 if quick else repeat, quick=quick)
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


def _cmd_bench(args: argparse.Namespace) -> int:
    import tempfile

    directory = find_benchmarks(args.benchmarks)
    try:
        import pydicom  # noqa: F401
    except ImportError:
        raise _MissingDependency("dicomfast bench compares with pydicom: pip install 'dicomfast[test]'") from None
    which = args.only or list(BENCHMARKS)
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory(prefix="dicomfast-bench-") as tmp:
        results = run_benchmarks(directory, which, n_files=args.n_files, repeat=args.repeat, quick=args.quick,
                                 data_dir=args.data_dir or tmp, log=log)
    if args.full:
        for name, result in results.items():
            module = _import_benchmark(directory, name)
            report = getattr(module, "format_report", None) or module.report
            print(f"== bench_{name} ==")
            print(report(result))
            print()
    print(format_bench_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# the parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _dtype(text: str) -> str:
    import numpy as np

    try:
        dt = np.dtype(text)
    except TypeError:
        raise argparse.ArgumentTypeError(f"not a NumPy dtype: {text!r}") from None
    if dt.kind not in "iuf":
        raise argparse.ArgumentTypeError(f"an integer or floating point dtype, not {text!r}")
    return dt.name


def _files_options(parser: argparse.ArgumentParser, *, force: bool = True) -> None:
    """The options of every command that works on many files."""
    group = parser.add_argument_group("running")
    group.add_argument("-j", "--workers", type=_positive_int, default=None, metavar="N",
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
    group.add_argument("--chunksize", type=_positive_int, default=None, metavar="N",
                       help="files per task (default: index 256; convert about 8 tasks per worker, at "
                            "most 64); on Dask use thousands")
    if force:
        group.add_argument("--force", action="store_true",
                           help="read files without the DICM prefix too (non-DICOM files then fail instead "
                                "of being skipped)")


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

    p = commands.add_parser("dump", help="list the elements of DICOM files, as dcmdump does",
                            description="List the elements of DICOM files in the layout of DCMTK's dcmdump.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--no-pixels", action="store_true", help="stop reading at the pixel data (faster)")
    p.add_argument("--max-depth", type=int, default=None, metavar="N",
                   help="expand sequences only N levels deep (0: top-level elements only)")
    p.add_argument("--max-value", type=_positive_int, default=64, metavar="CHARS",
                   help="cut values longer than this (default 64)")
    p.add_argument("-t", "--tag", dest="tags", action="append", type=_parse_tag, metavar="TAG",
                   help="only this top-level element: a keyword or gggg,eeee (repeatable)")
    p.add_argument("--json", action="store_true", help="print the DICOM JSON model (PS3.18 F) instead")
    p.add_argument("--force", action="store_true", help="read files without the DICM prefix too")
    p.set_defaults(run=_cmd_dump)

    p = commands.add_parser(
        "index", help="index DICOM files into a Parquet table, one row per file",
        description="Read the header of every file found (directories are walked recursively) into a "
                    "Parquet table with one row per file, as dicomfast.index does: path, size, UIDs, "
                    "dates and times, the --tags asked for, and the error of files that cannot be read.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="DICOM files or directories")
    p.add_argument("-o", "--output", required=True, metavar="PARQUET", help="the Parquet file to write")
    p.add_argument("-t", "--tags", nargs="+", action="extend", type=_parse_tag, metavar="TAG",
                   help="more columns: keywords or gggg,eeee tags")
    p.add_argument("--previous", metavar="PARQUET",
                   help="an earlier index (same --tags): files unchanged since are not read again "
                        "(may be the -o file itself)")
    _files_options(p, force=False)
    p.set_defaults(run=_cmd_index)

    p = commands.add_parser(
        "tree", help="the patients, studies and series of DICOM files, with counts",
        description="Index the files (or read an index written by 'dicomfast index') and print the "
                    "patient -> study -> series hierarchy, grouped by UID, never by folder.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="DICOM files or directories")
    p.add_argument("--index", metavar="PARQUET", help="read this index instead of the files")
    p.add_argument("--uids", action="store_true", help="show the Study and Series Instance UIDs")
    p.add_argument("--durations", action="store_true",
                   help="also list each series' start, end and duration, and the total per patient")
    _files_options(p, force=False)
    p.set_defaults(run=_cmd_tree)

    p = commands.add_parser(
        "convert", help="write the pixel data of DICOM files as .npy arrays, .png images or NIfTI series",
        description="Write the pixel data of every DICOM file found (directories are walked recursively) "
                    "as a NumPy .npy array or as 8-bit PNG images, one per frame; or (--to nifti) "
                    "each series found by its UID as one NIfTI volume.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="DICOM files or directories")
    p.add_argument("--to", required=True, choices=("npy", "png", "nifti"),
                   help="npy: the pixel array as pydicom gives it (all frames in one array); "
                        "png: windowed 8-bit images, one per frame; nifti: one .nii.gz per series "
                        "(dicomfast.load_series: sorted along the normal, rescaled)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="where the outputs go")
    p.add_argument("--name", choices=("path", "uid"), default="path",
                   help="output names: the input's path relative to its directory argument (default), "
                        "or the SOP Instance UID; nifti: PatientID/StudyInstanceUID/Number_Description "
                        "(default) or the Series Instance UID")
    p.add_argument("--hu", action="store_true",
                   help="npy: apply the modality LUT / rescale (Hounsfield units for CT), as float64")
    p.add_argument("--dtype", type=_dtype, default=None,
                   help="npy: cast the array to this dtype (rounded to nearest; the values must fit); "
                        "nifti: the volume's dtype (default float32)")
    p.add_argument("--window", nargs=2, type=float, metavar=("CENTER", "WIDTH"),
                   help="png: this window (in modality units, e.g. HU) instead of the file's")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: fail the file)")
    _files_options(p)
    p.set_defaults(run=_cmd_convert)

    p = commands.add_parser(
        "bench", help="run the benchmarks and print the table (from a source checkout)",
        description="Run the benchmarks of a source checkout (benchmarks/bench_*.py) on a generated CT "
                    "series and print dicomfast's times against pydicom's. Needs pydicom.")
    p.add_argument("--only", action="append", choices=BENCHMARKS, help="only this benchmark (repeatable)")
    p.add_argument("-n", "--n-files", type=_positive_int, default=50, help="slices in the series (default 50)")
    p.add_argument("--repeat", type=_positive_int, default=5, help="timed passes per case (default 5)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 64 x 64 slices, one pass")
    p.add_argument("--full", action="store_true", help="also print each benchmark's own report")
    p.add_argument("--data-dir", help="keep the series here and reuse it (default: a temporary directory)")
    p.add_argument("--benchmarks", metavar="DIR", help="the benchmarks/ directory (default: the checkout's)")
    p.add_argument("--json", metavar="OUT", help="also write all results as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    p.set_defaults(run=_cmd_bench)
    return parser


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if getattr(args, "window", None) and args.window[1] < 1:
        parser.error("--window: the width must be at least 1")
    if getattr(args, "max_depth", None) is not None and args.max_depth < 0:
        parser.error("--max-depth must be 0 or more")
    if args.command == "convert":
        if args.to == "png" and (args.hu or args.dtype):
            parser.error("--hu and --dtype are for --to npy")
        if args.to != "png" and args.window:
            parser.error("--window is for --to png")
        if args.to == "nifti" and args.hu:
            parser.error("--hu is for --to npy (nifti volumes are always rescaled)")
        if args.to == "nifti" and args.force:
            parser.error("--force is for --to npy and png")
    if args.command == "tree" and bool(args.index) == bool(args.paths):
        parser.error("give PATHs to index, or --index PARQUET (not both)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dicomfast`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check(parser, args)
    except SystemExit as exc:  # argparse: --help, --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.run(args)
    except _MissingDependency as exc:
        print(f"dicomfast {args.command}: {exc}", file=sys.stderr)
        return EXIT_MISSING
    except KeyboardInterrupt:
        print(f"dicomfast {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
