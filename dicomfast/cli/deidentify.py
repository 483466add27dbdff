"""``dicomfast deidentify PATH... -o OUTDIR --key-file KEY [--option NAME ...]``: every DICOM file
found, de-identified by :func:`dicomfast.deidentify` (PS3.15 Basic Profile and the options named)
and written under OUTDIR, each file a job of the runner (this process, a process pool or Dask); an
audit table (Parquet: per file, the actions per tag, the burned-in risk, the error) and, only on
request, the old -> new identifier mapping. See docs/deid.md."""
from __future__ import annotations

import argparse
import functools
import os
import re
import sys
from typing import Any, NamedTuple

from ..deid import OPTIONS, PrivateTag
from .runner import (EXIT_NOTHING, EXIT_USAGE, Item, MissingDependency, Outcome, add_running_options, discover,
                     failure, finish, need_pyarrow, run_items)

__all__ = ["register", "run", "DeidOptions", "AuditRow", "deidentify_file", "read_key", "parse_private_tag",
           "AUDIT_SCHEMA_FIELDS"]

_DICOM_SUFFIXES = (".dcm", ".dicom", ".dic", ".ima")
#: The audit table's columns.
AUDIT_SCHEMA_FIELDS = ("path", "output", "status", "burned_in", "actions", "error_type", "error")


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
                    "shifts in every run. Pixel data is not changed: files at risk of burned-in text are "
                    "listed in the audit table.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="DICOM files or directories")
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
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: fail the file)")
    add_running_options(p)
    p.set_defaults(run=run)


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
                            mapping=options.mapping)
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
    return Outcome(item.path, "ok", outputs=1,
                   detail=AuditRow(item.path, out, "ok", report.burned_in, actions, "", "", mapping))


def _write_audit(path: str, rows: list[AuditRow]) -> None:
    import pyarrow as pa

    rows = sorted(rows)
    action = pa.struct([("item", pa.string()), ("tag", pa.string()), ("action", pa.string())])
    table = pa.table({
        "path": pa.array([r.path for r in rows], pa.string()),
        "output": pa.array([r.output or None for r in rows], pa.string()),
        "status": pa.array([r.status for r in rows], pa.string()),
        "burned_in": pa.array([r.burned_in or None for r in rows], pa.string()),
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
    items = discover(args.paths, exclude=out_dir)
    if not items:
        print(f"dicomfast deidentify: no files found in {', '.join(args.paths)}", file=sys.stderr)
        return EXIT_NOTHING
    options = DeidOptions(out_dir=out_dir, key=key, options=tuple(sorted(set(args.option))),
                          keep_private=tuple(args.keep_private), name=args.name, mapping=bool(args.mapping),
                          overwrite=args.overwrite, force=args.force)
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
