"""Index files into an Arrow table: one row per file, typed columns, errors as rows.

    >>> table = dicomfast.index("archive/", tags=["SliceThickness", "ImagePositionPatient"])
    >>> df = table.to_pandas()

Each file's header is read with ``dcmread(path, specific_tags=...)``, which reads the first block of
the file and stops the scan after the last tag the table needs. The work runs in chunks of files
(:func:`dicomfast._parallel.map_chunks`): in a process pool by default, in this process, or on a Dask
cluster; each chunk comes back as one Arrow record batch.

Column types come from the data dictionary, never from the files, so that every chunk, every run
and every worker makes the same schema (see :func:`column_type`). The design and the options for
archives of millions of files are in ``docs/collections.md``.
"""

from __future__ import annotations

import datetime
import functools
import os
import stat
import warnings
from typing import Any, Iterable, Iterator

from .. import datadict
from . import _arrow
from .executor import DEFAULT_CHUNKSIZE, map_chunks
from ..reader import dcmread
from .frames import FRAME_COLUMNS, FRAME_TAGS, frame_cells, frame_columns, index_frames
from ..sources import check_storage_options, is_remote, list_files
from ..tags import to_tag

__all__ = ["index", "index_schema", "table_from_values", "column_type", "FILE_COLUMNS", "DATASET_COLUMNS", "ERROR_COLUMNS",
           "DEFECTS_COLUMN"]

#: Columns about the file itself.
FILE_COLUMNS = ("path", "file_size", "mtime", "transfer_syntax")

#: Columns read from every dataset: the identifiers of the hierarchy and what :mod:`dicomfast.hierarchy`
#: needs for dates, times and labels. ``(column, tag)``; the type follows the tag's VR.
DATASET_COLUMNS = (
    ("sop_class_uid", 0x00080016),
    ("sop_instance_uid", 0x00080018),
    ("patient_id", 0x00100020),
    ("patient_name", 0x00100010),
    ("study_instance_uid", 0x0020000D),
    ("series_instance_uid", 0x0020000E),
    ("modality", 0x00080060),
    ("study_date", 0x00080020),
    ("study_time", 0x00080030),
    ("study_description", 0x00081030),
    ("series_number", 0x00200011),
    ("series_date", 0x00080021),
    ("series_time", 0x00080031),
    ("series_description", 0x0008103E),
    ("instance_number", 0x00200013),
    ("acquisition_date", 0x00080022),
    ("acquisition_time", 0x00080032),
    ("acquisition_datetime", 0x0008002A),
    ("content_date", 0x00080023),
    ("content_time", 0x00080033),
)

#: Last columns: why a file could not be read (null when it was), and values that could not be
#: converted to their column's type (their cells are null).
ERROR_COLUMNS = ("error", "error_type", "warnings")

#: The very last column, ``list<string>``: the kind of each defect the read tolerated
#: (:mod:`dicomfast.defects`; ``[]`` for a clean file, null for a file that could not be read).
#: A header read records the defects of the part of the file it reads.
DEFECTS_COLUMN = "defects"

_TAG_TRANSFER_SYNTAX = 0x00020010
_TRANSFER_SYNTAX = (_TAG_TRANSFER_SYNTAX,)

# VR -> the kind of column (and so the Arrow type, :func:`column_type`)
_KIND_OF_VR = {
    **dict.fromkeys(("AE", "AS", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UI", "UR", "UT"), "text"),
    **dict.fromkeys(("IS", "US", "SS", "UL", "SL", "UV", "SV", "AT"), "int"),
    **dict.fromkeys(("DS", "FL", "FD"), "float"),
    **dict.fromkeys(("OB", "OD", "OF", "OL", "OV", "OW", "UN"), "binary"),
    "DA": "date",
    "TM": "time",
    "DT": "datetime",
}
_EPOCH = datetime.date(1970, 1, 1).toordinal()
_US_PER_DAY = 86_400_000_000
_INT64 = (-(1 << 63), (1 << 63) - 1)


def require_pyarrow():
    try:
        import pyarrow
    except ImportError:
        raise ImportError("dicomfast.index needs pyarrow: pip install 'dicomfast[index]'") from None
    return pyarrow


# -- columns ---------------------------------------------------------------------------------------


def _column_of_tag(tag: int, name: str | None = None) -> tuple[str, int, str, bool]:
    """``(name, tag, kind, multi)`` for a tag: its dictionary VR and VM; private and unknown: text."""
    entry = datadict.entry(tag)
    if name is None:
        name = entry[4] if entry is not None and entry[4] else f"{tag >> 16:04X}{tag & 0xFFFF:04X}"
    if entry is None or tag >> 16 & 1:
        return name, tag, "text", False
    vr, vm = entry[0], entry[1]
    if vr in ("SQ", "NONE"):
        raise ValueError(f"{name} ({tag >> 16:04X},{tag & 0xFFFF:04X}) is a {vr}: a sequence is not a column")
    if " or " in vr:  # US or SS, OB or OW, US or OW, US or SS or OW
        kinds = {_KIND_OF_VR.get(v) for v in vr.split(" or ")}
        kind = "int" if kinds == {"int"} else "binary"
    else:
        kind = _KIND_OF_VR.get(vr, "text")
    multi = vm != "1" and kind != "binary"
    return name, tag, kind, multi


@functools.lru_cache(maxsize=None)
def _arrow_kind(kind: str) -> Any:
    pa = require_pyarrow()
    return {
        "text": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "binary": pa.binary(),
        "date": pa.date32(),
        "time": pa.time64("us"),
        "datetime": pa.timestamp("us"),
    }[kind]


def column_type(tag: Any) -> Any:
    """The Arrow type of the column of ``tag`` (a keyword, an int or a ``(group, element)`` pair).

    From the dictionary VR: DA ``date32``, TM ``time64[us]``, DT ``timestamp[us]`` (the UTC offset,
    if a value has one, is dropped: the time is as written), DS/FL/FD ``float64``, IS and the integer
    VRs (US, SS, UL, SL, UV, SV, AT) ``int64``, OB/OW/OF/OD/OL/OV/UN ``binary``, the text VRs
    ``string``; ``list<...>`` of these when the dictionary allows more than one value (VM other than 1).
    Private and unknown tags are ``string``.
    """
    _, _, kind, multi = _column_of_tag(to_tag(tag))
    arrow = _arrow_kind(kind)
    return require_pyarrow().list_(arrow) if multi else arrow


def _columns(tags: Iterable[Any], frames: bool = False) -> tuple:
    """The dataset column specs: the fixed ones, then the requested tags (each once), then with
    ``frames`` the Image Pixel module's (:data:`~dicomfast.collection.frames.FRAME_TAGS`)."""
    specs = [_column_of_tag(tag, name) for name, tag in DATASET_COLUMNS]
    seen = set()
    if isinstance(tags, (str, int)):
        tags = [tags]
    if frames:
        tags = [*tags, *(keyword for keyword, _ in FRAME_TAGS)]
    for key in tags:
        tag = to_tag(key)
        if tag in seen:
            continue
        seen.add(tag)
        # keywords are CamelCase and the fixed columns snake_case: the names cannot collide
        specs.append(_column_of_tag(tag))
    return tuple(specs)


@functools.lru_cache(maxsize=64)
def _schema(specs: tuple, frames: bool = False) -> Any:
    pa = require_pyarrow()
    fields = [
        pa.field("path", pa.string(), nullable=False),
        pa.field("file_size", pa.int64()),
        pa.field("mtime", pa.timestamp("us", tz="UTC")),  # microseconds: to_pylist() works without pandas
        pa.field("transfer_syntax", pa.string()),
    ]
    for name, _, kind, multi in specs:
        arrow = _arrow_kind(kind)
        fields.append(pa.field(name, pa.list_(arrow) if multi else arrow))
    if frames:
        fields += frame_columns(pa)
    fields += [pa.field(name, pa.string()) for name in ERROR_COLUMNS]
    fields.append(pa.field(DEFECTS_COLUMN, pa.list_(pa.string())))
    return pa.schema(fields)


def index_schema(tags: Iterable[Any] = (), frames: bool = False) -> Any:
    """The schema of ``index(..., tags=tags, frames=frames)``: the same for every file set (a
    ``pyarrow.Schema``)."""
    return _schema(_columns(tags, frames), frames)


def table_from_values(rows: Iterable[tuple[str, dict]], tags: Iterable[Any] = ()) -> Any:
    r"""A table of :func:`index_schema`\ ``(tags)`` from values found elsewhere (a DICOMweb search's
    answer): ``rows`` are ``(path, {tag: value})``, each value as a dataset gives it (a string, a
    number, a list of them); the cells are converted as :func:`index` converts a header's, a value
    that does not convert is a null cell named in ``warnings``. The file columns other than
    ``path`` are null."""
    pa = require_pyarrow()
    specs = _columns(tags)
    schema = _schema(specs)
    plan = [(name, tag, _converter(kind, multi)) for name, tag, kind, multi in specs]
    cells: dict[str, list] = {field.name: [] for field in schema}
    for path, values in rows:
        problems = []
        cells["path"].append(path)
        for name, tag, convert in plan:
            value = values.get(tag)
            try:
                cells[name].append(None if value is None else convert(value))
            except (ValueError, TypeError, OverflowError) as exc:
                cells[name].append(None)
                problems.append(f"{name}: {exc}")
        cells["warnings"].append("; ".join(problems) or None)
        cells[DEFECTS_COLUMN].append([])
    n = len(cells["path"])
    arrays = [_column_array(pa, cells[field.name] if cells[field.name] else [None] * n, field.type) for field in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


# -- values ----------------------------------------------------------------------------------------


def _digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` takes other scripts' digits and superscripts too)."""
    return text.isascii() and text.isdigit()


def _parse_date(text: str) -> int:
    """Days since 1970-01-01 of a DA: ``YYYYMMDD``, or ACR-NEMA's ``YYYY.MM.DD``."""
    text = text.strip()
    if len(text) == 10 and text[4] == "." and text[7] == ".":
        text = text[:4] + text[5:7] + text[8:]
    if len(text) != 8 or not _digits(text):
        raise ValueError(f"{text!r} is not a DA (YYYYMMDD)")
    return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:])).toordinal() - _EPOCH


def _clock(text: str, hours: int, minutes: int, seconds: int, fraction: str) -> int:
    """Microseconds since midnight; a leap second (60) counts as 59, as pydicom reads it."""
    if seconds == 60:
        seconds = 59
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"{text!r} is not a valid time of day")
    return ((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + int(fraction.ljust(6, "0") or 0)


def _parse_time(text: str) -> int:
    """Microseconds since midnight of a TM: ``HH[MM[SS[.F{1,6}]]]`` (colons, as old files write, allowed)."""
    text = text.strip().replace(":", "")
    whole, dot, fraction = text.partition(".")
    if (len(whole) not in (2, 4, 6) or not _digits(whole) or (dot and len(whole) != 6)
            or len(fraction) > 6 or (fraction and not _digits(fraction))):
        raise ValueError(f"{text!r} is not a TM (HHMMSS.FFFFFF)")
    return _clock(text, int(whole[:2]), int(whole[2:4] or 0), int(whole[4:6] or 0), fraction)


def _parse_datetime(text: str) -> int:
    """Microseconds since 1970 of a DT, ``YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]``, as written (offset dropped)."""
    text = text.strip()
    where = max(text.find("+", 4), text.find("-", 4))
    if where > 0:  # the UTC offset: a sign and four digits, last
        offset, text = text[where:], text[:where]
        if len(offset) != 5 or not _digits(offset[1:]):
            raise ValueError(f"{text + offset!r} is not a DT (its UTC offset is not &HHMM)")
    whole, dot, fraction = text.partition(".")
    if (len(whole) not in (4, 6, 8, 10, 12, 14) or not _digits(whole)
            or (dot and (len(whole) != 14 or len(fraction) > 6 or (fraction and not _digits(fraction))))):
        raise ValueError(f"{text!r} is not a DT (YYYYMMDDHHMMSS.FFFFFF)")
    day = datetime.date(int(whole[:4]), int(whole[4:6] or 1), int(whole[6:8] or 1)).toordinal() - _EPOCH
    clock = _clock(text, int(whole[8:10] or 0), int(whole[10:12] or 0), int(whole[12:14] or 0), fraction)
    return day * _US_PER_DAY + clock


def _to_int(value: Any) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not an integer")
    value = int(value)
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError(f"{value} does not fit in int64")
    return value


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        # a private or unknown value decoded as bytes: its characters as written, padding dropped
        return bytes(value).decode("latin-1").rstrip("\x00 ")
    if isinstance(value, list):
        return "\\".join(_to_text(v) for v in value)
    return str(value)


def _to_binary(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise ValueError(f"a {type(value).__name__} value in a binary column")


def _cached(parse: Any) -> Any:
    """``parse`` with a bounded cache: an archive repeats its dates and many of its times."""
    cache: dict = {}

    def parse_cached(text: str) -> int:
        try:
            return cache[text]
        except KeyError:
            pass
        if len(cache) >= 65536:
            cache.clear()
        result = cache[text] = parse(text)  # a ValueError is not cached: it is rare
        return result

    parse_cached.cache = cache  # type: ignore[attr-defined]  # for a converter's own lookup
    return parse_cached


_CONVERT = {
    "text": _to_text,
    "int": _to_int,
    "float": float,
    "binary": _to_binary,
    "date": _cached(_parse_date),
    "time": _cached(_parse_time),
    "datetime": _cached(_parse_datetime),
}


_SIZED = (str, list, tuple, bytes, bytearray, memoryview)


def _cell(value: Any, kind: str, multi: bool) -> Any:
    """A value as its column holds it; raises ValueError if it cannot be."""
    if value is None or (isinstance(value, _SIZED) and len(value) == 0):
        return None  # absent and empty look alike in a column: null (an empty OB too, not b"")
    convert = _CONVERT[kind]
    if multi:
        if isinstance(value, list):
            return [None if v is None or v == "" else convert(v) for v in value]
        return [convert(value)]
    if isinstance(value, list) and kind != "text":
        raise ValueError(f"{len(value)} values where the dictionary allows one")
    return convert(value)


def _converter(kind: str, multi: bool) -> Any:
    """:func:`_cell` for one column, with the common cases first (this runs per cell)."""
    if kind == "text" and not multi:
        def text(value: Any) -> Any:
            if type(value) is str:
                return value or None
            return _cell(value, kind, multi)

        return text
    if kind in ("int", "float") and not multi:
        low, high = _INT64

        def number(value: Any) -> Any:
            if type(value) is float and kind == "float" or type(value) is int and low <= value <= high:
                return float(value) if kind == "float" else value
            return _cell(value, kind, multi)

        return number
    if kind in ("date", "time", "datetime") and not multi:
        parse = _CONVERT[kind]
        known = parse.cache.get

        def temporal(value: Any) -> Any:
            if type(value) is str and value:
                cell = known(value)  # the parse's cache, looked up here: one call fewer per cell
                return parse(value) if cell is None else cell
            return _cell(value, kind, multi)

        return temporal
    return functools.partial(_cell, kind=kind, multi=multi)


# -- one chunk of files, in a worker ---------------------------------------------------------------


def _read_file(path: str, wanted: tuple, strict: bool = False, storage_options: dict | None = None) -> Any:
    """The header of ``path`` (a module-level name, so that tests can count the reads)."""
    return dcmread(path, specific_tags=wanted, strict=strict, storage_options=storage_options)


def _path_text(path: str) -> str:
    """``path`` as Arrow can hold it (UTF-8): the bytes of a name that is not UTF-8, which Python
    carries as surrogate escapes, are written ``\\xNN``."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def _utf8(message: str) -> str:
    """A message, with any surrogate escapes (from a path) written ``\\xNN`` as in :func:`_path_text`."""
    try:
        message.encode("utf-8")
        return message
    except UnicodeEncodeError:
        return message.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _index_chunk(paths: list[str], specs: tuple, strict: bool = False, frames: bool = False,
                 storage_options: dict | None = None) -> Any:
    """Read the headers of ``paths``: one Arrow record batch with the rows, in order.

    No exception escapes for a file: a file that cannot be read is a row with its error; a file
    read with defects (not ``strict``) is a row with their kinds.
    """
    pa = require_pyarrow()
    schema = _schema(specs, frames)
    wanted = tuple(sorted({spec[1] for spec in specs}))
    plan = [(name, tag, _converter(kind, multi)) for name, tag, kind, multi in specs]
    picks = _picks(specs, plan, wanted)
    n_dataset = len(specs)
    no_values = (None,) * n_dataset
    columns: list[list] = [[] for _ in range(8)]
    path_col, size_col, mtime_col, syntax_col, error_col, type_col, warn_col, defects_col = columns
    dataset_rows: list = []
    frame_rows: list = []

    for path in paths:
        size = mtime = syntax = error = error_type = kinds = None
        values: Any = no_values
        located = None
        problems = None
        try:
            if type(path) is str and "://" not in path or not is_remote(path):
                st = os.stat(path)
                size, mtime = st.st_size, st.st_mtime_ns // 1000
                if not stat.S_ISREG(st.st_mode):
                    if stat.S_ISDIR(st.st_mode):
                        raise IsADirectoryError(f"{path} is a directory")
                    # reading a FIFO would block forever and a device may never end: not read
                    raise OSError(f"{path} is not a regular file (a FIFO, socket or device)")
            # else a URL: its header read alone (size and mtime would cost a request)
            if frames:  # the header to the pixel data, then where its frames are
                ds, located, why = index_frames(path, strict, storage_options)
                if why is not None:
                    problems = [f"frames: {why}"]
            else:
                ds = _read_file(path, wanted, strict, storage_options)
            defects = ds.defects
            kinds = [d.kind for d in defects] if defects else []
            meta = ds.file_meta
            if meta is not None:
                syntax = meta._values(_TRANSFER_SYNTAX)[0]  # meta.get("TransferSyntaxUID"), one call
            try:
                # the Dataset's compiled lookup of all the tags at once: no DataElement per cell
                found = ds._values(wanted)
                values = _row_cells(found, picks)
            except Exception:  # noqa: BLE001 - a value that does not decode or convert: cell by cell
                values, problems = _cells_one_by_one(ds, plan, problems)
        except Exception as exc:  # noqa: BLE001 - a file never stops the run; its row says why
            # a message may hold the path: make it UTF-8 the same way as the path column
            error, error_type = _utf8(str(exc) or repr(exc)), type(exc).__name__
            values = no_values
            syntax = problems = kinds = located = None
        text = _path_text(path)
        if text is not path:
            problems = ["path: not UTF-8, its undecodable bytes are written \\xNN", *(problems or ())]
        path_col.append(text)
        size_col.append(size)
        mtime_col.append(mtime)
        syntax_col.append(syntax)
        dataset_rows.append(values)
        if frames:
            frame_rows.append(frame_cells(located))
        error_col.append(error)
        type_col.append(error_type)
        warn_col.append("; ".join(problems) if problems else None)
        defects_col.append(kinds)

    dataset_cols = [list(column) for column in zip(*dataset_rows)] if paths else [[] for _ in range(n_dataset)]
    frame_cols = ([list(column) for column in zip(*frame_rows)] if paths else [[] for _ in FRAME_COLUMNS]) if frames else []
    columns = [*columns[:4], *dataset_cols, *frame_cols, *columns[4:]]
    arrays = [_column_array(pa, column, field.type) for field, column in zip(schema, columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _index_chunk_message(paths: list[str], specs: tuple, strict: bool = False, frames: bool = False,
                         storage_options: dict | None = None) -> bytes:
    """:func:`_index_chunk`'s record batch as an Arrow IPC message (without its schema), what a
    worker sends back: unpickling a ``RecordBatch`` costs ten times more (a Python object per array
    and buffer) than reading the message into the known schema (:func:`_batch_of`)."""
    return _index_chunk(paths, specs, strict, frames, storage_options).serialize().to_pybytes()


def _batch_of(pa: Any, schema: Any, message: Any) -> Any:
    """The record batch of a chunk's result: an IPC message of ``schema``, or a batch (``on_crash``'s)."""
    if isinstance(message, pa.RecordBatch):
        return message
    return pa.ipc.read_record_batch(pa.py_buffer(message), schema)


def _picks(specs: tuple, plan: list, wanted: tuple) -> list:
    """For each column of ``specs``: ``(where its value is in ds._values(wanted), text, converter)``;
    ``text``: a plain text column, whose ``str`` cell is itself (null when empty), without a call."""
    where = {tag: k for k, tag in enumerate(wanted)}
    return [(where[tag], kind == "text" and not multi, convert)
            for (_, tag, convert), (_, _, kind, multi) in zip(plan, specs)]


def _row_cells(found: list, picks: list) -> list:
    """A row's cells from its values (``ds._values(wanted)``); a value that does not convert raises."""
    return [None if (value := found[k]) is None else (value or None) if text and type(value) is str
            else convert(value) for k, text, convert in picks]


def _cells_one_by_one(ds: Any, plan: list, problems: list | None) -> tuple[list, list | None]:
    """The cells of ``plan``'s columns for ``ds``, each value looked up, decoded and converted alone:
    a value that does not decode or convert is a null cell, named in ``problems``."""
    # the Dataset's compiled lookups (find, VR, cached value): no DataElement per cell
    find, vr_of, value_of = ds._find, ds._vr, ds._value
    values: list = [None] * len(plan)
    for i, (name, tag, convert) in enumerate(plan):
        where = find(tag)
        if where < 0:
            continue
        try:
            values[i] = convert(value_of(tag, where, vr_of(tag, where)))
        except (ValueError, TypeError, OverflowError) as exc:
            # DicomError is a ValueError: a value that does not decode is a null cell
            problems = (problems or []) + [f"{name}: {exc}"]
    return values, problems


def _crashed_chunk(paths: list[str], specs: tuple, frames: bool = False) -> Any:
    """The rows of files that killed the worker process reading them (a crash in a decoder, the OOM
    killer), twice: only the path and the error (``map_chunks``'s ``on_crash``)."""
    pa = require_pyarrow()
    schema = _schema(specs, frames)
    cells = {"path": paths, "error": ["the worker process died reading this file"] * len(paths),
             "error_type": ["WorkerCrashed"] * len(paths)}
    arrays = [_column_array(pa, cells.get(field.name, [None] * len(paths)), field.type) for field in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _column_array(pa: Any, cells: list, arrow_type: Any) -> Any:
    """The Arrow array of a column's cells (a list), as ``pa.array(cells, type=arrow_type)`` makes it,
    with null for any cell Arrow rejects.

    The index's column types are built from their buffers by :mod:`._arrow` (compiled), which is
    faster than ``pa.array`` and, unlike it, does not import pandas in each worker process; a column
    with a cell that kernel does not take (another type than the column's) goes to ``pa.array``."""
    try:
        return _from_buffers(pa, cells, arrow_type)
    except (TypeError, OverflowError, ValueError):  # UnicodeEncodeError is a ValueError
        pass
    try:
        return pa.array(cells, type=arrow_type)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return _array_cell_by_cell(pa, cells, arrow_type)


@functools.lru_cache(maxsize=None)
def _buffer_kind(arrow_type: Any) -> Any:
    """How :func:`_from_buffers` builds a column of ``arrow_type``: ``"list"``, ``"text"``,
    ``"binary"``, a :func:`._arrow.fixed_column` kind, or None (by ``pa.array``)."""
    pa = require_pyarrow()
    if pa.types.is_list(arrow_type):
        return "list"
    if arrow_type == pa.string():
        return "text"
    if arrow_type == pa.binary():
        return "binary"
    if arrow_type == pa.float64():
        return _arrow.FLOAT64
    if arrow_type == pa.date32():
        return _arrow.INT32
    if (arrow_type == pa.int64() or arrow_type == pa.time64("us") or pa.types.is_timestamp(arrow_type)
            and arrow_type.unit == "us"):
        return _arrow.INT64
    return None


def _from_buffers(pa: Any, cells: list, arrow_type: Any) -> Any:
    kind = _buffer_kind(arrow_type)
    n = len(cells)
    if kind == "list":
        validity, nulls, offsets, items = _arrow.list_column(cells)
        child = _from_buffers(pa, items, arrow_type.value_type)
        buffers = [_buffer(pa, validity), pa.py_buffer(offsets)]
        return pa.Array.from_buffers(arrow_type, n, buffers, nulls, children=[child])
    if kind == "text" or kind == "binary":
        validity, nulls, offsets, data = _arrow.bytes_column(cells, kind == "text")
        buffers = [_buffer(pa, validity), pa.py_buffer(offsets), pa.py_buffer(data)]
        return pa.Array.from_buffers(arrow_type, n, buffers, nulls)
    if kind is None:
        raise TypeError(f"no buffer builder for {arrow_type}")
    validity, nulls, values = _arrow.fixed_column(cells, kind)
    return pa.Array.from_buffers(arrow_type, n, [_buffer(pa, validity), pa.py_buffer(values)], nulls)


def _buffer(pa: Any, data: Any) -> Any:
    return None if data is None else pa.py_buffer(data)


def _array_cell_by_cell(pa: Any, column: list, arrow_type: Any) -> Any:
    """The column with null for any cell Arrow rejects (a safety net: conversions should prevent it)."""
    cells = []
    for value in column:
        try:
            pa.array([value], type=arrow_type)
            cells.append(value)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            cells.append(None)
    return pa.array(cells, type=arrow_type)


# -- walking ---------------------------------------------------------------------------------------


def iter_files(paths: Any, *, recursive: bool = True, hidden: bool = True,
               exclude: Any = None, storage_options: dict | None = None) -> Iterator[str]:
    """The files of ``paths`` (a directory, a file, or an iterable of them) as absolute paths.

    Directories are walked in sorted order, depth first, without following symbolic links to
    directories (so a link loop cannot hang a walk; such a link is not a file either, and is left out).
    A directory that cannot be listed is skipped with a warning naming it. A path that is not a
    directory is yielded as it is, whether or not it exists: its row says. ``hidden=False`` leaves out
    the files and directories of a walk whose names start with a dot (``.DS_Store``, ``.git``);
    ``exclude`` is a directory the walk does not enter (the command line's output directory, when it
    is inside an input). ``storage_options``: the URLs' request options (listings), as
    :func:`dicomfast.dcmread`'s.
    """
    options = check_storage_options(storage_options)
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    skip = os.path.realpath(os.fspath(exclude)) if exclude is not None else None
    for path in paths:
        if is_remote(path):  # a URL: a prefix is listed (one listing), a file is itself
            yield from list_files(path, **options)
            continue
        path = os.path.abspath(os.fsdecode(os.fspath(path)))
        if os.path.isdir(path):
            yield from _walk(path, recursive, hidden, skip)
        else:
            yield path


def _walk(top: str, recursive: bool, hidden: bool = True, skip: str | None = None) -> Iterator[str]:
    # a stack, not recursion: a deep tree cannot exhaust the interpreter's recursion limit
    pending = [top]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:  # permission denied, or removed since it was listed
            warnings.warn(f"{folder} is not indexed: it cannot be listed ({exc})", stacklevel=2)
            continue
        subdirs = []
        for entry in entries:
            if not hidden and entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if skip is None or os.path.realpath(entry.path) != skip:
                        subdirs.append(entry.path)
                    continue
                if entry.is_symlink() and entry.is_dir():
                    continue  # a link to a directory: not followed, and not a file
            except OSError:
                pass  # the row of the path will say what is wrong with it
            yield entry.path
        if recursive:
            pending.extend(reversed(subdirs))  # the first in sorted order is walked next


# -- incremental -----------------------------------------------------------------------------------


def _previous_rows(previous: Any, schema: Any, strict: bool = False) -> Any:
    """``(table, {path: (size, mtime_us, row)})`` of an earlier index that can be reused, or None.
    ``strict``: rows with defects are not reused (a strict read refuses their files)."""
    pa = require_pyarrow()
    if isinstance(previous, (str, os.PathLike)):
        import pyarrow.parquet as pq

        previous = pq.read_table(os.fspath(previous))
    if not isinstance(previous, pa.Table):
        raise TypeError(f"previous is a pyarrow Table or the path of a Parquet file, not {type(previous).__name__}")
    if not previous.schema.equals(schema):
        warnings.warn(
            "the previous index has other columns than this one (other tags?): every file is read again",
            stacklevel=3,
        )
        return None
    sizes = previous.column("file_size").to_pylist()
    mtimes = previous.column("mtime").cast(pa.int64()).to_pylist()
    errors = previous.column("error").to_pylist()
    defects = previous.column(DEFECTS_COLUMN).to_pylist()
    known = {}
    for row, (path, size, mtime, error, kinds) in enumerate(
            zip(previous.column("path").to_pylist(), sizes, mtimes, errors, defects)):
        # a file that failed is read again: the failure may have been passing
        if error is None and not (strict and kinds):
            known[path] = (size, mtime, row)
    return previous, known


# -- the entry point -------------------------------------------------------------------------------


_ROW_GROUP = 32768  # rows per Parquet row group, and the rows held before one is written


def index(
    paths: Any,
    tags: Iterable[Any] = (),
    *,
    workers: int | None = None,
    recursive: bool = True,
    previous: Any = None,
    out: str | os.PathLike | None = None,
    scheduler: Any = None,
    progress: bool = False,
    chunksize: int = DEFAULT_CHUNKSIZE,
    strict: bool = False,
    frames: bool = False,
    storage_options: dict | None = None,
) -> Any:
    """Index DICOM files into a ``pyarrow.Table``, one row per file (``.to_pandas()`` for a DataFrame).

    ``paths`` is a directory (walked, recursively unless ``recursive=False``), a file, or an iterable of
    them; rows hold absolute paths. URLs (``s3://bucket/prefix/``, ``https://...``; fsspec) are read
    by their header alone (a prefix is listed): their ``file_size`` and ``mtime`` are null. ``tags`` (keywords, ints, ``(group, element)`` pairs, ``"(0018,0050)"``) add typed
    columns after the fixed ones (:data:`FILE_COLUMNS`, :data:`DATASET_COLUMNS`), named by keyword
    (``"GGGGEEEE"`` for a private or unknown tag); the types are :func:`column_type`'s.

    A file that cannot be read (not DICOM, unreadable) is a row with its ``error`` (the message) and
    ``error_type`` (the exception's class name, e.g. ``NotDicomError``) and only its file columns; a
    value that does not convert to its column's type is a null cell, named in ``warnings``.

    ``strict=False`` (the default) reads each header as ``dcmread`` does by default: a file with
    defects that pydicom tolerates (one that ends inside a value, say) is a row with what was read and,
    in the last column ``defects``, the kind of each defect (``[]`` for a clean file). ``strict=True``
    reads with ``dcmread(..., strict=True)``: such a file is a row with its error (``TruncatedError``,
    ``DefectError``).

    ``workers``: processes (``None``: one per CPU; ``1``: this process), this process being one of
    them: it forks ``workers - 1`` and reads a share of the chunks itself. ``scheduler``: a
    ``dask.distributed.Client`` or a scheduler address, to run on a Dask cluster (``workers`` ignored).
    ``chunksize`` files go to a worker at a time and come back as one record batch.

    ``frames=True`` adds a frame index (:mod:`dicomfast.collection.frames`): the Image Pixel
    module's columns (``Rows``, ``Columns``, ... ``NumberOfFrames``), then the pixel data's
    ``pixel_data_keyword``, ``pixel_data_vr``, ``pixel_data_offset`` and ``pixel_data_length``,
    ``frame_table`` (how the frames were found: native, extended, basic, fragments) and each frame's
    byte range, ``frame_offsets`` and ``frame_lengths`` (``list<int64>``), from which
    :func:`~dicomfast.read_frames` reads frames with no header read. Each header is then read to the
    pixel data (tags after it are not columns); a file whose frames cannot be located has null frame
    columns and ``warnings`` saying why.

    ``previous``: an earlier index (a Table or a Parquet path) made with the same ``tags``; a file whose
    path, size and modification time are unchanged is not read again, its row is reused (rows with an
    error are always read again).

    ``out``: the path of a Parquet file to write instead of returning a table, for archives too large to
    hold as one: record batches are written as they come (row groups of 32768 rows) and ``index`` returns
    ``None``. The in-memory table is sorted by path; the Parquet file is in walk order, rows reused from
    ``previous`` last. ``progress=True`` shows a tqdm bar if tqdm is installed.

    ``storage_options``: the URLs' request options (their listing and header reads), as
    :func:`dicomfast.dcmread`'s.
    """
    storage_options = check_storage_options(storage_options) or None
    pa = require_pyarrow()
    specs = _columns(tags, frames)
    schema = _schema(specs, frames)

    reused_rows: list[int] = []
    files: Iterable[str] = iter_files(paths, recursive=recursive, storage_options=storage_options)
    old = None
    if previous is not None:
        old = _previous_rows(previous, schema, strict)
    if old is not None:
        files = _changed(files, old[1], reused_rows)

    messages = map_chunks(
        functools.partial(_index_chunk_message, specs=specs, strict=strict, frames=frames,
                          storage_options=storage_options),
        files,
        workers=workers,
        scheduler=scheduler,
        progress="index" if progress is True else progress,
        chunksize=chunksize,
        on_crash=functools.partial(_crashed_chunk, specs=specs, frames=frames),
        caller_share=True,
    )
    batches = (_batch_of(pa, schema, message) for message in messages)

    def reused():
        # after the walk has ended (the generator above is exhausted first)
        for begin in range(0, len(reused_rows), _ROW_GROUP):
            yield old[0].take(reused_rows[begin:begin + _ROW_GROUP]).combine_chunks().to_batches()[0]

    if out is not None:
        _write_parquet(out, schema, batches, reused)
        return None
    table = pa.Table.from_batches([*batches, *reused()], schema=schema)
    return table.sort_by("path").combine_chunks()


def _changed(files: Iterable[str], known: dict, reused_rows: list[int]) -> Iterator[str]:
    """The files to read; the rows of the unchanged ones go to ``reused_rows``."""
    for path in files:
        was = known.get(_path_text(path))
        if was is not None:
            try:
                st = os.stat(path)
            except OSError:
                yield path  # the read records the error
                continue
            if st.st_size == was[0] and st.st_mtime_ns // 1000 == was[1]:
                reused_rows.append(was[2])
                continue
        yield path


def _write_parquet(out: Any, schema: Any, batches: Iterable[Any], reused: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # written beside ``out`` and renamed when complete: a run that fails (or is interrupted) leaves
    # no valid-looking but partial index, and ``out`` may be the ``previous`` index being updated
    out = os.fspath(out)
    partial = f"{out}.partial-{os.getpid()}"
    held: list = []
    rows = 0
    try:
        with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
            for batch in _chain_lazy(batches, reused):
                held.append(batch)
                rows += batch.num_rows
                if rows >= _ROW_GROUP:
                    writer.write_table(pa.Table.from_batches(held, schema=schema), row_group_size=_ROW_GROUP)
                    held, rows = [], 0
            if held:
                writer.write_table(pa.Table.from_batches(held, schema=schema), row_group_size=_ROW_GROUP)
        os.replace(partial, out)
    except BaseException:
        try:
            os.remove(partial)
        except OSError:
            pass
        raise


def _chain_lazy(first: Iterable[Any], then: Any) -> Iterator[Any]:
    yield from first
    yield from then()
