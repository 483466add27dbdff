"""A series of slices (or the frames of an enhanced multi-frame image) as one Volume.

``load_series`` reads the headers first (in threads), sorts the slices by their position along the
slice normal, checks that they make one regular volume, and only then reads the pixel data, each
file straight into its slot of one preallocated (z, y, x) array, in threads (the read and the
pixel transforms release the GIL).

Axis conventions (docs/volumes.md has the full page):

* ``Volume.array[k, j, i]``: ``k`` the slice (along the normal), ``j`` the row, ``i`` the column.
  ``spacing`` is in the same (z, y, x) order.
* ``affine`` (``affine_lps``) maps ``(i, j, k, 1)``, the array's indices in reverse order, to
  patient coordinates in mm (LPS, DICOM's). ``affine_ras`` is the same map into RAS (NIfTI's).
  ``direction``'s columns are the unit vectors of ``i``, ``j`` and ``k`` in LPS: the row direction
  (the first three values of Image Orientation (Patient)), the column direction, and their cross
  product, the slice normal.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence

import numpy as np

from . import threads as _threads
from ..dataset import Dataset
from ..errors import (
    DicomError,
    DuplicateSliceError,
    FileReadError,
    InconsistentSliceError,
    MissingGeometryError,
    MixedSeriesError,
    NotDicomError,
    SeriesError,
    SliceSpacingError,
)
from ..pixels import allocate, check_claimed_size, fill, functional_item, is_enhanced, output_dtype, read_dataset, stored_dtype, pixel_info
from ..reader import dcmread
from ..sources import check_storage_options, is_remote, list_files, open_source, source_of

__all__ = ["load_series", "Volume"]

#: Image Orientation (Patient) values of two slices may differ by this much (about 0.06 degree).
ORIENTATION_TOLERANCE = 1e-3
#: A step between slices may differ from the series' median step by this fraction of it.
SPACING_TOLERANCE = 0.1
#: Slices closer than this fraction of the median step (or 1e-4 mm) are at the same position.
DUPLICATE_TOLERANCE = 0.01
#: The slice step may leave the normal by this fraction of its length (about 0.6 degree).
TILT_TOLERANCE = 0.01
#: Pixel Spacing values of two slices may differ by this fraction.
PIXEL_SPACING_TOLERANCE = 1e-3

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(repr=False, eq=False)
class Volume:
    """A regular 3-D image in patient space: the pixel data of a series, sorted along its normal.

    ``array`` is (z, y, x): slices, rows, columns. ``spacing`` is (z, y, x) in mm: the distance
    between slice planes, between rows (Pixel Spacing[0]) and between columns (Pixel Spacing[1]).
    ``origin`` is the LPS position (mm) of the centre of voxel ``array[0, 0, 0]``. ``direction``
    is 3 x 3; its columns are the LPS unit vectors along x (the row direction), y (the column
    direction) and z (the slice normal). ``affine`` (= ``affine_lps``) and ``affine_ras`` map
    voxel indices in (x, y, z) = (i, j, k) order, the reverse of ``array``'s, to mm.
    ``datasets`` and ``paths`` are the headers and files in slice order (``frames``: the frame of
    each slice in its file, ``None`` for single-frame files; ``paths`` holds ``None`` for a slice
    given as a Dataset).
    """

    array: np.ndarray
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: np.ndarray
    affine_lps: np.ndarray
    datasets: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    frames: list = field(default_factory=list)
    rescaled: bool = True
    series_instance_uid: str | None = None
    study_instance_uid: str | None = None
    frame_of_reference_uid: str | None = None
    modality: str | None = None
    series_description: str | None = None
    series_number: int | None = None
    patient_id: str | None = None

    @property
    def affine(self) -> np.ndarray:
        """The LPS affine (DICOM's patient coordinates); see :attr:`affine_ras` for NIfTI's."""
        return self.affine_lps

    @property
    def affine_ras(self) -> np.ndarray:
        """The 4 x 4 map of (i, j, k, 1) to RAS mm: the LPS affine with x and y negated."""
        return _LPS_TO_RAS @ self.affine_lps

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.array.shape

    def __len__(self) -> int:
        return self.array.shape[0]

    def __repr__(self) -> str:
        z, y, x = self.spacing
        return (f"<Volume {self.modality or '?'} {self.array.shape[0]}x{self.array.shape[1]}x"
                f"{self.array.shape[2]} (z, y, x) {self.array.dtype}, spacing {z:g} x {y:g} x {x:g} mm, "
                f"series {self.series_instance_uid}>")

    # -- NIfTI -------------------------------------------------------------------------------

    def to_nibabel(self):
        """A ``nibabel.Nifti1Image`` of the volume: data in (x, y, z) order (a transposed view of
        ``array``, no copy) with :attr:`affine_ras` as both its qform and sform (scanner
        coordinates), units mm. Needs ``pip install dicomfast[nifti]``."""
        nib = _nibabel()
        img = nib.Nifti1Image(self.array.transpose(2, 1, 0), self.affine_ras)
        img.header.set_qform(self.affine_ras, code=1)
        img.header.set_sform(self.affine_ras, code=1)
        img.header.set_xyzt_units(xyz="mm")
        return img

    def to_nifti(self, path: str | os.PathLike) -> None:
        """Write the volume as NIfTI-1 (``.nii`` or ``.nii.gz``); see :meth:`to_nibabel`."""
        _nibabel().save(self.to_nibabel(), os.fspath(path))


def _nibabel():
    try:
        import nibabel
    except ImportError as exc:
        raise ImportError(
            "NIfTI export needs nibabel: pip install 'dicomfast[nifti]' (or pip install nibabel)") from exc
    return nibabel


# ---------------------------------------------------------------------------------------------
# sources


def _missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)


def table_columns(table: Any, names: Sequence[str]) -> dict | None:
    """Columns of a pyarrow Table or pandas DataFrame as lists (only those present), or None if
    ``table`` is neither. Neither library is imported here."""
    if hasattr(table, "column_names") and hasattr(table, "column"):  # pyarrow.Table
        present = set(table.column_names)
        return {n: table.column(n).to_pylist() for n in names if n in present}
    if hasattr(table, "columns") and hasattr(table, "iloc"):  # pandas.DataFrame
        present = set(table.columns)
        return {n: table[n].tolist() for n in names if n in present}
    return None


def readable_rows(errors: list | None, n: int) -> list[int]:
    """The rows of an index table (``n`` rows, ``errors`` its ``error`` column or None) that
    have no error: those load_series and DicomDataset read."""
    return list(range(n)) if errors is None else [i for i in range(n) if _missing(errors[i])]


def table_paths(table: Any, series_uid: str | None = None) -> tuple[list[str], list] | None:
    """(paths, series UIDs or None) of an index table's readable rows (those without an
    ``error``), filtered by ``series_uid`` when the table has a ``series_instance_uid`` column."""
    cols = table_columns(table, ("path", "series_instance_uid", "error"))
    if cols is None:
        return None
    if "path" not in cols:
        raise ValueError("an index table needs a 'path' column")
    paths = cols["path"]
    uids = cols.get("series_instance_uid")
    errors = cols.get("error")
    keep = readable_rows(errors, len(paths))
    if uids is not None and series_uid is not None:
        keep = [i for i in keep if uids[i] == series_uid]
    return [os.fspath(paths[i]) for i in keep], (None if uids is None else [uids[i] for i in keep])


def _walk(directory: str) -> list[str]:
    out = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        out.extend(os.path.join(root, name) for name in sorted(files))
    return out


def _inputs(source: Any, series_uid: str | None, options: dict) -> tuple[list, bool]:
    """(paths or Datasets, from_directory). Files found by walking a directory that are not
    DICOM images are skipped later; given files must all be good."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if is_remote(path):  # a URL: a prefix is listed, a file is itself
            files = list_files(path, **options)
            return files, len(files) > 1 or files[0] != path
        if os.path.isdir(path):
            return _walk(path), True
        return [path], False
    if isinstance(source, Dataset):
        return [source], False
    rows = table_paths(source, series_uid)
    if rows is not None:
        paths, uids = rows
        if uids is not None and series_uid is None:
            present = {u for u in uids if not _missing(u)}
            if len(present) > 1:
                counts = {u: uids.count(u) for u in sorted(present)}
                raise MixedSeriesError(_mixed_message(counts), counts)
        return paths, False
    if isinstance(source, (bytes, bytearray)) or not hasattr(source, "__iter__"):
        raise TypeError(
            "load_series reads a directory, a file, a list of paths or Datasets, or an index table "
            f"(pyarrow Table or pandas DataFrame with a 'path' column), not {type(source).__name__}")
    items = list(source)
    for item in items:
        if isinstance(item, (str, os.PathLike)):
            continue
        if isinstance(item, Dataset):
            continue  # one without pixel data fails in the pixel pass, naming it
        raise TypeError(f"load_series takes paths or dicomfast Datasets, not {type(item).__name__}")
    return items, False


def _mixed_message(counts: dict) -> str:
    listed = ", ".join(f"{uid} ({n} instance{'s' if n != 1 else ''})" for uid, n in counts.items())
    return f"the input holds {len(counts)} series: pass series_uid= one of {listed}"


def _where(path: Any, index: int) -> str:
    return os.fspath(path) if path is not None else f"dataset {index}"


def _wrap(exc: BaseException, path: Any, index: int) -> FileReadError:
    text = str(exc)
    where = _where(path, index)
    message = text if path is not None and where in text else f"{where}: {text}"
    return FileReadError(message, path=None if path is None else os.fspath(path), index=index)


# ---------------------------------------------------------------------------------------------
# geometry


class _Slice(NamedTuple):
    item: int                     # index into the inputs
    frame: int | None             # frame of an enhanced multi-frame file, None otherwise
    position: np.ndarray          # Image Position (Patient), mm
    row: np.ndarray               # unit row direction (first triplet of Image Orientation (Patient))
    col: np.ndarray               # unit column direction
    pixel_spacing: tuple          # (between rows, between columns), mm
    rows: int
    columns: int
    thickness: float | None       # Spacing Between Slices, else Slice Thickness: for one slice only


def _vector(value: Any, n: int, what: str, where: str) -> np.ndarray:
    if value is None:
        raise MissingGeometryError(f"{where}: no {what}")
    if not isinstance(value, list) or len(value) != n:
        raise MissingGeometryError(f"{where}: {what} must have {n} values, not {value!r}")
    try:
        arr = np.array([float(v) for v in value])
    except (TypeError, ValueError):
        raise MissingGeometryError(f"{where}: {what} has values that are not numbers: {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise MissingGeometryError(f"{where}: {what} is not finite: {value!r}")
    return arr


def _orientation(value: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    iop = _vector(value, 6, "Image Orientation (Patient)", where)
    row, col = iop[:3], iop[3:]
    nr, nc = np.linalg.norm(row), np.linalg.norm(col)
    if nr < 0.5 or nc < 0.5 or abs(float(row @ col)) / (nr * nc) > ORIENTATION_TOLERANCE * 10:
        raise MissingGeometryError(
            f"{where}: Image Orientation (Patient) {value!r} is not two orthogonal directions")
    return row / nr, col / nc


def _first_number(*values: Any) -> float | None:
    for v in values:
        if isinstance(v, list):
            v = v[0] if v else None
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
            return float(v)
    return None


def _slices_of(ds: Any, item: int, where: str) -> list[_Slice]:
    rows, columns = ds.get("Rows"), ds.get("Columns")
    if not isinstance(rows, int) or not isinstance(columns, int) or rows < 1 or columns < 1:
        raise MissingGeometryError(f"{where}: no valid Rows / Columns ({rows!r}, {columns!r})")
    samples = ds.get("SamplesPerPixel") or 1
    if samples != 1:
        raise InconsistentSliceError(f"{where}: {samples} samples per pixel: a volume is read from monochrome images")
    nframes = ds.get("NumberOfFrames")
    nframes = nframes if isinstance(nframes, int) and nframes > 0 else 1
    if not is_enhanced(ds):
        if nframes > 1:
            raise MissingGeometryError(
                f"{where}: {nframes} frames but no functional groups: no per-frame positions")
        row, col = _orientation(ds.get("ImageOrientationPatient"), where)
        return [_Slice(
            item, None, _vector(ds.get("ImagePositionPatient"), 3, "Image Position (Patient)", where),
            row, col, tuple(_vector(ds.get("PixelSpacing"), 2, "Pixel Spacing", where)), rows, columns,
            _first_number(ds.get("SpacingBetweenSlices"), ds.get("SliceThickness")))]
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if nframes > 1 and len(per_frame) != nframes:
        # PS3.3 C.7.6.16: one item per frame. Also bounds the loop below by what the file holds,
        # not by a Number of Frames that a compressed file's header may inflate at will.
        raise MissingGeometryError(
            f"{where}: Number of Frames is {nframes} but the Per-Frame Functional Groups Sequence has "
            f"{len(per_frame)} item(s): no position for every frame")
    out = []
    for k in range(nframes):
        here = f"{where} frame {k}"
        pos = functional_item(ds, "PlanePositionSequence", k)
        ori = functional_item(ds, "PlaneOrientationSequence", k)
        meas = functional_item(ds, "PixelMeasuresSequence", k)
        row, col = _orientation(
            ori.get("ImageOrientationPatient") if ori is not None else ds.get("ImageOrientationPatient"), here)
        position = _vector(pos.get("ImagePositionPatient") if pos is not None else None, 3,
                           "Image Position (Patient) (Plane Position Sequence)", here)
        spacing = meas.get("PixelSpacing") if meas is not None else ds.get("PixelSpacing")
        thickness = _first_number(
            meas.get("SpacingBetweenSlices") if meas is not None else None, ds.get("SpacingBetweenSlices"),
            meas.get("SliceThickness") if meas is not None else None, ds.get("SliceThickness"))
        out.append(_Slice(item, k, position, row, col, tuple(_vector(spacing, 2, "Pixel Spacing", here)),
                          rows, columns, thickness))
    return out


class _Geometry(NamedTuple):
    order: list[int]              # indices into the slice list, in volume order
    spacing: tuple                # (z, y, x)
    origin: np.ndarray
    direction: np.ndarray
    affine: np.ndarray


def _geometry(slices: list[_Slice], names: list[str], check: bool) -> _Geometry:
    first = slices[0]
    name = lambda s: names[s.item] + (f" frame {s.frame}" if s.frame is not None else "")  # noqa: E731
    for s in slices[1:]:
        if (s.rows, s.columns) != (first.rows, first.columns):
            raise InconsistentSliceError(
                f"slices differ in size: {name(first)} is {first.rows} x {first.columns}, "
                f"{name(s)} is {s.rows} x {s.columns}")
        if (np.max(np.abs(s.row - first.row)) > ORIENTATION_TOLERANCE
                or np.max(np.abs(s.col - first.col)) > ORIENTATION_TOLERANCE):
            raise InconsistentSliceError(
                f"slices differ in orientation: {name(first)} has row/column directions "
                f"{np.round(np.r_[first.row, first.col], 6).tolist()}, {name(s)} has "
                f"{np.round(np.r_[s.row, s.col], 6).tolist()}")
        if check and not np.allclose(s.pixel_spacing, first.pixel_spacing, rtol=PIXEL_SPACING_TOLERANCE, atol=0):
            raise InconsistentSliceError(
                f"slices differ in Pixel Spacing: {name(first)} has {list(first.pixel_spacing)}, "
                f"{name(s)} has {list(s.pixel_spacing)} (check=False uses the first slice's, in slice order)")
    row, col = first.row, first.col
    normal = np.cross(row, col)
    normal /= np.linalg.norm(normal)
    distance = np.array([s.position @ normal for s in slices])
    order = sorted(range(len(slices)), key=lambda i: distance[i])  # stable: ties keep input order
    d = distance[order]
    n = len(slices)
    dy, dx = slices[order[0]].pixel_spacing
    if n == 1:
        dz = first.thickness or 1.0
        step = normal * dz
    else:
        steps = np.diff(d)
        positive = steps[steps > 1e-4]
        median = float(np.median(positive)) if positive.size else 0.0
        dup_limit = max(1e-4, DUPLICATE_TOLERANCE * median)
        if check:
            for k in np.flatnonzero(steps < dup_limit):
                a, b = slices[order[k]], slices[order[k + 1]]
                raise DuplicateSliceError(
                    f"{name(a)} and {name(b)} are at the same position ({d[k]:.4f} mm along the "
                    f"slice normal; {b.position.tolist()})")
            bad = np.flatnonzero(np.abs(steps - median) > SPACING_TOLERANCE * median)
            if bad.size:
                k = int(bad[0])
                a, b = slices[order[k]], slices[order[k + 1]]
                ratio = steps[k] / median
                hint = ""
                if round(ratio) >= 2 and abs(ratio - round(ratio)) < SPACING_TOLERANCE:
                    hint = f": {round(ratio) - 1} missing slice(s)?"
                raise SliceSpacingError(
                    f"irregular slice spacing: {name(a)} and {name(b)} are {steps[k]:.4f} mm apart, "
                    f"the series' step is {median:.4f} mm{hint} ({len(bad)} irregular step(s); "
                    "check=False loads the slices as they are)")
        dz = float((d[-1] - d[0]) / (n - 1))
        if dz <= 0:
            raise DuplicateSliceError("all slices are at the same position along the slice normal")
        # the mean step vector: along the normal for a regular stack, sheared for a tilted one
        step = (slices[order[-1]].position - slices[order[0]].position) / (n - 1)
        if check:
            off = step - (step @ normal) * normal
            if np.linalg.norm(off) > TILT_TOLERANCE * abs(step @ normal):
                angle = math.degrees(math.atan2(np.linalg.norm(off), abs(step @ normal)))
                raise SliceSpacingError(
                    f"the slices are not stacked along their normal (sheared by {angle:.2f} degrees, "
                    "e.g. gantry tilt): check=False gives a sheared affine")
    origin = slices[order[0]].position
    direction = np.column_stack([row, col, normal])
    affine = np.eye(4)
    affine[:3, 0] = row * dx
    affine[:3, 1] = col * dy
    affine[:3, 2] = step
    affine[:3, 3] = origin
    return _Geometry(order, (float(dz), float(dy), float(dx)), origin, direction, affine)


# ---------------------------------------------------------------------------------------------
# load_series


def load_series(
    source: Any,
    *,
    rescale: bool = True,
    dtype: Any = None,
    series_uid: str | None = None,
    workers: int | None = None,
    check: bool = True,
    strict: bool = False,
    storage_options: dict | None = None,
) -> Volume:
    """Read a series into a :class:`Volume`: the slices sorted along their normal, one array.

    ``source`` is a directory (walked recursively; files that are not DICOM images are skipped),
    a file (an enhanced multi-frame image), a list of paths or of dicomfast Datasets (read with
    their pixel data), or index rows: a pyarrow Table or pandas DataFrame with a ``path`` column
    (rows with an ``error`` are skipped). When the input holds several series, ``series_uid``
    chooses one; without it that is a :class:`~dicomfast.errors.MixedSeriesError` listing them.

    ``rescale`` applies the modality LUT (Rescale Slope / Intercept, per slice or per frame):
    Hounsfield units for CT. ``dtype`` is the array's dtype: float32 by default, the stored
    values' with ``rescale=False``. Integer dtypes get rounded values that must fit.

    The slices are ordered by Image Position (Patient) projected on the normal of Image
    Orientation (Patient), never by Instance Number. Errors, all :class:`~dicomfast.errors.SeriesError`:
    missing geometry, mixed sizes or orientations, and with ``check`` (the default) duplicate
    positions, gaps and irregular spacing, mixed pixel spacing and slices not stacked along their
    normal. ``check=False`` loads such series as they are (spacing: the mean step). A file that
    cannot be read raises :class:`~dicomfast.errors.FileReadError` naming it.

    ``workers`` threads read the files (default: twice the cores, at most 16; 1 reads in the
    calling thread). ``strict=True`` reads them with ``dcmread(..., strict=True)``: a file with a
    defect that a tolerant read records (:mod:`dicomfast.defects`) raises ``FileReadError``.
    ``storage_options``: the URLs' request options (a listing, the reads), as
    :func:`dicomfast.dcmread`'s.
    """
    workers = _threads.check_workers(workers)
    options = check_storage_options(storage_options)
    if series_uid is not None and not isinstance(series_uid, str):
        raise TypeError(f"series_uid must be a str, not {type(series_uid).__name__}")
    items, from_directory = _inputs(source, series_uid, options)
    if not items:
        raise SeriesError("no files to read" + (f" in {os.fspath(source)}" if from_directory else ""))

    # 1. headers. A URL is opened once: its source keeps the bytes the header read fetched (a small
    # file whole), so the pixel read below asks only for what is missing.
    sources: dict[int, Any] = {}

    def header(i: int, item: Any):
        if isinstance(item, Dataset):
            if any(k in item for k in _PIXEL_KEYWORDS):
                try:  # the claimed size against the data held, before the volume is allocated
                    pixel_info(item)
                except DicomError as exc:
                    raise _wrap(exc, None, i) from exc
            return item
        try:
            src = item
            if is_remote(item) or options:
                src = sources[i] = open_source(source_of(item, options))
            ds = dcmread(src, stop_before_pixels=True, strict=strict)
        except NotDicomError as exc:
            if from_directory:
                return None
            raise _wrap(exc, item, i) from exc
        except (DicomError, OSError) as exc:
            raise _wrap(exc, item, i) from exc
        if from_directory and ds.get("Rows") is None:
            return None  # not an image (a DICOMDIR, a report, ...)
        try:
            if not is_remote(item):  # (a URL's size costs a request; its pixel data's length is checked)
                check_claimed_size(ds, os.path.getsize(item))
        except (DicomError, OSError) as exc:
            raise _wrap(exc, item, i) from exc
        return ds

    headers = _threads.run(header, items, workers)
    kept = [(i, item, ds) for i, (item, ds) in enumerate(zip(items, headers)) if ds is not None]
    if not kept:
        raise SeriesError(f"no DICOM images in {os.fspath(source)}" if from_directory else "no DICOM images")

    # 2. one series
    uids: dict = {}
    for _, _, ds in kept:
        uid = ds.get("SeriesInstanceUID")
        uids[uid] = uids.get(uid, 0) + 1
    if series_uid is not None:
        kept = [k for k in kept if k[2].get("SeriesInstanceUID") == series_uid]
        if not kept:
            raise SeriesError(f"no instance of series {series_uid} (found: {', '.join(map(str, uids))})")
    elif len(uids) > 1:
        raise MixedSeriesError(_mixed_message(uids), uids)
    index = [i for i, _, _ in kept]  # positions in the input, for error reports
    items = [item for _, item, _ in kept]
    readers = [sources.get(i, item) for i, item, _ in kept]  # what the pixels are read from
    headers = [ds for _, _, ds in kept]
    names = [_where(item if not isinstance(item, Dataset) else None, index[i]) for i, item in enumerate(items)]

    # 3. geometry
    slices: list[_Slice] = []
    for i, ds in enumerate(headers):
        slices.extend(_slices_of(ds, i, names[i]))
    geometry = _geometry(slices, names, check)
    ordered = [slices[i] for i in geometry.order]

    # 4. pixels, each file into its slots
    stored = None
    if not rescale and dtype is None:
        stored = np.result_type(*{stored_dtype(ds) for ds in headers})
    out_dtype = output_dtype(dtype, rescale, None, stored)
    first = ordered[0]
    array = allocate((len(ordered), first.rows, first.columns), out_dtype, "the volume")
    slots: dict[int, list[tuple[int, int | None]]] = {}
    for slot, s in enumerate(ordered):
        slots.setdefault(s.item, []).append((slot, s.frame))

    tasks: list[tuple[int, Any, list]] = []
    for i, where in slots.items():
        item = items[i]
        if where[0][1] is None:
            tasks.append((i, readers[i], where))
        else:
            # An enhanced file: read it once, then its frames in parallel.
            try:
                ds = read_dataset(readers[i], strict)
            except (DicomError, OSError) as exc:
                raise _wrap(exc, item if not isinstance(item, Dataset) else None, index[i]) from exc
            chunk = max(1, -(-len(where) // workers))
            tasks.extend((i, ds, where[k:k + chunk]) for k in range(0, len(where), chunk))

    def pixels(_: int, task: tuple) -> None:
        i, src, where = task
        try:
            if where[0][1] is None:
                fill(src, array[where[0][0]], rescale=rescale, strict=strict)
            else:
                for slot, frame in where:
                    fill(src, array[slot:slot + 1], frames=[frame], rescale=rescale, strict=strict)
        except (DicomError, OSError, ValueError) as exc:
            item = items[i]
            raise _wrap(exc, item if not isinstance(item, Dataset) else None, index[i]) from exc

    _threads.run(pixels, tasks, workers)

    ds0 = headers[first.item]
    return Volume(
        array=array,
        spacing=geometry.spacing,
        origin=tuple(float(v) for v in geometry.origin),
        direction=geometry.direction,
        affine_lps=geometry.affine,
        datasets=[headers[s.item] for s in ordered],
        paths=[None if isinstance(items[s.item], Dataset) else os.fspath(items[s.item]) for s in ordered],
        frames=[s.frame for s in ordered],
        rescaled=bool(rescale),
        series_instance_uid=ds0.get("SeriesInstanceUID"),
        study_instance_uid=ds0.get("StudyInstanceUID"),
        frame_of_reference_uid=ds0.get("FrameOfReferenceUID"),
        modality=ds0.get("Modality"),
        series_description=ds0.get("SeriesDescription"),
        series_number=ds0.get("SeriesNumber"),
        patient_id=ds0.get("PatientID"),
    )
