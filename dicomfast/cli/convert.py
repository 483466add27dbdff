"""``dicomfast convert PATH... --to {npy,png,nifti} -o OUTDIR``: the pixel data of every file as a
``.npy`` array or 8-bit PNGs (one per frame), each file a job of the runner; or (``--to nifti``)
every series found by UID in an index as one NIfTI volume (:func:`dicomfast.load_series`), each
series a job. Pixels come from the one pipeline of :mod:`dicomfast.pixels`."""
from __future__ import annotations

import argparse
import functools
import os
import re
import sys
import time
from collections import Counter, defaultdict
from typing import Any, Callable, NamedTuple

from .runner import (
    EXIT_FAILED, EXIT_NOTHING, EXIT_OK, Item, MissingDependency, Outcome, Summary, add_running_options, discover,
    failure, finish, index_summary, named_files, need_pyarrow, run_index, run_items,
)

__all__ = ["register", "run", "ConvertOptions", "SeriesJob", "output_stem", "convert_file", "convert_series",
           "series_output_names", "CLI_EXTRA"]

#: Installs what ``convert --to png`` and the progress bar use.
CLI_EXTRA = "pip install 'dicomfast[cli]'"
#: File name suffixes that are dropped from input names when output names are made from them.
_DICOM_SUFFIXES = (".dcm", ".dicom", ".dic", ".ima")
_UNSAFE = re.compile(r"[^0-9A-Za-z._-]")


def _dtype(text: str) -> str:
    import numpy as np

    try:
        dt = np.dtype(text)
    except TypeError:
        raise argparse.ArgumentTypeError(f"not a NumPy dtype: {text!r}") from None
    if dt.kind not in "iuf":
        raise argparse.ArgumentTypeError(f"an integer or floating point dtype, not {text!r}")
    return dt.name


def register(commands: Any) -> None:
    """Add the ``convert`` subparser to ``commands`` (the parser's subparsers)."""
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
    add_running_options(p)
    p.set_defaults(run=run, check=check)


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.window and args.window[1] < 1:
        parser.error("--window: the width must be at least 1")
    if args.to == "png" and (args.hu or args.dtype):
        parser.error("--hu and --dtype are for --to npy")
    if args.to != "png" and args.window:
        parser.error("--window is for --to png")
    if args.to == "nifti" and args.hu:
        parser.error("--hu is for --to npy (nifti volumes are always rescaled)")
    if args.to == "nifti" and args.force:
        parser.error("--force is for --to npy and png")


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
    strict: bool = False


# ---------------------------------------------------------------------------------------------
# --to npy, png: one job per file


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
        return failure(item, exc)


def _convert(options: ConvertOptions, item: Item) -> Outcome:
    import numpy as np

    from .. import dcmread
    from ..pixels import pixel_array, read_pixels

    ds = dcmread(item.path, force=options.force, strict=options.strict)
    if not any(tag in ds for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009)):
        return Outcome(item.path, "skipped", kind="no pixel data", defects=_kinds(ds))
    stem = os.path.join(options.out_dir, output_stem(item, ds, options))
    if options.to == "npy":
        # the pixel pipeline: the modality transform (float64 unless --dtype says otherwise) or the
        # stored values, cast to --dtype rounded to nearest, never wrapped around
        dtype = options.dtype if options.dtype is not None else (np.float64 if options.hu else None)
        arr = read_pixels(ds, rescale=options.hu, dtype=dtype, strict=options.strict)
        _save(stem + ".npy", lambda f: np.save(f, arr, allow_pickle=False), options.overwrite)
        return Outcome(item.path, "ok", outputs=1, defects=_kinds(ds))

    from PIL import Image

    from ..pixels import display_frames

    frames = display_frames(ds, pixel_array(ds), window=options.window, strict=options.strict)
    n = frames.shape[0]
    width = max(4, len(str(n)))
    for k in range(n):
        image = Image.fromarray(np.ascontiguousarray(frames[k]))
        # DICOM numbers frames from 1
        path = f"{stem}.png" if n == 1 else f"{stem}_f{k + 1:0{width}d}.png"
        _save(path, functools.partial(image.save, format="PNG"), options.overwrite)
    return Outcome(item.path, "ok", outputs=n, defects=_kinds(ds))


def _kinds(ds: Any) -> tuple[str, ...]:
    """The kinds of the defects recorded on ``ds`` (by the read and the pixel pipeline)."""
    return tuple(d.kind for d in ds.defects)


def run(args: argparse.Namespace) -> int:
    if args.to == "nifti":
        return _run_nifti(args)
    if args.to == "png":
        try:
            import PIL.Image  # noqa: F401
        except ImportError:
            raise MissingDependency(f"--to png needs Pillow: {CLI_EXTRA}") from None
    items = discover(args.paths, exclude=args.output)
    if not items:
        print(f"dicomfast convert: no files found in {', '.join(args.paths)}", file=sys.stderr)
        return EXIT_NOTHING
    options = ConvertOptions(
        to=args.to, out_dir=args.output, name=args.name, hu=args.hu,
        window=tuple(args.window) if args.window else None, dtype=args.dtype,
        overwrite=args.overwrite, force=args.force, strict=args.strict,
    )
    summary = run_items(functools.partial(convert_file, options), items, args, "convert")
    code = finish(args, summary)
    if code == EXIT_NOTHING:
        print("dicomfast convert: nothing converted: no DICOM file with pixel data found", file=sys.stderr)
    return code


# ---------------------------------------------------------------------------------------------
# --to nifti: one job per series, found by UID (never by folder)


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
        volume = load_series(list(job.files), series_uid=job.series_uid, dtype=options.dtype, workers=1,
                             strict=options.strict)
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
    kinds = tuple(d.kind for ds in volume.datasets for d in ds.defects)
    return Outcome(job.path, "ok", outputs=1, defects=kinds)


def _run_nifti(args: argparse.Namespace) -> int:
    need_pyarrow()
    try:
        import nibabel  # noqa: F401
    except ImportError:
        raise MissingDependency("--to nifti needs nibabel: pip install 'dicomfast[nifti]'") from None
    import pyarrow.compute as pc

    from ..collection.hierarchy import series_table

    # 1. the index: which files belong to which series, by UID (Rows: which files are images)
    started = time.perf_counter()
    table = run_index(args, ["Rows"], exclude=[args.output])
    files = index_summary(table, named_files(args.paths), "index")
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
                             overwrite=args.overwrite, strict=args.strict)
    summary = run_items(functools.partial(convert_series, options), jobs, args, "convert",
                        summary=Summary("convert", "series", "series"), chunksize=1)
    code = finish(args, summary, earlier=(files,))  # the error log: the files' failures, then the series'
    return EXIT_FAILED if files.n_failed and code == EXIT_OK else code
