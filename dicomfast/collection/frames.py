"""The frame index: where every frame of a file is, as columns of ``index(..., frames=True)``, and
:func:`read_frames`, which reads chosen frames from an index row alone.

    >>> table = dicomfast.index("s3://bucket/slides/", frames=True)
    >>> row = table.slice(0, 1)
    >>> tiles = dicomfast.read_frames(row, [40, 41, 42, 97])   # two range requests, no header read

The columns are found from each file's header read (:func:`dicomfast.pixels.fileread.frame_index`):
native data by arithmetic, encapsulated data by the Extended or Basic Offset Table when it is
consistent, else by walking the fragments' item headers. The Image Pixel module's values are
columns too (named by keyword, typed by the dictionary), so that a row is all that ``read_frames``
needs: it checks them as ``pixel_array`` checks a dataset's (:func:`~dicomfast.pixels.module.info_from_values`).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import FrameIndexError
from ..pixels.fileread import FrameIndex, frame_index, read_frame_ranges
from ..pixels.module import PixelValues, info_from_values
from ..reader import read_header_source
from ..sources import open_source, source_of

__all__ = ["FRAME_TAGS", "FRAME_COLUMNS", "frame_columns", "frame_cells", "index_frames", "read_frames"]

#: The Image Pixel module's columns of a frame index, ``(keyword, PixelValues field)``: typed as any
#: tag column (:func:`~dicomfast.collection.indexing.column_type`).
FRAME_TAGS = (
    ("Rows", "rows"),
    ("Columns", "columns"),
    ("SamplesPerPixel", "samples_per_pixel"),
    ("BitsAllocated", "bits_allocated"),
    ("BitsStored", "bits_stored"),
    ("PixelRepresentation", "pixel_representation"),
    ("PhotometricInterpretation", "photometric_interpretation"),
    ("PlanarConfiguration", "planar_configuration"),
    ("NumberOfFrames", "number_of_frames"),
)

#: The frame index's own columns, after the tag columns: the pixel data element (``keyword``,
#: ``vr``, value ``offset`` and ``length``), how the frames were found (``frame_table``: native,
#: extended, basic, fragments) and each frame's byte range (``frame_offsets``, ``frame_lengths``;
#: a null length: to the end of the file). Null for a file whose frames cannot be located (its
#: ``warnings`` say why) or that has no pixel data.
FRAME_COLUMNS = ("pixel_data_keyword", "pixel_data_vr", "pixel_data_offset", "pixel_data_length",
                 "frame_table", "frame_offsets", "frame_lengths")


def frame_columns(pa: Any) -> list:
    """The Arrow fields of :data:`FRAME_COLUMNS`."""
    return [pa.field("pixel_data_keyword", pa.string()), pa.field("pixel_data_vr", pa.string()),
            pa.field("pixel_data_offset", pa.int64()), pa.field("pixel_data_length", pa.int64()),
            pa.field("frame_table", pa.string()), pa.field("frame_offsets", pa.list_(pa.int64())),
            pa.field("frame_lengths", pa.list_(pa.int64()))]


def index_frames(path: Any, strict: bool = False, storage_options: dict | None = None) -> tuple[Any, FrameIndex | None, str | None]:
    """``(header, frame index, why not)`` of the file at ``path`` (a path or URL): the header read
    (to the pixel data), and where its frames are (None, with the reason, when they cannot be
    located; None without a reason when there is no pixel data). ``storage_options``: as
    :func:`dicomfast.dcmread`'s."""
    source = open_source(source_of(path, storage_options))
    try:
        ds = read_header_source(source, strict=strict)
        try:
            return ds, frame_index(ds, source), None
        except FrameIndexError as exc:
            has_pixels = any(tag in ds for tag in (0x7FE00008, 0x7FE00009, 0x7FE00010))
            if "no pixel data where the header ends" in str(exc) and not has_pixels:
                return ds, None, None
            return ds, None, str(exc)
        except ValueError as exc:  # the pixel checks (DicomError is a ValueError)
            return ds, None, str(exc)
    finally:
        source.close()


def frame_cells(found: FrameIndex | None) -> list:
    """The cells of :data:`FRAME_COLUMNS` for one file."""
    if found is None:
        return [None] * len(FRAME_COLUMNS)
    return [found.keyword, found.vr, found.pixel_data_offset, found.pixel_data_length, found.table,
            found.offsets, found.lengths]


def _as_row(row: Any) -> Mapping:
    if hasattr(row, "to_pylist"):  # a pyarrow Table or RecordBatch of one row
        rows = row.to_pylist()
        if len(rows) != 1:
            raise ValueError(f"read_frames takes one index row, not {len(rows)}")
        return rows[0]
    if hasattr(row, "to_dict") and not isinstance(row, Mapping):  # a pandas Series
        return row.to_dict()
    if not isinstance(row, Mapping):
        raise TypeError(f"an index row is a mapping, a one-row Arrow table or a pandas Series, not {type(row).__name__}")
    return row


def read_frames(index_row: Any, frames: Sequence[int], *, as_rgb: bool = True,
                decoder: str | None = None, storage_options: dict | None = None) -> list[np.ndarray]:
    """Frames ``frames`` of the file of ``index_row`` (a row of ``index(..., frames=True)``: a dict,
    a one-row Arrow table or a pandas Series), as ``pixel_array(path, frame=k)`` gives them.

    No header is read: the row's Image Pixel columns are checked as a dataset's would be, and each
    run of neighbouring frames is one read (one range request for a URL; the runs concurrently),
    decoded through the codec registry (``decoder``: a backend name, as ``pixel_array``). A row
    without a frame index (or made without ``frames=True``) is a :class:`~dicomfast.FrameIndexError`;
    a file changed since it was indexed gives wrong frames or a decoding error: the index holds
    offsets, not checksums. ``storage_options``: the URL's request options, as :func:`dicomfast.dcmread`'s.
    """
    row = _as_row(index_row)
    path = row.get("path")
    if row.get("frame_table") is None:
        why = row.get("warnings") or row.get("error") or "made without frames=True, or the file has no pixel data"
        raise FrameIndexError(f"{path}: the index row has no frame index ({why})")
    syntax = row.get("transfer_syntax")
    values = PixelValues(syntax, *(row.get(keyword) for keyword, _ in FRAME_TAGS))
    table = row["frame_table"]
    info = info_from_values(values, row["pixel_data_keyword"], encapsulated=table != "native",
                            length=row["pixel_data_length"] or 0, vr=row["pixel_data_vr"])
    return read_frame_ranges(source_of(path, storage_options), info, table, list(row["frame_offsets"]), list(row["frame_lengths"]),
                             frames, as_rgb=as_rgb, decoder=decoder)
