"""Patients, studies and series of an index table (:func:`dicomfast.index`), by UID, never by folder.

    >>> table = dicomfast.index("archive/")
    >>> dicomfast.series_table(table)       # one row per Series Instance UID
    >>> dicomfast.study_table(table)        # one row per Study Instance UID
    >>> dicomfast.patient_table(table)      # one row per Patient ID
    >>> print(dicomfast.format_tree(table)) # patient -> study -> series, with counts

A series is the rows that share a Series Instance UID, wherever their files are: a study or a series
may span folders and a folder may mix them. A patient is a Patient ID (a null Patient ID is one
group of its own). Rows without the level's UID (files that could not be read, a DICOMDIR) are left
out of that level.

When a series was acquired: each instance's time is, in this order of preference,

1. Acquisition DateTime (enhanced multi-frame objects have it);
2. Acquisition Date + Acquisition Time;
3. Content Date + Content Time;

where a time without a date of its own takes the first date present among Acquisition Date, Content
Date, Series Date and Study Date. A series' ``start`` is its earliest instance time and ``end`` its
latest; ``duration`` is ``end - start``, so it measures from the first acquisition to the start of
the last one (a one-instance series lasts 0). A series with no instance time has null ``start``,
``end`` and ``duration``. Times are as written (DICOM times carry no time zone unless the file
says so in Timezone Offset From UTC, which is not applied).
"""

from __future__ import annotations

from typing import Any

from .indexing import require_pyarrow

__all__ = ["series_table", "study_table", "patient_table", "format_tree", "instance_times"]


def _compute():
    require_pyarrow()
    import pyarrow.compute as pc

    return pc


def _combine(date: Any, time: Any) -> Any:
    """date32 + time64[us] -> timestamp[us]; null where either is."""
    pa = require_pyarrow()
    pc = _compute()
    day = date.cast(pa.timestamp("us"))
    since_midnight = time.cast(pa.int64()).cast(pa.duration("us"))
    return pc.add(day, since_midnight)


def instance_times(table: Any) -> Any:
    """Each row's acquisition time as ``timestamp[us]`` (see the module for the order of preference)."""
    pc = _compute()
    t = table
    any_date = pc.coalesce(t["acquisition_date"], t["content_date"], t["series_date"], t["study_date"])
    acquired = _combine(pc.coalesce(t["acquisition_date"], any_date), t["acquisition_time"])
    content = _combine(pc.coalesce(t["content_date"], any_date), t["content_time"])
    return pc.coalesce(t["acquisition_datetime"], acquired, content)


def _with_times(table: Any, level: str) -> Any:
    """The rows that have ``level``'s UID, with their instance time as column ``_time``."""
    pc = _compute()
    rows = table.filter(pc.is_valid(table[level]))
    return rows.append_column("_time", instance_times(rows))


def _aggregate(rows: Any, key: str, spec: list) -> Any:
    """Group ``rows`` by ``key``; ``spec`` is ``[(source column, aggregation, output name)]``."""
    grouped = rows.group_by(key, use_threads=False).aggregate([(c, agg) for c, agg, _ in spec])
    # Arrow names the results "<column>_<aggregation>": rename them, key last -> in spec order
    names = [f"{c}_{agg}" for c, agg, _ in spec]
    return grouped.select(names + [key]).rename_columns([out for _, _, out in spec] + [key])


def _with_duration(table: Any) -> Any:
    """``duration`` (``duration[us]``), and ``duration_seconds`` (float64), which Arrow can sum."""
    pa = require_pyarrow()
    pc = _compute()
    duration = pc.subtract(table["end"], table["start"])
    seconds = pc.divide(duration.cast(pa.int64()).cast(pa.float64()), 1e6)
    return table.append_column("duration", duration).append_column("duration_seconds", seconds)


def series_table(table: Any) -> Any:
    """One row per series of an index table: identifiers, labels, counts and acquisition times.

    Columns: ``patient_id``, ``patient_name``, ``study_instance_uid``, ``study_date``,
    ``series_instance_uid``, ``series_number``, ``modality``, ``series_description``, ``series_date``,
    ``series_time``, ``n_instances`` (distinct SOP Instance UIDs), ``n_files`` (rows: more than
    ``n_instances`` when an instance is stored twice), ``start``, ``end`` (``timestamp[us]``),
    ``duration`` (``duration[us]``) and ``duration_seconds`` (``float64``: Arrow's group-by sums it,
    not durations). Sorted by patient, study date, study and series number.

    A per-patient scan-duration analysis::

        table = dicomfast.index("archive/")
        series = dicomfast.series_table(table)
        series.group_by("patient_id").aggregate([("duration_seconds", "sum"), ("series_instance_uid", "count")])
    """
    rows = _with_times(table, "series_instance_uid")
    out = _aggregate(rows, "series_instance_uid", [
        ("patient_id", "min", "patient_id"),
        ("patient_name", "min", "patient_name"),
        ("study_instance_uid", "min", "study_instance_uid"),
        ("study_date", "min", "study_date"),
        ("series_number", "min", "series_number"),
        ("modality", "min", "modality"),
        ("series_description", "min", "series_description"),
        ("series_date", "min", "series_date"),
        ("series_time", "min", "series_time"),
        ("sop_instance_uid", "count_distinct", "n_instances"),
        ("path", "count", "n_files"),
        ("_time", "min", "start"),
        ("_time", "max", "end"),
    ])
    names = out.column_names
    order = names[:4] + ["series_instance_uid"] + names[4:-1]
    out = _with_duration(out.select(order))
    return out.sort_by([("patient_id", "ascending"), ("study_date", "ascending"),
                        ("study_instance_uid", "ascending"), ("series_number", "ascending"),
                        ("series_instance_uid", "ascending")])


def study_table(table: Any) -> Any:
    """One row per study of an index table.

    Columns: ``patient_id``, ``patient_name``, ``study_instance_uid``, ``study_date``, ``study_time``,
    ``study_description``, ``modalities`` (the distinct modalities, sorted), ``n_series``,
    ``n_instances``, ``n_files``, ``start``, ``end``, ``duration``, ``duration_seconds`` (first to
    last instance of all its series).
    Sorted by patient and study date.
    """
    rows = _with_times(table, "study_instance_uid")
    out = _aggregate(rows, "study_instance_uid", [
        ("patient_id", "min", "patient_id"),
        ("patient_name", "min", "patient_name"),
        ("study_date", "min", "study_date"),
        ("study_time", "min", "study_time"),
        ("study_description", "min", "study_description"),
        ("modality", "distinct", "modalities"),
        ("series_instance_uid", "count_distinct", "n_series"),
        ("sop_instance_uid", "count_distinct", "n_instances"),
        ("path", "count", "n_files"),
        ("_time", "min", "start"),
        ("_time", "max", "end"),
    ])
    out = out.set_column(out.column_names.index("modalities"), "modalities", _sorted_lists(out["modalities"]))
    names = out.column_names
    out = _with_duration(out.select(names[:2] + ["study_instance_uid"] + names[2:-1]))
    return out.sort_by([("patient_id", "ascending"), ("study_date", "ascending"),
                        ("study_instance_uid", "ascending")])


def _sorted_lists(column: Any) -> Any:
    """Each list sorted, nulls dropped (Arrow's "distinct" keeps first-seen order)."""
    pa = require_pyarrow()
    return pa.array([sorted(v for v in values if v is not None) if values is not None else None
                     for values in column.to_pylist()], type=pa.list_(pa.string()))


def patient_table(table: Any) -> Any:
    """One row per patient (Patient ID) of an index table.

    Columns: ``patient_id``, ``patient_name``, ``n_studies``, ``n_series``, ``n_instances``,
    ``n_files``, ``first_study_date``, ``last_study_date``. Only rows with a Study Instance UID count.
    Sorted by Patient ID.
    """
    rows = _with_times(table, "study_instance_uid")
    out = _aggregate(rows, "patient_id", [
        ("patient_name", "min", "patient_name"),
        ("study_instance_uid", "count_distinct", "n_studies"),
        ("series_instance_uid", "count_distinct", "n_series"),
        ("sop_instance_uid", "count_distinct", "n_instances"),
        ("path", "count", "n_files"),
        ("study_date", "min", "first_study_date"),
        ("study_date", "max", "last_study_date"),
    ])
    names = out.column_names
    out = out.select([names[-1]] + names[:-1])
    return out.sort_by([("patient_id", "ascending")])


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _duration_text(value: Any) -> str:
    seconds = int(round(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _label(*parts: Any) -> str:
    return "  ".join(str(p) for p in parts if p not in (None, ""))


def format_tree(table: Any, *, uids: bool = False) -> str:
    """The hierarchy of an index table as text: patient -> study -> series, with counts.

    ``uids=True`` shows the Study and Series Instance UIDs too. The last lines count the files read
    with defects (:mod:`dicomfast.defects`: their values are as pydicom reads them, a value cut short
    included), by defect kind, and the files that could not be read, by error type. This is what
    ``dicomfast tree DIR`` prints::

        PAT-001  DOE^JANE  (2 studies, 4 series, 18 instances)
        ├── 2024-01-05  CT CHEST  (2 series, 10 instances)
        │   ├── #1 CT  AXIAL 5MM  (6 instances, 0:36)
        │   └── #2 CT  AXIAL LUNG  (4 instances, 0:22)
        └── ...
        1 file read with defects (value_truncated 1)
        4 files could not be read (NotDicomError 4)
    """
    pc = _compute()
    studies_of: dict = {}
    for study in study_table(table).to_pylist():
        studies_of.setdefault(study["patient_id"], []).append(study)
    series_of: dict = {}
    for one in series_table(table).to_pylist():
        series_of.setdefault(one["study_instance_uid"], []).append(one)

    lines = []
    for patient in patient_table(table).to_pylist():
        pid = patient["patient_id"] if patient["patient_id"] is not None else "(no Patient ID)"
        counts = (f"({_count(patient['n_studies'], 'study', 'studies')}, {_count(patient['n_series'], 'series', 'series')}, "
                  f"{_count(patient['n_instances'], 'instance')})")
        lines.append(_label(pid, patient["patient_name"], counts))
        studies = studies_of.get(patient["patient_id"], [])
        for i, study in enumerate(studies):
            last = i == len(studies) - 1
            counts = f"({_count(study['n_series'], 'series', 'series')}, {_count(study['n_instances'], 'instance')})"
            lines.append(("└── " if last else "├── ") + _label(
                study["study_date"] or "(no date)", study["study_description"],
                study["study_instance_uid"] if uids else None, counts))
            rows = series_of.get(study["study_instance_uid"], [])
            for j, one in enumerate(rows):
                branch = ("    " if last else "│   ") + ("└── " if j == len(rows) - 1 else "├── ")
                number = f"#{one['series_number']}" if one["series_number"] is not None else None
                took = f", {_duration_text(one['duration'])}" if one["duration"] is not None else ""
                lines.append(branch + _label(
                    f"{number} {one['modality'] or '??'}" if number else one["modality"] or "??",
                    one["series_description"], one["series_instance_uid"] if uids else None,
                    f"({_count(one['n_instances'], 'instance')}{took})"))
    if "defects" in table.column_names:  # (an index written before the column was added has none)
        with_defects = table.filter(pc.fill_null(pc.greater(pc.list_value_length(table["defects"]), 0), False))
        if with_defects.num_rows:
            counts = pc.value_counts(pc.list_flatten(with_defects["defects"])).to_pylist()
            kinds = ", ".join(f"{c['values']} {c['counts']}" for c in sorted(counts, key=lambda c: c["values"]))
            lines.append(f"{_count(with_defects.num_rows, 'file')} read with defects ({kinds})")
    failed = table.filter(pc.is_valid(table["error"]))
    if failed.num_rows:
        counts = failed.group_by("error_type").aggregate([("path", "count")]).to_pylist()
        kinds = ", ".join(f"{c['error_type']} {c['path_count']}" for c in sorted(counts, key=lambda c: c["error_type"]))
        lines.append(f"{_count(failed.num_rows, 'file')} could not be read ({kinds})")
    return "\n".join(lines) + "\n" if lines else "no DICOM files\n"
