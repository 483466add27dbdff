"""``dicomfast deidentify PATH... | --index PARQUET -o OUTDIR --key-file KEY [--option NAME ...]``: every
DICOM file found (or listed by an index table that ``dicomfast index`` wrote), de-identified
by :func:`dicomfast.deidentify` (PS3.15 Basic Profile and the options named; ``--mask``: rectangles of
pixel data blanked) and written under OUTDIR, each file a job of the runner (this process, a process
pool or Dask); an audit table (Parquet: per file, the actions per tag, the burned-in risk, the mask
applied, the error) and, only on request, the old -> new identifier mapping. See docs/deid.md."""
from __future__ import annotations

import argparse
import functools
import os
import re
import sys
from typing import Any, NamedTuple

from ..deid import OPTIONS, PixelMask, PrivateTag
from .runner import (EXIT_NOTHING, EXIT_USAGE, Item, MissingDependency, Outcome, add_running_options, discover,
                     failure, finish, need_pyarrow, run_items)

__all__ = ["register", "run", "DeidOptions", "AuditRow", "deidentify_file", "read_key", "parse_private_tag",
           "AUDIT_SCHEMA_FIELDS", "index_items"]

_DICOM_SUFFIXES = (".dcm", ".dicom", ".dic", ".ima")
#: The audit table's columns.
AUDIT_SCHEMA_FIELDS = ("path", "output", "status", "burned_in", "mask", "masked", "actions", "error_type", "error")


def parse_private_tag(text: str) -> PrivateTag:
    """``CREATOR,GGGG,EE``: a private element to keep (creator, odd group, offset in the block)."""
    try:
        creator, group, offset = text.rsplit(",", 2)
        tag = PrivateTag(creator, int(group, 16), int(offset, 16))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not CREATOR,GGGG,EE: {text!r}") from None
    if not tag.group & 1 or not 0 <= tag.offset <= 0xFF or not creator:
        raise argparse.ArgumentTypeError(f"{text!r}: an odd (private) group and an offset 00-FF")
    return tag


def register(commands: Any) -> None:
    """Add the ``deidentify`` subparser to ``commands`` (the parser's subparsers)."""
    p = commands.add_parser(
        "deidentify", help="de-identify DICOM files by the PS3.15 confidentiality profiles",
        description="De-identify every DICOM file found (directories are walked recursively) by the DICOM "
                    "PS3.15 Basic Application Level Confidentiality Profile and the options named, with "
                    "keyed (HMAC) replacements: the same key gives the same UIDs, pseudonyms and date "
                    "shifts in every run. Pixel data is changed only by --mask: files at risk of "
                    "burned-in text are listed in the audit table.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="DICOM files or directories")
    p.add_argument("--index", metavar="PARQUET",
                   help="de-identify the files an index table lists (its path column, as 'dicomfast index' "
                        "writes it; filter it first to choose files) instead of PATHs")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="where the de-identified files go")
    p.add_argument("--key-file", required=True, metavar="KEY",
                   help="a file holding the secret key (at least 16 bytes; keep it apart from the data)")
    p.add_argument("--option", action="append", choices=OPTIONS, default=[], metavar="NAME",
                   help=f"a profile option, repeatable: {', '.join(OPTIONS)}")
    p.add_argument("--keep-private", action="append", type=parse_private_tag, default=[], metavar="CREATOR,GGGG,EE",
                   help="keep this private element (repeatable); all others are removed")
    p.add_argument("--name", choices=("uid", "path"), default="uid",
                   help="output names: the new SOP Instance UID (default; input paths often hold names), "
                        "or the input's path relative to its directory argument")
    p.add_argument("--audit", metavar="PARQUET",
                   help="the audit table (default: OUTDIR.audit.parquet, beside the output directory)")
    p.add_argument("--mapping", metavar="PARQUET",
                   help="also write the old -> new identifiers (UIDs, Patient ID, Patient's Name) here. "
                        "IDENTIFYING: keep it apart from the de-identified data")
    p.add_argument("--mask", metavar="JSON", type=_load_mask,
                   help='blank rectangles of the pixel data: {"US": {"640x480": [[x, y, w, h], ...]}} (modality, '
                        'or "*" for any; COLUMNSxROWS); files of another modality or size are not masked (audit: '
                        'no_match)')
    p.add_argument("--mask-covers-annotation", action="store_true",
                   help="the mask covers all burned-in text: masked files get Burned In Annotation NO")
    p.add_argument("--mask-transfer-syntax", metavar="UID",
                   help="store masked pixel data that was lossy (or has no encoder) in this lossless syntax, "
                        "e.g. 1.2.840.10008.1.2.1 (default: such files fail)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: fail the file)")
    add_running_options(p)
    p.set_defaults(run=run, check=check)


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if bool(args.index) == bool(args.paths):
        parser.error("give PATHs to de-identify, or --index PARQUET (not both)")


def _load_mask(path: str) -> PixelMask:
    try:
        return PixelMask.load(path)
    except (OSError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"{path}: {exc}") from None


class DeidOptions(NamedTuple):
    """What ``deidentify`` does to each file (picklable: it travels to the workers, key included)."""

    out_dir: str
    key: bytes
    options: tuple[str, ...] = ()
    keep_private: tuple[PrivateTag, ...] = ()
    name: str = "uid"
    mapping: bool = False
    overwrite: bool = False
    force: bool = False
    mask: PixelMask | None = None
    mask_covers_annotation: bool = False
    mask_transfer_syntax: str | None = None


class AuditRow(NamedTuple):
    """One file's row of the audit table (and, with ``--mapping``, its identifiers)."""

    path: str
    output: str
    status: str
    burned_in: str
    actions: tuple  # ((item path, "(gggg,eeee)", action), ...)
    error_type: str
    error: str
    mapping: tuple = ()
    mask: str = ""  # the mask's outcome: masked, no_match, no_pixels ("" without --mask)
    masked: tuple = ()  # the rectangles applied, (x, y, width, height)


def read_key(path: str) -> bytes:
    """The key in ``path``: its bytes, without a final newline; at least 16."""
    with open(path, "rb") as f:
        key = f.read().rstrip(b"\r\n")
    if len(key) < 16:
        raise ValueError(f"{path}: the key has {len(key)} bytes: at least 16 (e.g. head -c 32 /dev/urandom > KEY)")
    return key


_UNSAFE = re.compile(r"[^0-9A-Za-z._-]")


def _output_path(item: Item, ds: Any, options: DeidOptions) -> str:
    if options.name == "uid":
        uid = str(ds.get("SOPInstanceUID") or "").strip("\0 ")
        if not uid:
            from ..errors import InvalidValueError

            raise InvalidValueError("no SOP Instance UID to name the output after (use --name path)")
        return os.path.join(options.out_dir, _UNSAFE.sub("_", uid) + ".dcm")
    rel = os.path.relpath(item.path, item.root) if item.root is not None else os.path.basename(item.path)
    return os.path.join(options.out_dir, rel)


@functools.lru_cache(maxsize=8192)  # the same tags in every file: formatted once per worker
def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def deidentify_file(options: DeidOptions, item: Item) -> Outcome:
    """Read, de-identify and write one file (in a worker); never raises: an error is its outcome."""
    from ..deid import deidentify
    from ..reader import dcmread

    try:
        ds = dcmread(item.path, force=options.force)
        report = deidentify(ds, key=options.key, options=options.options, keep_private=options.keep_private,
                            mapping=options.mapping, mask=options.mask,
                            mask_covers_annotation=options.mask_covers_annotation,
                            mask_transfer_syntax=options.mask_transfer_syntax)
        out = _output_path(item, ds, options)
        if not options.overwrite and os.path.exists(out):
            raise FileExistsError(f"{out} exists (pass --overwrite to replace it)")
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        ds.save_as(out)
    except Exception as exc:  # reported per file, summarised at the end
        outcome = failure(item, exc)
        return outcome._replace(detail=AuditRow(item.path, "", outcome.status, "", (), outcome.kind, outcome.message))
    actions = tuple((a.path, _tag_text(a.tag), a.action) for a in report.actions)
    mapping = tuple(tuple(m) for m in report.mapping)
    mask = report.mask.status if report.mask is not None else ""
    masked = tuple(tuple(r) for r in report.mask.rectangles) if report.mask is not None else ()
    return Outcome(item.path, "ok", outputs=1,
                   detail=AuditRow(item.path, out, "ok", report.burned_in, actions, "", "", mapping, mask, masked))


def _write_audit(path: str, rows: list[AuditRow]) -> None:
    import pyarrow as pa

    rows = sorted(rows)
    action = pa.struct([("item", pa.string()), ("tag", pa.string()), ("action", pa.string())])
    rectangle = pa.struct([("x", pa.int32()), ("y", pa.int32()), ("width", pa.int32()), ("height", pa.int32())])
    table = pa.table({
        "path": pa.array([r.path for r in rows], pa.string()),
        "output": pa.array([r.output or None for r in rows], pa.string()),
        "status": pa.array([r.status for r in rows], pa.string()),
        "burned_in": pa.array([r.burned_in or None for r in rows], pa.string()),
        "mask": pa.array([r.mask or None for r in rows], pa.string()),
        "masked": pa.array([[dict(zip(("x", "y", "width", "height"), m)) for m in r.masked] for r in rows],
                           pa.list_(rectangle)),
        "actions": pa.array([[{"item": i, "tag": t, "action": a} for i, t, a in r.actions] for r in rows],
                            pa.list_(action)),
        "error_type": pa.array([r.error_type or None for r in rows], pa.string()),
        "error": pa.array([r.error or None for r in rows], pa.string()),
    })
    _write_table(table, path)


def _write_mapping(path: str, rows: list[AuditRow]) -> None:
    import pyarrow as pa

    entries = sorted({m for r in rows for m in r.mapping})
    table = pa.table({"kind": pa.array([e[0] for e in entries], pa.string()),
                      "old": pa.array([e[1] for e in entries], pa.string()),
                      "new": pa.array([e[2] for e in entries], pa.string())})
    _write_table(table, path)


def _write_table(table: Any, path: str) -> None:
    import pyarrow.parquet as pq

    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def index_items(path: str) -> list[Item]:
    """The files an index table lists (its ``path`` column, in its order, each once), as items
    whose root is their common folder (``--name path`` names outputs relative to it). Rows whose
    indexing failed are listed too: they fail (or, not DICOM, are skipped) again, with the reason."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable index table: {exc}") from None
    if "path" not in schema.names:
        raise ValueError(f"{path}: an index table has a 'path' column (dicomfast index writes one); "
                         f"this one has {', '.join(schema.names)}")
    paths = [p for p in dict.fromkeys(pq.read_table(path, columns=["path"])["path"].to_pylist()) if p]
    if not paths:
        return []
    root = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths])
    return [Item(p, root) for p in paths]


def _inputs(args: argparse.Namespace, out_dir: str) -> list[Item]:
    """The items to de-identify: the files of ``--index``, or the PATHs discovered as by every
    command."""
    return index_items(args.index) if args.index else discover(args.paths, exclude=out_dir)


def run(args: argparse.Namespace) -> int:
    need_pyarrow()
    try:
        key = read_key(args.key_file)
    except OSError as exc:
        raise MissingDependency(f"cannot read the key file: {exc}") from None
    except ValueError as exc:
        print(f"dicomfast deidentify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if "rtnLongFullDatesOpt" in args.option and "rtnLongModifDatesOpt" in args.option:
        print("dicomfast deidentify: rtnLongFullDatesOpt and rtnLongModifDatesOpt exclude each other",
              file=sys.stderr)
        return EXIT_USAGE
    out_dir = os.path.abspath(args.output)
    audit = args.audit or out_dir.rstrip(os.sep) + ".audit.parquet"
    try:
        items = _inputs(args, out_dir)
    except ValueError as exc:
        print(f"dicomfast deidentify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not items:
        print(f"dicomfast deidentify: no files found in {', '.join(args.paths)}", file=sys.stderr)
        return EXIT_NOTHING
    options = DeidOptions(out_dir=out_dir, key=key, options=tuple(sorted(set(args.option))),
                          keep_private=tuple(args.keep_private), name=args.name, mapping=bool(args.mapping),
                          overwrite=args.overwrite, force=args.force, mask=args.mask,
                          mask_covers_annotation=args.mask_covers_annotation,
                          mask_transfer_syntax=args.mask_transfer_syntax)
    rows: list[AuditRow] = []

    def keep(outcome: Outcome) -> None:
        if isinstance(outcome.detail, AuditRow):
            rows.append(outcome.detail)
        else:  # a worker crash: no row from the worker
            rows.append(AuditRow(outcome.path, "", outcome.status, "", (), outcome.kind, outcome.message))

    summary = run_items(functools.partial(deidentify_file, options), items, args, "deidentify", on_outcome=keep)
    _write_audit(audit, rows)
    if args.mapping:
        _write_mapping(args.mapping, rows)
    code = finish(args, summary)
    if not args.quiet:
        at_risk = sum(r.burned_in in ("yes", "unknown") for r in rows)
        print(f"audit table: {audit} ({at_risk} file{'s' if at_risk != 1 else ''} at risk of burned-in text)",
              file=sys.stderr)
    if code == EXIT_NOTHING:
        print("dicomfast deidentify: nothing de-identified: no DICOM file found", file=sys.stderr)
    return code
