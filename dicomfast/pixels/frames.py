"""Frames of one file into a caller's array: stored values, Hounsfield units, or windowed.

The one place where ``load_series``, ``read_batch`` and ``DicomDataset`` turn a file's pixel data
into output values. It writes straight into ``out`` (a slot of the caller's preallocated array), so
a volume or a batch is filled without a second copy. A path to native pixel data is read as
``read_pixels`` reads it (``pixel_reader.read_stored``: the header, then the pixel bytes straight
into a reused buffer, or into ``out`` itself for stored values); other sources and encodings go
through ``dcmread`` + ``pixel_array``. The transforms are the same either way.

Also here: functional group lookup for enhanced multi-frame datasets (per-frame item first, then
shared), which the geometry of ``series.py`` reads too.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from . import _transform, fileread as pixel_reader, native as pixels
from ..dataset import Dataset
from ..errors import InvalidPixelAttributeError, InvalidValueError, PixelDataError, PixelDataLengthError
from .native import pixel_array, pixel_info
from ..reader import dcmread
from .transforms import apply_modality_lut, window as _window

__all__ = ["functional_item", "fill", "stored_dtype", "check_window", "output_dtype", "check_claimed_size",
           "allocate", "cast"]

_ENHANCED = pixels.HAS_SHARED_GROUPS | pixels.HAS_PER_FRAME_GROUPS
_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)
_WINDOW_DTYPES = frozenset(np.dtype(t) for t in (np.uint8, np.uint16, np.float16, np.float32, np.float64))
# Transfer syntaxes whose pixel data is stored in the file as it is (not compressed, not deflated).
_UNCOMPRESSED_ON_DISK = frozenset(("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"))
# int16/uint16 + an integer intercept is exact in float32 below this (24-bit significand).
_EXACT_F32 = float(1 << 23)


def functional_item(ds: Any, keyword: str, frame: int) -> Any:
    """The first item of the functional group macro ``keyword`` (e.g. ``"PlanePositionSequence"``)
    for ``frame`` of an enhanced multi-frame dataset: from the Per-Frame Functional Groups Sequence
    when that frame has it, else from the Shared Functional Groups Sequence; ``None`` if neither."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and frame < len(per_frame):
        seq = per_frame[frame].get(keyword)
        if seq:
            return seq[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        seq = shared[0].get(keyword)
        if seq:
            return seq[0]
    return None


def is_enhanced(ds: Any) -> bool:
    # `in` first: a membership test is several times cheaper than a get() of an absent element
    return (("PerFrameFunctionalGroupsSequence" in ds and bool(ds.get("PerFrameFunctionalGroupsSequence")))
            or ("SharedFunctionalGroupsSequence" in ds and bool(ds.get("SharedFunctionalGroupsSequence"))))


def stored_dtype(ds: Any) -> np.dtype:
    """The dtype of the stored values, from the header alone (Bits Allocated, Pixel Representation)."""
    bits = ds.get("BitsAllocated")
    if ds.get("FloatPixelData") is not None or ds.get("DoubleFloatPixelData") is not None:
        return _FLOAT32 if bits == 32 else _FLOAT64
    if not isinstance(bits, int) or bits not in (1, 8, 16, 32, 64):
        raise InvalidPixelAttributeError(f"Bits Allocated {bits!r} has no NumPy integer type")
    if bits == 1:
        return np.dtype(np.uint8)
    signed = ds.get("PixelRepresentation") == 1
    return np.dtype(("i" if signed else "u") + str(bits // 8))


def check_claimed_size(ds: Any, file_size: int) -> None:
    """Refuse a header whose Rows x Columns x Samples x Frames x Bits Allocated cannot fit in a
    file of ``file_size`` bytes (uncompressed transfer syntaxes only), before any array is sized
    from it: a damaged or hostile header must not make us allocate gigabytes. Headers read with
    ``stop_before_pixels`` carry no pixel data length, so the file's size is the bound."""
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if syntax not in _UNCOMPRESSED_ON_DISK:
        return
    numbers = [ds.get(k) for k in ("Rows", "Columns", "SamplesPerPixel", "NumberOfFrames", "BitsAllocated")]
    if not all(isinstance(v, int) or v is None for v in numbers):
        return  # pixel_info reports a bad value when the pixel data is read
    rows, columns, samples, frames, bits = (v or 1 for v in numbers)
    if samples == 3 and str(ds.get("PhotometricInterpretation") or "").strip() == "YBR_FULL_422":
        samples = 2  # stored subsampled: two values per pixel
    need = -(-rows * columns * samples * frames * bits // 8)
    if need > file_size:
        raise PixelDataLengthError(
            f"the header claims {frames} frame(s) of {rows} x {columns} x {samples} x {bits} bits "
            f"({need} bytes of pixel data), more than the whole file ({file_size} bytes)")


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # not POSIX
        return None


def allocate(shape: tuple, dtype: Any, what: str) -> np.ndarray:
    """``np.empty(shape, dtype)`` for an array sized from file headers, with a clear
    :class:`PixelDataError` instead of a ``MemoryError`` (or a machine driven into swap) when it
    cannot fit in this machine's memory."""
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize
    for n in shape:
        nbytes *= int(n)
    memory = _physical_memory()
    if memory is not None and nbytes > memory:
        raise PixelDataError(
            f"{what} of shape {tuple(shape)} ({dtype}) needs {nbytes / 2**30:.1f} GiB, more than this "
            f"machine's memory ({memory / 2**30:.1f} GiB)")
    try:
        return np.empty(shape, dtype)
    except MemoryError:
        raise PixelDataError(
            f"{what} of shape {tuple(shape)} ({dtype}) needs {nbytes / 2**30:.1f} GiB: not enough memory") from None


def check_window(window: Any) -> Any:
    """``None``, ``"dataset"``, or a (center, width) pair of numbers (returned as floats)."""
    if window is None:
        return None
    if isinstance(window, str):
        if window == "dataset":
            return window
        raise ValueError(f"window must be None, 'dataset' or a (center, width) pair, not {window!r}")
    try:
        center, width = window
        center, width = float(center), float(width)
    except (TypeError, ValueError):
        raise TypeError(f"window must be None, 'dataset' or a (center, width) pair of numbers, not {window!r}") from None
    if width < 1:
        raise ValueError(f"the window width must be at least 1, not {width}")
    return (center, width)


def output_dtype(dtype: Any, rescale: bool, window: Any, stored: np.dtype | None = None) -> np.dtype:
    """The output dtype for the options: ``dtype`` if given, else float32 for Hounsfield units or a
    window, else the stored dtype."""
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind not in "iuf":
            raise TypeError(f"dtype must be an integer or floating point dtype, not {dtype}")
        if window is not None and dtype not in _WINDOW_DTYPES:
            raise TypeError(f"a windowed output must be uint8, uint16, float16, float32 or float64, not {dtype}")
        return dtype
    if rescale or window is not None or stored is None:
        return _FLOAT32
    return stored


def _rescale_of(ds: Any, frame: int, enhanced: bool) -> tuple[float, float]:
    slope, intercept = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
    if (slope is None or intercept is None) and enhanced:
        item = functional_item(ds, "PixelValueTransformationSequence", frame)
        if item is not None:
            slope, intercept = item.get("RescaleSlope"), item.get("RescaleIntercept")
    if slope is None or intercept is None:
        return 1.0, 0.0  # a rescale needs both, as in pydicom's apply_modality_lut and ours
    try:
        return float(slope), float(intercept)
    except (TypeError, ValueError):
        raise InvalidValueError(f"Rescale Slope / Intercept {slope!r} / {intercept!r} are not numbers") from None


def _window_of(ds: Any, frame: int, enhanced: bool) -> tuple[float, float, str]:
    source = ds
    if (ds.get("WindowCenter") is None or ds.get("WindowWidth") is None) and enhanced:
        source = functional_item(ds, "FrameVOILUTSequence", frame)
    center = source.get("WindowCenter") if source is not None else None
    width = source.get("WindowWidth") if source is not None else None
    if center is None or width is None:
        raise InvalidValueError(f"window='dataset' but frame {frame} has no Window Center and Window Width")
    center = center[0] if isinstance(center, list) else center
    width = width[0] if isinstance(width, list) else width
    function = source.get("VOILUTFunction") or "LINEAR"
    return float(center), float(width), str(function)


def _rescale_into(src: np.ndarray, dst: np.ndarray, slope: float, intercept: float) -> None:
    """dst = src * slope + intercept, computed in float64 and rounded once into dst's dtype (so a
    float32 result equals pydicom's float64 result cast to float32)."""
    if (dst.dtype == _FLOAT32 and slope == 1.0 and intercept.is_integer() and abs(intercept) < _EXACT_F32
            and src.dtype.kind in "iu" and src.dtype.itemsize <= 2):
        np.add(src, np.float32(intercept), out=dst)  # exact in float32: no float64 pass needed
        return
    flat = np.ascontiguousarray(src).reshape(-1)
    if dst.dtype == _FLOAT64 and dst.flags.c_contiguous:
        _transform.rescale(flat, dst.reshape(-1), slope, intercept)
        return
    tmp = np.empty(flat.shape, _FLOAT64)
    _transform.rescale(flat, tmp, slope, intercept)
    if dst.dtype.kind in "iu":
        np.rint(tmp, out=tmp)
        _check_fits(tmp, dst.dtype)
    np.copyto(dst, tmp.reshape(dst.shape), casting="unsafe")


def cast(values: np.ndarray, dtype: Any) -> np.ndarray:
    """``values`` as ``dtype``: floats rounded to nearest for an integer dtype, and a
    ``ValueError`` for a value that the dtype cannot hold (never a silent wrap-around)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu" and values.dtype.kind == "f":
        values = np.rint(values)
    _check_fits(values, dtype)
    return values.astype(dtype, copy=False)


def _check_fits(values: np.ndarray, dtype: np.dtype) -> None:
    """An integer output must hold every value: a silent wrap-around would corrupt the image."""
    if dtype.kind not in "iu" or values.size == 0 or np.can_cast(values.dtype, dtype, "safe"):
        return
    info = np.iinfo(dtype)
    lo, hi = values.min(), values.max()
    if lo < info.min or hi > info.max:
        raise ValueError(f"values from {lo:g} to {hi:g} do not fit {dtype}: ask for a wider dtype")


def read_dataset(src: Any) -> Dataset:
    if isinstance(src, Dataset):
        return src
    if isinstance(src, (str, os.PathLike)):
        return dcmread(src)
    raise TypeError(f"expected a path or a dicomfast Dataset, not {type(src).__name__}")


def fill(src: Any, out: np.ndarray, *, frames: Sequence[int] | None = None, rescale: bool = True,
         window: Any = None) -> None:
    """Write the frames of ``src`` (a path or a full dicomfast Dataset) into ``out``.

    ``frames=None`` writes the whole pixel data, shaped as ``pixel_array`` shapes it (``out`` is
    (rows, cols) or (frames, rows, cols)); otherwise ``out`` is (len(frames), rows, cols) and
    ``out[i]`` receives frame ``frames[i]``. Values are the stored ones, or with ``rescale`` the
    modality LUT's output (Hounsfield units for CT), and with ``window`` (a checked
    :func:`check_window` value) windowed into [0, 1] (float) or the full integer range.
    Monochrome data only.
    """
    if type(src) is str or isinstance(src, os.PathLike):
        if (frames is None or len(frames) == 1) and _fill_from_file(os.fspath(src), out, frames, rescale, window):
            return
    ds = read_dataset(src)
    info = pixel_info(ds)
    _check_monochrome(info)
    enhanced = is_enhanced(ds)
    if frames is None:
        arr = pixel_array(ds)
        if arr.shape != out.shape:
            raise ValueError(f"the pixel data has shape {arr.shape}, the output {out.shape}")
        if arr.ndim == 2:
            _fill_one(ds, arr, out, 0, enhanced, rescale, window)
        else:
            for k in range(arr.shape[0]):
                _fill_one(ds, arr[k], out[k], k, enhanced, rescale, window)
        return
    expect = (len(frames), info.rows, info.columns)
    if out.shape != expect:
        raise ValueError(f"{len(frames)} frame(s) of {info.rows} x {info.columns} need shape {expect}, not {out.shape}")
    whole = pixel_array(ds) if len(frames) > 1 and not info.encapsulated else None
    for i, k in enumerate(frames):
        if whole is not None:
            arr = whole[k] if whole.ndim == 3 else whole
        else:
            arr = pixel_array(ds, frame=k)
        _fill_one(ds, arr, out[i], k, enhanced, rescale, window)


def _check_monochrome(info: Any) -> None:
    if info.samples_per_pixel != 1:
        raise PixelDataError(
            f"{info.photometric_interpretation} has {info.samples_per_pixel} samples per pixel: "
            "volumes and batches are read from monochrome images only")


def _fill_from_file(path: str, out: np.ndarray, frames: Sequence[int] | None, rescale: bool, window: Any) -> bool:
    """:func:`fill` for a path whose native pixel data can be read straight from the file (all
    frames, or one): the same checks in the same order, the same transforms, on the header read
    up to the pixel data. False when the file needs the general path."""
    def check(info: Any) -> None:
        _check_monochrome(info)
        if frames is not None:
            expect = (1, info.rows, info.columns)
            if out.shape != expect:
                raise ValueError(f"1 frame(s) of {info.rows} x {info.columns} need shape {expect}, not {out.shape}")

    target = out if frames is None else (out[0] if out.ndim == 3 else None)
    direct = not rescale and window is None and target is not None  # stored values: into out itself
    found = pixel_reader.read_stored(path, None if frames is None else frames[0], target if direct else None, check)
    if found is None:
        return False
    ds, m, info, _, arr = found
    if arr is target:
        return True
    enhanced = bool(m[pixels.M_PRESENCE] & _ENHANCED) and is_enhanced(ds)
    if frames is not None:
        _fill_one(ds, arr, out[0], frames[0], enhanced, rescale, window)
        return True
    if arr.shape != out.shape:
        raise ValueError(f"the pixel data has shape {arr.shape}, the output {out.shape}")
    if arr.ndim == 2:
        _fill_one(ds, arr, out, 0, enhanced, rescale, window)
    else:
        for k in range(arr.shape[0]):
            _fill_one(ds, arr[k], out[k], k, enhanced, rescale, window)
    return True


def _fill_one(ds: Any, arr: np.ndarray, out: np.ndarray, frame: int, enhanced: bool, rescale: bool,
              window: Any) -> None:
    slope, intercept = _rescale_of(ds, frame, enhanced) if rescale else (1.0, 0.0)
    if rescale and "ModalityLUTSequence" in ds and ds.get("ModalityLUTSequence"):
        arr = apply_modality_lut(arr, ds)  # a LUT, not a line: its uint8/uint16 output, then as below
        slope, intercept = 1.0, 0.0
    if window is None:
        if not rescale or (slope == 1.0 and intercept == 0.0):
            _check_fits(arr, out.dtype)
            np.copyto(out, arr, casting="unsafe")
        else:
            _rescale_into(arr, out, slope, intercept)
        return
    if window == "dataset":
        center, width, function = _window_of(ds, frame, enhanced)
    else:
        (center, width), function = window, "linear"
    _window(arr, center, width, slope=slope, intercept=intercept, function=function, dtype=out.dtype, out=out)
