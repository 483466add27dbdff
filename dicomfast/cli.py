"""The ``dicomfast`` command: what a person types.

    dicomfast dump FILE...                      a dcmdump-style listing
    dicomfast convert PATH... --to npy|png -o OUTDIR
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

The file-level machinery (recursive discovery, a process pool, a progress bar, errors collected
per file and summarised at the end) is shared by the commands that work on many files. See
docs/cli.md.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import functools
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Sequence, TextIO

__all__ = ["main", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_NOTHING", "EXIT_MISSING", "EXIT_INTERRUPTED"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOTHING = 3
EXIT_MISSING = 4
EXIT_INTERRUPTED = 130

#: Installs what ``convert --to png`` and the progress bar use.
CLI_EXTRA = "pip install 'dicomfast[cli]'"
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

    Names starting with a dot (``.DS_Store``, ``.git``) are left out of the walk, and so is the
    directory ``exclude`` (the output directory, when it is inside an input); symbolic links to
    directories are not followed. Within a directory, files come in sorted order. A path that
    does not exist is kept as an item, so that it fails and is reported like any other file.
    """
    skip = os.path.realpath(exclude) if exclude else None
    items: list[Item] = []
    for arg in paths:
        if not os.path.isdir(arg):
            items.append(Item(arg, None))
            continue
        for dirpath, dirnames, filenames in os.walk(arg):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                                 and os.path.realpath(os.path.join(dirpath, d)) != skip)
            for name in sorted(filenames):
                if not name.startswith("."):
                    items.append(Item(os.path.join(dirpath, name), arg))
    return items


def _failure(item: Item, exc: BaseException) -> Outcome:
    """A DicomError is reported by its class; NotDicomError for a file found in a walk is a skip."""
    from .errors import NotDicomError

    message = str(exc) or repr(exc)
    if message.startswith(f"{item.path}: "):  # the summary shows the path already
        message = message[len(item.path) + 2:]
    if isinstance(exc, NotDicomError) and item.root is not None:
        return Outcome(item.path, "skipped", kind="not DICOM", message=message)
    return Outcome(item.path, "failed", kind=type(exc).__name__, message=message)


class Summary:
    """Outcomes counted as they come in, and the report printed at the end."""

    def __init__(self, verb: str):
        self.verb = verb
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

    def report(self, outputs_label: str = "files written") -> str:
        total = sum(self.counts.values())
        seconds = time.perf_counter() - self.started
        head = (f"{self.verb}: {total} file{'s' if total != 1 else ''} in {seconds:.1f} s: "
                f"{self.counts['ok']} ok ({self.outputs} {outputs_label}), "
                f"{self.counts['skipped']} skipped, {self.n_failed} failed")
        lines = [head]
        if self.skipped:
            lines.append("skipped: " + ", ".join(f"{n} {why}" for why, n in self.skipped.most_common()))
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
# running a function over files: in-process or in a process pool


def default_workers() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _run_chunk(func: Callable[[Any], Outcome], chunk: Sequence[Any]) -> list[Outcome]:
    return [func(item) for item in chunk]


def _map_chunks(func: Callable[[Any], Outcome], items: Sequence[Any], workers: int,
                chunk_size: int | None = None) -> Iterator[Outcome]:
    """``func(item)`` for every item, yielded as chunks complete (not in order).

    ``func`` must be picklable (a module-level function or a ``functools.partial`` of one) and
    must return an :class:`Outcome` for every item, errors included. ``workers`` 1 runs in this
    process. Otherwise a process pool runs chunks of items, with at most two chunks per worker in
    flight so that memory stays bounded. A worker that dies (a crash in a decoder, the OOM killer)
    breaks the pool: the chunks that were in flight are retried in a new pool one item at a time,
    each alone in flight, and an item that kills a worker again is reported as ``WorkerCrashed``.

    This is the seam for the shared executor (process pool or Dask) that will replace it.
    """
    if workers <= 1 or len(items) <= 1:
        for item in items:
            yield func(item)
        return
    if chunk_size is None:
        chunk_size = max(1, min(64, len(items) // (workers * 8)))
    # (chunk, is a retry); pop() from the end takes the chunks in order
    queue = [(list(items[i:i + chunk_size]), False) for i in range(0, len(items), chunk_size)][::-1]
    while queue:
        pool = cf.ProcessPoolExecutor(max_workers=workers)
        in_flight: dict[cf.Future, tuple[list[Any], bool]] = {}
        broken: list[tuple[list[Any], bool]] = []
        try:
            while queue or in_flight:
                # A retry runs alone, so that if it breaks the pool again it is the one to blame.
                while queue and len(in_flight) < (1 if queue[-1][1] else 2 * workers):
                    chunk, retry = queue.pop()
                    in_flight[pool.submit(_run_chunk, func, chunk)] = (chunk, retry)
                done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    chunk, retry = in_flight.pop(future)
                    try:
                        results = future.result()
                    except cf.process.BrokenProcessPool:
                        broken.append((chunk, retry))
                        continue
                    yield from results
                if broken:
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if broken:
            # The rest of what was in flight either finished before the pool broke (its results
            # stand) or went down with it (retried, like the chunk that broke it).
            for future, (chunk, retry) in in_flight.items():
                try:
                    results = future.result()
                except (cf.process.BrokenProcessPool, cf.CancelledError):
                    broken.append((chunk, retry))
                else:
                    yield from results
            for chunk, retry in broken:
                if retry:
                    (item,) = chunk
                    path = getattr(item, "path", str(item))
                    yield Outcome(path, "failed", kind="WorkerCrashed",
                                  message="the worker process died reading this file")
                else:
                    queue.extend(([item], True) for item in reversed(chunk))


# ---------------------------------------------------------------------------------------------
# progress


class Progress:
    """A progress bar on stderr: tqdm's if it is installed, else a status line at most once a
    second (rewritten in place on a terminal, one line each time in a log). ``enabled`` False makes
    every method a no-op."""

    def __init__(self, total: int, desc: str, enabled: bool, *, stream: TextIO | None = None,
                 interval: float = 1.0, use_tqdm: bool = True):
        self.total, self.desc, self.enabled = total, desc, enabled
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
                self._bar = tqdm(total=total, desc=desc, unit="file", file=self.stream, dynamic_ncols=True)

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
        line = f"{self.desc}: {self.done}/{self.total} files ({percent:.0f}%), {self.failed} failed, {rate:.1f} files/s"
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


def _run_files(func: Callable[[Item], Outcome], items: list[Item], args: argparse.Namespace,
               verb: str) -> Summary:
    summary = Summary(verb)
    progress = Progress(len(items), verb, _progress_enabled(args))
    try:
        for outcome in _map_chunks(func, items, args.workers or default_workers()):
            summary.add(outcome)
            progress.update(outcome)
    finally:
        progress.close()
    return summary


# ---------------------------------------------------------------------------------------------
# dump


def _parse_tag(text: str) -> Any:
    """A keyword, or a tag as ``0010,0010``, ``(0010,0010)``, ``00100010`` or ``0x00100010``."""
    bare = text.strip().strip("()").replace(",", "").replace(" ", "")
    if bare.lower().startswith("0x"):
        bare = bare[2:]
    if re.fullmatch(r"[0-9A-Fa-f]{8}", bare):
        return int(bare, 16)
    from .datadict import tag_for_keyword

    if tag_for_keyword(text.strip()) is None:
        raise argparse.ArgumentTypeError(f"not a tag or a DICOM keyword: {text!r}")
    return text.strip()


def _cmd_dump(args: argparse.Namespace) -> int:
    from . import dcmread
    from ._dump import dump
    from .errors import DicomError

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
        from .errors import InvalidValueError

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

    from . import dcmread
    from .pixels import pixel_array

    ds = dcmread(item.path, force=options.force)
    if not any(tag in ds for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009)):
        return Outcome(item.path, "skipped", kind="no pixel data")
    stem = os.path.join(options.out_dir, output_stem(item, ds, options))
    arr = pixel_array(ds)
    if options.to == "npy":
        if options.hu:
            from .transforms import apply_modality_lut

            arr = apply_modality_lut(arr, ds)
        if options.dtype is not None:
            from ._frames import cast

            arr = cast(arr, options.dtype)  # rounded to nearest, and no silent wrap-around
        _save(stem + ".npy", lambda f: np.save(f, arr, allow_pickle=False), options.overwrite)
        return Outcome(item.path, "ok", outputs=1)

    from PIL import Image

    from ._render import display_frames

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
        candidates.append(os.fspath(Path(__file__).resolve().parent.parent / "benchmarks"))
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


def _files_options(parser: argparse.ArgumentParser) -> None:
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
    group.add_argument("--force", action="store_true",
                       help="read files without the DICM prefix too (non-DICOM files then fail instead "
                            "of being skipped)")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="dicomfast",
        description="Fast DICOM tools: dump headers, convert pixel data, run the benchmarks.",
        epilog="Exit codes: 0 ok, 1 some files failed, 2 usage error, 3 nothing to do (no DICOM found), "
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
        "convert", help="write the pixel data of DICOM files as .npy arrays or .png images",
        description="Write the pixel data of every DICOM file found (directories are walked recursively) "
                    "as a NumPy .npy array or as 8-bit PNG images, one per frame.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="DICOM files or directories")
    p.add_argument("--to", required=True, choices=("npy", "png"),
                   help="npy: the pixel array as pydicom gives it (all frames in one array); "
                        "png: windowed 8-bit images, one per frame")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="where the outputs go")
    p.add_argument("--name", choices=("path", "uid"), default="path",
                   help="output names: the input's path relative to its directory argument (default), "
                        "or the SOP Instance UID")
    p.add_argument("--hu", action="store_true",
                   help="npy: apply the modality LUT / rescale (Hounsfield units for CT), as float64")
    p.add_argument("--dtype", type=_dtype, default=None,
                   help="npy: cast the array to this dtype (rounded to nearest; the values must fit)")
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
        if args.to == "npy" and args.window:
            parser.error("--window is for --to png")


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
