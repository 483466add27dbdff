"""A batch: N images into one array (N, rows, cols), read on a thread pool through the one pixel
pipeline (:func:`dicomfast.pixels.fill`). :func:`dicomfast.read_batch` (paths, URLs, Datasets) and
``DICOMwebClient.read_batch`` (instances fetched by WADO-RS) are both this function: the same
options, the same ``out`` checks, the same output and the same errors.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from ..dataset import Dataset
from ..errors import DicomError, FileReadError
from ..pixels import allocate, check_claimed_size, check_window, fill, output_dtype, pixel_info, stored_dtype
from ..reader import dcmread
from ..sources import check_storage_options, is_remote, source_of
from . import threads

__all__ = ["read_items", "check_frame_option", "item_error"]


def check_frame_option(frame: Any) -> int | None:
    """``frame=``: None (every frame) or a frame number from 0."""
    if frame is None:
        return None
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
        raise TypeError(f"frame must be an int or None, not {type(frame).__name__}")
    if frame < 0:
        raise ValueError(f"frame must be 0 or more, not {frame}")
    return int(frame)


def item_error(exc: BaseException, path: Any, index: int) -> FileReadError:
    """The :class:`FileReadError` for item ``index`` of a batch (a path, URL or Dataset) that failed
    with ``exc``: its message names the item, ``.path`` and ``.index`` hold it."""
    where = f"file {index} ({path})" if not isinstance(path, Dataset) else f"dataset {index}"
    text = str(exc)
    if not isinstance(path, Dataset):
        text = text.replace(f"{path}: ", "")
    return FileReadError(f"{where}: {text}", path=None if isinstance(path, Dataset) else path, index=index)


def _check_out(out: Any, n: int, frame: int | None, dtype: Any, rescale: bool, window: Any) -> None:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
    if dtype is not None and np.dtype(dtype) != out.dtype:
        raise TypeError(f"dtype {np.dtype(dtype)} differs from out's dtype {out.dtype}")
    output_dtype(out.dtype, rescale, window)  # a dtype the options can produce
    if out.ndim not in (3, 4) or (frame is not None and out.ndim != 3):
        want = "(N, rows, cols)" if frame is not None else "(N, rows, cols) or (N, frames, rows, cols)"
        raise ValueError(f"out must have shape {want}, not {out.shape}")
    if out.shape[0] != n:
        raise ValueError(f"out holds {out.shape[0]} images for {n} paths")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be C-contiguous and writable")


def read_items(items: Sequence[Any], out: np.ndarray | None = None, *, workers: int | None = None,
               frame: int | None = None, rescale: bool = True, window: Any = None, dtype: Any = None,
               strict: bool = False, storage_options: dict | None = None,
               fetch: Callable[[Any], Dataset] | None = None) -> np.ndarray:
    """:func:`dicomfast.read_batch` of ``items`` (paths, URLs, ByteSources or Datasets; see it for
    the options, ``out`` and the errors).

    ``fetch``, when given, turns an item into the Dataset to read (a download: each item is fetched
    in the worker thread that fills its image, so ``workers`` is also the number of fetches at
    once); the items name themselves in errors (a URL, say). Without ``out``, the first item is
    fetched first, its header sizes the batch, and it is not fetched again."""
    workers = threads.check_workers(workers)
    options = check_storage_options(storage_options)
    frame = check_frame_option(frame)
    window = check_window(window)
    ready: dict[int, Dataset] = {}
    if out is None:
        if not items:
            raise ValueError("read_batch needs at least one path, or an out array")
        first = items[0]
        try:
            if fetch is not None:
                header = ready[0] = fetch(first)
                pixel_info(header)  # its claimed size against its data, before out is sized from it
            elif isinstance(first, Dataset):
                header = first
                pixel_info(header)
            else:
                header = dcmread(first, stop_before_pixels=True, strict=strict, storage_options=options)
                if not is_remote(first):  # (a URL's size costs a request; its pixel data's length is checked)
                    check_claimed_size(header, os.path.getsize(first))
            rows, cols = int(header.Rows), int(header.Columns)
            nframes = header.get("NumberOfFrames")
            stored = stored_dtype(header)
        except (DicomError, OSError, AttributeError, TypeError) as exc:
            raise item_error(exc, first, 0) from exc
        nframes = nframes if isinstance(nframes, int) and nframes > 1 and frame is None else 1
        shape = (len(items), rows, cols) if nframes == 1 else (len(items), nframes, rows, cols)
        out = allocate(shape, output_dtype(dtype, rescale, window, stored), "the batch")
    else:
        _check_out(out, len(items), frame, dtype, rescale, window)

    def one(i: int, item: Any) -> None:
        try:
            src = source_of(item, options) if fetch is None else ready.pop(i) if i in ready else fetch(item)
            if frame is None:
                fill(src, out[i], rescale=rescale, window=window, strict=strict)
            else:
                fill(src, out[i:i + 1], frames=[frame], rescale=rescale, window=window, strict=strict)
        except (DicomError, OSError, ValueError, IndexError) as exc:
            raise item_error(exc, item, i) from exc

    threads.run(one, items, workers)
    return out
