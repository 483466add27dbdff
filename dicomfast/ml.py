"""Machine learning data loading: a map-style dataset of DICOM images and a threaded batch reader.

Neither imports torch (nor pyarrow or pandas): :class:`DicomDataset` has the ``__len__`` /
``__getitem__`` protocol that ``torch.utils.data.DataLoader`` uses and returns NumPy arrays, which
its default collate turns into tensors. It holds only plain Python values (paths, labels, options),
no open file or lock, so it pickles into DataLoader worker processes.

    >>> ds = dicomfast.DicomDataset(paths, labels=labels, window=(40, 400))
    >>> loader = torch.utils.data.DataLoader(ds, batch_size=32, num_workers=4)

:func:`read_batch` fills one array (N, rows, cols) with N files on a thread pool: the reads and the
pixel transforms release the GIL, so threads overlap I/O and decoding inside one process.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from .collection.batch import check_frame_option, item_error, read_items
from .collection.series import readable_rows, table_columns, table_paths
from .dataset import Dataset
from .errors import DicomError
from .pixels import allocate, check_window, fill, output_dtype, pixel_info, read_dataset

__all__ = ["DicomDataset", "read_batch"]


def _paths_of(source: Any) -> list:
    rows = table_paths(source)
    if rows is not None:
        return rows[0]
    if isinstance(source, (str, os.PathLike, bytes)) or not hasattr(source, "__iter__"):
        raise TypeError(f"expected a list of paths or an index table with a 'path' column, not {type(source).__name__}")
    items = list(source)
    for item in items:
        if not isinstance(item, (str, os.PathLike, Dataset)):
            raise TypeError(f"expected paths (or dicomfast Datasets), not {type(item).__name__}")
    return [item if isinstance(item, Dataset) else os.fspath(item) for item in items]


def read_image(src: Any, *, frame: int | None = None, rescale: bool = True, window: Any = None,
               dtype: Any = None, strict: bool = False) -> np.ndarray:
    """One file's image as a new array: (rows, cols), or (frames, rows, cols) for a multi-frame
    file unless ``frame`` picks one. Options as :func:`read_batch`'s (``window`` already checked)."""
    ds = read_dataset(src, strict)
    info = pixel_info(ds)
    out_dtype = output_dtype(dtype, rescale, window, info.dtype)
    if frame is not None:
        out = allocate((info.rows, info.columns), out_dtype, "the image")
        fill(ds, out[None], frames=[frame], rescale=rescale, window=window)
        return out
    shape = (info.rows, info.columns) if info.number_of_frames == 1 else (info.number_of_frames, info.rows, info.columns)
    out = allocate(shape, out_dtype, "the image")
    fill(ds, out, rescale=rescale, window=window)
    return out


class DicomDataset:
    """A map-style dataset of DICOM images, for ``torch.utils.data.DataLoader`` or any loop.

    ``source`` is a list of paths or an index table (a pyarrow Table or pandas DataFrame with a
    ``path`` column; rows with an ``error`` are left out). ``labels`` is optional: the name of a
    column of that table, a sequence with one label per image, or a callable ``labels(path)``.

    ``dataset[i]`` is the image of file ``i`` as a NumPy array, or ``(image, label)`` with labels:
    (rows, cols), or (frames, rows, cols) for a multi-frame file unless ``frame`` picks one.
    Values: Hounsfield units (the modality LUT) with ``rescale`` (the default), stored values
    without; ``window=(center, width)`` or ``window="dataset"`` (the file's own first window)
    windows them into the whole range of uint8/uint16 or [0, 1] for float dtypes. ``dtype`` follows
    the pixel pipeline's one policy: uint8 for a window, float32 for Hounsfield units, the stored
    dtype for raw stored values (see :mod:`dicomfast.pixels.pipeline`). ``transform`` is called on the
    array last (``target_transform`` on the label). ``strict=True`` reads each file with
    ``dcmread(..., strict=True)``: a file with a defect (:mod:`dicomfast.defects`) raises.

    The object holds plain values only, so it pickles into DataLoader workers; a ``transform``
    must be picklable too when workers are spawned rather than forked.
    """

    def __init__(
        self,
        source: Any,
        *,
        labels: str | Sequence | Callable[[str], Any] | None = None,
        frame: int | None = None,
        rescale: bool = True,
        window: Any = None,
        dtype: Any = None,
        transform: Callable[[np.ndarray], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        strict: bool = False,
    ) -> None:
        self.paths = _paths_of(source)
        self.strict = bool(strict)
        self.frame = check_frame_option(frame)
        self.rescale = bool(rescale)
        self.window = check_window(window)
        self.dtype = None if dtype is None else output_dtype(dtype, rescale, self.window)
        if transform is not None and not callable(transform):
            raise TypeError("transform must be callable")
        if target_transform is not None and not callable(target_transform):
            raise TypeError("target_transform must be callable")
        self.transform = transform
        self.target_transform = target_transform
        self.labels: list | Callable | None
        if labels is None or callable(labels):
            self.labels = labels
        elif isinstance(labels, str):
            cols = table_columns(source, ("path", "error", labels))
            if cols is None:
                raise TypeError("labels given as a column name need an index table as the source")
            if labels not in cols:
                raise ValueError(f"the table has no column {labels!r}")
            values = cols[labels]
            self.labels = [values[k] for k in readable_rows(cols.get("error"), len(values))]
        else:
            self.labels = list(labels)
            if len(self.labels) != len(self.paths):
                raise ValueError(f"{len(self.labels)} labels for {len(self.paths)} images")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Any:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"an index must be an int, not {type(index).__name__}")
        n = len(self.paths)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for {n} images")
        index = int(index) % n
        path = self.paths[index]
        try:
            image = read_image(path, frame=self.frame, rescale=self.rescale, window=self.window, dtype=self.dtype,
                               strict=self.strict)
        except (DicomError, OSError, ValueError, IndexError) as exc:
            raise item_error(exc, path, index) from exc
        if self.transform is not None:
            image = self.transform(image)
        if self.labels is None:
            return image
        label = self.labels(path) if callable(self.labels) else self.labels[index]
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def __repr__(self) -> str:
        return (f"<DicomDataset of {len(self.paths)} images, rescale={self.rescale}, window={self.window!r}, "
                f"labels={'yes' if self.labels is not None else 'no'}>")


def read_batch(
    paths: Any,
    out: np.ndarray | None = None,
    *,
    workers: int | None = None,
    frame: int | None = None,
    rescale: bool = True,
    window: Any = None,
    dtype: Any = None,
    strict: bool = False,
    storage_options: dict | None = None,
) -> np.ndarray:
    """Read ``paths`` (a list of paths, or an index table) into one array and return it.

    ``out``, when given, is filled in place: a writable C-contiguous array of shape
    (N, rows, cols), or (N, frames, rows, cols) for multi-frame files (``frame`` picks one frame
    of each file, giving (N, rows, cols)). Without it, one is allocated from the first file's
    header. Values as :class:`DicomDataset`: Hounsfield units with ``rescale``, stored values
    without, ``window=(center, width)`` or ``"dataset"`` for windowed values; ``dtype`` (by the
    pipeline's policy: uint8 for a window, float32 for Hounsfield units) must equal ``out.dtype``
    when both are given.

    ``workers`` threads read the files (default: twice the cores, at most 16). A file that cannot
    be read, or whose image does not fit ``out``, raises :class:`~dicomfast.errors.FileReadError`
    naming it (``.path``, ``.index``); a bad ``out`` raises ``TypeError`` / ``ValueError`` first.
    ``strict=True`` reads the files with ``dcmread(..., strict=True)`` (:mod:`dicomfast.defects`).
    ``storage_options``: the URLs' request options, as :func:`dicomfast.dcmread`'s.
    """
    return read_items(_paths_of(paths), out, workers=workers, frame=frame, rescale=rescale, window=window,
                      dtype=dtype, strict=strict, storage_options=storage_options)
