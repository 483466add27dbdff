"""The one pixel pipeline: stored values -> modality LUT -> VOI LUT -> the caller's dtype and ``out``,
frame by frame. Every caller that wants more than ``pixel_array`` comes here: :func:`read_pixels`,
the volume and batch readers (:func:`fill`), ``DicomDataset`` and ``dicomfast convert``.

Options, spelled the same everywhere:

* ``rescale`` (default True): the modality transform: the Modality LUT Sequence, else Rescale
  Slope and Intercept (top level, else each frame's Pixel Value Transformation functional group),
  else nothing. Hounsfield units for CT.
* ``window``: None (no VOI transform), ``"dataset"`` (the file's own first window: top-level Window
  Center / Width and VOI LUT Function, else each frame's Frame VOI LUT functional group; a frame
  without one is an :class:`~dicomfast.InvalidValueError`), or a ``(center, width)`` pair (LINEAR),
  in the units after the modality transform. The window is applied by the fused kernel
  (:func:`dicomfast.window`): rescale and window in one pass, exact to the float64 reference.
* ``dtype``, the one default policy (:func:`output_dtype`): a window gives ``uint8`` (``uint16``,
  ``float16``, ``float32``, ``float64`` on request: the full integer range, or [0, 1]); the
  modality transform alone gives ``float32`` (or any numeric dtype: integers are rounded to
  nearest and must fit); neither gives the stored values in their own dtype (or any numeric dtype
  that holds them). A value that does not fit an integer dtype is a ``ValueError``, never a
  silent wrap-around.
* ``out``: a C-contiguous writeable array of the result's shape and dtype to fill (one slice of
  a preallocated batch or volume).

MONOCHROME1 is not inverted (as in pydicom); ``dicomfast convert --to png`` inverts it for display.
"""
from __future__ import annotations

import os
from typing import Any, NamedTuple, Sequence

import numpy as np

from ..dataset import Dataset
from ..errors import InvalidPixelAttributeError, InvalidValueError, PixelDataError, PixelDataLengthError
from ..reader import dcmread, read_source
from ..sources import ByteSource, is_remote, open_source, source_of
from .fileread import FrameReader, read_stored
from .groups import functional_item
from .codecs import check_decoder
from .module import PixelInfo, PixelModule, check_frame, module_info, record_defects, to_dataset
from .native import decode
from .threads import check_workers
from .transforms import WINDOW_DTYPES, apply_modality_lut, check_out, rescale_into, window_into

__all__ = ["read_pixels", "fill", "check_window", "output_dtype", "stored_dtype", "check_claimed_size",
           "allocate", "transform_into", "FrameValues", "frame_values", "read_dataset", "usable_lut",
           "window_from_range"]

_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)
_UINT8 = np.dtype(np.uint8)
# Transfer syntaxes whose pixel data is stored in the file as it is (not compressed, not deflated).
_UNCOMPRESSED_ON_DISK = frozenset(("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"))
# int16/uint16 + an integer intercept is exact in float32 below this (24-bit significand).
_EXACT_F32 = float(1 << 23)
_TAG_WINDOW_WIDTH = 0x00281051
_TAG_MODALITY_LUT = 0x00283000
_LUT_SEQUENCES = {_TAG_MODALITY_LUT: "ModalityLUTSequence", 0x00283010: "VOILUTSequence"}
_FROM_RANGE = "FROM RANGE"  # FrameValues.function of a window taken from the data (the file's is unusable)


# -- options ----------------------------------------------------------------------------------

def check_window(window: Any) -> Any:
    """``None``, ``"dataset"``, or a (center, width) pair of numbers (returned as floats, the
    width at least 1, as LINEAR needs)."""
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
    """The output dtype for the options (the module docstring's policy): ``dtype`` if given and
    possible, else uint8 for a window, float32 for the modality transform alone, else the stored
    dtype (float32 when it is not known)."""
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind not in "iuf":
            raise TypeError(f"dtype must be an integer or floating point dtype, not {dtype}")
        if window is not None and dtype not in WINDOW_DTYPES:
            raise TypeError(f"a windowed output must be uint8, uint16, float16, float32 or float64, not {dtype}")
        return dtype
    if window is not None:
        return _UINT8
    if rescale or stored is None:
        return _FLOAT32
    return stored


def _check_fits(values: np.ndarray, dtype: np.dtype) -> None:
    """An integer output must hold every value: a silent wrap-around would corrupt the image."""
    if dtype.kind not in "iu" or values.size == 0 or np.can_cast(values.dtype, dtype, "safe"):
        return
    info = np.iinfo(dtype)
    lo, hi = values.min(), values.max()
    if lo < info.min or hi > info.max:
        raise ValueError(f"values from {lo:g} to {hi:g} do not fit {dtype}: ask for a wider dtype")


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



# -- per-frame values ---------------------------------------------------------------------------

class FrameValues(NamedTuple):
    """The modality and VOI values of one frame: ``slope``/``intercept`` (1/0 when there is no
    rescale, or after a Modality LUT), and the window (None without one)."""

    slope: float
    intercept: float
    lut: bool                   # the Modality LUT Sequence applies (before slope and intercept)
    center: float | None
    width: float | None
    function: str


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple)) else value


def _float(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidValueError(f"{what} {value!r} is not a number") from None


def _uniform(m: PixelModule, rescale: bool, window: Any) -> bool:
    """Whether every frame has the same values: no functional group is consulted."""
    if not m.enhanced:
        return True
    if rescale and not m.has_modality_lut and (m.rescale_slope is None or m.rescale_intercept is None):
        return False
    if window == "dataset" and (m.window_center is None or m.window_width is None):
        return False
    return True


def frame_values(ds: Any, m: PixelModule, frame: int, rescale: bool, window: Any,
                 strict: bool = False) -> FrameValues:
    """The :class:`FrameValues` of ``frame`` for the options (``window`` checked by
    :func:`check_window`); ``m`` is ``ds``'s PixelModule with its transform values.

    Defects with a safe default (:mod:`dicomfast.defects`), recorded on ``ds.defects`` or, with
    ``strict``, raised as :class:`~dicomfast.defects.DefectError`: a Modality LUT Sequence without a
    usable LUT (ignored: Rescale Slope and Intercept apply if present), and with ``window="dataset"``
    a Window Width below 1 (the window from the frame's range of values, as without a window)."""
    lut = bool(rescale and m.has_modality_lut and ds.get("ModalityLUTSequence"))
    if lut and not usable_lut(ds, _TAG_MODALITY_LUT, strict):
        lut = False
    slope, intercept = 1.0, 0.0
    if rescale and not lut:
        s, i = m.rescale_slope, m.rescale_intercept
        if (s is None or i is None) and m.enhanced:
            item = functional_item(ds, "PixelValueTransformationSequence", frame)
            if item is not None:
                s, i = item.get("RescaleSlope", 1.0), item.get("RescaleIntercept", 0.0)
        if s is not None and i is not None:  # a rescale needs both, as in pydicom
            slope, intercept = _float(s, "Rescale Slope"), _float(i, "Rescale Intercept")
    if window is None:
        return FrameValues(slope, intercept, lut, None, None, "LINEAR")
    if window != "dataset":
        return FrameValues(slope, intercept, lut, window[0], window[1], "LINEAR")
    center, width, function = m.window_center, m.window_width, m.voi_lut_function
    if (center is None or width is None) and m.enhanced:
        item = functional_item(ds, "FrameVOILUTSequence", frame)
        if item is not None:
            center, width, function = item.get("WindowCenter"), item.get("WindowWidth"), item.get("VOILUTFunction")
    if center is None or width is None:
        raise InvalidValueError(f"window='dataset' but frame {frame} has no Window Center and Window Width")
    center, width = _first(center), _first(width)
    if type(center) is not float:
        center = _float(center, "Window Center")
    if type(width) is not float:
        width = _float(width, "Window Width")
    if not width >= 1:  # below 1, or NaN: LINEAR needs at least 1
        record_defects(ds, (("window_width", _TAG_WINDOW_WIDTH),), strict,
                       where=ds if m.window_width is not None else functional_item(ds, "FrameVOILUTSequence", frame))
        return FrameValues(slope, intercept, lut, None, None, _FROM_RANGE)
    return FrameValues(slope, intercept, lut, center, width, str(function).strip() if function else "LINEAR")


def usable_lut(ds: Any, tag: int, strict: bool = False) -> bool:
    """Whether the first item of ``ds``'s LUT sequence ``tag`` (Modality LUT Sequence (0028,3000), VOI
    LUT Sequence (0028,3010)) has a usable LUT: a LUT Descriptor of three integers with at least
    one entry and LUT Data. When it has not, an ``unusable_lut`` defect is recorded (or, with
    ``strict``, raised): the caller ignores the LUT."""
    sequence = ds.get(_LUT_SEQUENCES[tag])
    item = sequence[0] if sequence else None
    if item is not None:
        descriptor, data = item.get("LUTDescriptor"), item.get("LUTData")
        if (isinstance(descriptor, (list, tuple)) and len(descriptor) == 3
                and all(isinstance(v, int) for v in descriptor) and data is not None and len(data)):
            return True
    record_defects(ds, (("unusable_lut", tag),), strict)
    return False


# -- the pipeline ---------------------------------------------------------------------------------

def window_from_range(src: np.ndarray, out: np.ndarray, slope: float, intercept: float) -> None:
    """The window of a file whose own is unusable: each frame's range of modality values onto the
    output's range (LINEAR_EXACT from the lowest to the highest value; a constant frame is 0)."""
    frames_src = src if src.ndim == 3 and src.shape[0] == out.shape[0] and out.ndim == 3 else src[np.newaxis]
    frames_out = out if frames_src is src else out[np.newaxis]
    for k in range(frames_src.shape[0]):
        frame = frames_src[k]
        finite = frame[np.isfinite(frame)] if frame.dtype.kind == "f" else frame
        if finite.size == 0:
            frames_out[k] = 0
            continue
        lo, hi = float(finite.min()), float(finite.max())
        y_lo, y_hi = sorted((lo * slope + intercept, hi * slope + intercept))
        if y_hi > y_lo:
            window_into(np.ascontiguousarray(frame), frames_out[k], (y_lo + y_hi) / 2, y_hi - y_lo, slope, intercept,
                        "LINEAR_EXACT")
        else:
            frames_out[k] = 0


def _apply(ds: Any, values: FrameValues, src: np.ndarray, out: np.ndarray) -> None:
    """One run of frames with the same values: ``src`` (stored values) into ``out``."""
    if values.lut:
        src = apply_modality_lut(src, ds)  # a LUT, not a line: its uint8/uint16 output, then as below
    if values.function == _FROM_RANGE:
        window_from_range(src, out, values.slope, values.intercept)
    elif values.center is not None:
        window_into(src, out, values.center, values.width, values.slope, values.intercept, values.function)
    elif values.slope == 1.0 and values.intercept == 0.0:
        if out.dtype.kind in "iu" and src.dtype.kind == "f":
            src = np.rint(src)  # float pixel data into integers: rounded to nearest, never truncated
        _check_fits(src, out.dtype)
        np.copyto(out, src, casting="unsafe")
    elif out.dtype.kind == "f" and out.flags.c_contiguous:
        if (out.dtype == _FLOAT32 and values.slope == 1.0 and values.intercept.is_integer()
                and abs(values.intercept) < _EXACT_F32 and src.dtype.kind in "iu" and src.dtype.itemsize <= 2):
            np.add(src, np.float32(values.intercept), out=out)  # exact in float32: no float64 pass
        else:
            rescale_into(src, out, values.slope, values.intercept)
    else:
        tmp = np.empty(src.shape, _FLOAT64)
        rescale_into(src, tmp, values.slope, values.intercept)
        if out.dtype.kind in "iu":
            np.rint(tmp, out=tmp)
            _check_fits(tmp, out.dtype)
        np.copyto(out, tmp, casting="unsafe")


def transform_into(ds: Any, m: PixelModule, stored: np.ndarray, out: np.ndarray, frames: Sequence[int],
                   rescale: bool, window: Any, strict: bool = False) -> np.ndarray:
    """The pipeline: ``stored`` (frames as ``pixel_array`` shapes them: ``frames[k]`` is the frame
    number of ``stored[k]``, or one frame's array when ``len(frames) == 1``) through the modality
    and VOI transforms into ``out`` (checked by the caller: ``stored``'s shape, C-contiguous,
    writeable, the dtype :func:`output_dtype` allows). ``window`` is checked (:func:`check_window`).
    ``strict``: see :func:`frame_values`."""
    if len(frames) == 1 or _uniform(m, rescale, window):
        _apply(ds, frame_values(ds, m, frames[0], rescale, window, strict), stored, out)
        return out
    for k, frame in enumerate(frames):
        _apply(ds, frame_values(ds, m, frame, rescale, window, strict), stored[k], out[k])
    return out


def _window_option(window: Any) -> Any:
    if window is None or window == "dataset":
        return window
    return check_window(window)


def read_pixels(src: Any, *, frame: int | None = None, rescale: bool = True, window: Any = None,
                dtype: Any = None, out: np.ndarray | None = None, strict: bool = False,
                decoder: str | None = None, workers: int | None = None,
                storage_options: dict | None = None) -> np.ndarray:
    """Pixel data of ``src`` (a path, bytes, a file object or a Dataset), transformed, in one call.

    * ``window=None, rescale=True``: the modality transform (Rescale Slope/Intercept, per frame for
      enhanced multi-frame, or the Modality LUT): Hounsfield units for CT, ``float32`` by default.
    * ``window=(center, width)`` or ``"dataset"`` (the file's first window, per frame for enhanced
      multi-frame): rescale and window fused in one pass into ``dtype`` (``uint8`` by default;
      ``uint16``, ``float16``, ``float32``, ``float64``), as :func:`dicomfast.window` defines it.
      A ``(center, width)`` window is LINEAR.
    * ``rescale=False``: no modality transform (the window, if any, applies to stored values);
      without a window, the stored values themselves in ``dtype`` (their own dtype by default).

    ``frame=k`` reads only frame ``k``. ``out`` is an array to fill (C-contiguous, of the result's
    shape and dtype), e.g. ``batch[i]`` of a preallocated ``(N, rows, columns)`` array. For a path
    to native pixel data the stored values are read from the file into a reused buffer (or, without
    a transform, straight into ``out``); reads and kernels run without the GIL. See
    :mod:`dicomfast.pixels.pipeline` for the options and the dtype policy.

    ``strict=True`` reads ``src`` (when it is not a Dataset) with ``dcmread(..., strict=True)``
    (:mod:`dicomfast.defects`). ``decoder`` and ``workers``: as :func:`dicomfast.pixel_array`'s,
    for compressed data. ``storage_options``: a URL's request options, as :func:`dicomfast.dcmread`'s.
    """
    src = source_of(src, storage_options)
    if frame is not None and (isinstance(frame, bool) or not isinstance(frame, (int, np.integer))):
        raise TypeError(f"frame must be an int, not {type(frame).__name__}")
    window = _window_option(window)
    decoder = check_decoder(decoder)
    if workers is not None:
        check_workers(workers)
    if is_remote(src):
        if frame is not None:  # the header, then the frame's bytes alone
            with FrameReader(src, strict=strict) as reader:
                stored = reader.stored([frame])[0]
                return _finish(reader.header, reader.module, reader.info, frame, stored, False, False,
                               rescale, window, dtype, out, strict)
        source = open_source(src)
        found = read_stored(source, None, out if window is None and not rescale else None, strict=strict)
        if found is not None:
            return _finish(found.header, found.module, found.info, found.frame, found.array,
                           found.array is out and out is not None, found.scratch, rescale, window, dtype, out, strict)
        src = read_source(source, strict=strict)
    elif type(src) is str or isinstance(src, os.PathLike):
        # straight into out (or a new array) when nothing is to be transformed
        direct = None
        if window is None and not rescale:
            direct = out
        found = read_stored(os.fspath(src), frame, direct, strict=strict)
        if found is not None:
            return _finish(found.header, found.module, found.info, found.frame, found.array,
                           found.array is direct and direct is not None, found.scratch, rescale, window, dtype, out, strict)
    ds = to_dataset(src, strict)
    m, info = module_info(ds, strict=strict)
    if frame is not None:
        frame = check_frame(info, frame)
    stored = decode(ds, info, frame, decoder=decoder, workers=workers)
    return _finish(ds, m, info, frame, stored, False, False, rescale, window, dtype, out, strict)


def _finish(ds: Any, m: PixelModule, info: PixelInfo, frame: int | None, stored: np.ndarray, done: bool,
            scratch: bool, rescale: bool, window: Any, dtype: Any, out: np.ndarray | None,
            strict: bool = False) -> np.ndarray:
    dtype = output_dtype(dtype, rescale, window, stored.dtype)
    if done:
        if out.dtype != dtype:
            raise TypeError(f"out has dtype {out.dtype} but the output dtype is {dtype}; pass dtype=out.dtype")
        return out  # the stored values were read straight into out
    if out is None:
        if window is None and not rescale and dtype == stored.dtype and not scratch:
            return stored if stored.flags.writeable else stored.copy()
        out = np.empty(stored.shape, dtype)  # as large as data that exists (times 8 at most)
    else:
        check_out(out, stored.shape, dtype)
    if frame is not None:
        frames: Sequence[int] = (frame,)
    elif stored.ndim > len(info.frame_shape):
        frames = range(stored.shape[0])
    else:
        frames = (0,)
    return transform_into(ds, m, stored, out, frames, rescale, window, strict)


# -- frames of one file into a caller's array (volumes, batches) -------------------------------------

def read_dataset(src: Any, strict: bool = False) -> Dataset:
    """``src`` itself if it is a dicomfast Dataset, else ``dcmread(src, strict=strict)`` of a path,
    URL or :class:`~dicomfast.sources.ByteSource`."""
    if isinstance(src, Dataset):
        return src
    if isinstance(src, (str, os.PathLike, ByteSource)):
        return dcmread(src, strict=strict)
    raise TypeError(f"expected a path or a dicomfast Dataset, not {type(src).__name__}")


def _check_monochrome(info: PixelInfo) -> None:
    if info.samples_per_pixel != 1:
        raise PixelDataError(
            f"{info.photometric_interpretation} has {info.samples_per_pixel} samples per pixel: "
            "volumes and batches are read from monochrome images only")


def fill(src: Any, out: np.ndarray, *, frames: Sequence[int] | None = None, rescale: bool = True,
         window: Any = None, strict: bool = False) -> None:
    """Write the frames of ``src`` (a path, URL, :class:`~dicomfast.sources.ByteSource` or a full
    dicomfast Dataset) into ``out``, through the pipeline: the volume and batch readers' entry.

    ``frames=None`` writes the whole pixel data, shaped as ``pixel_array`` shapes it (``out`` is
    (rows, cols) or (frames, rows, cols)); otherwise ``out`` is (len(frames), rows, cols) and
    ``out[i]`` receives frame ``frames[i]``. ``window`` is checked (:func:`check_window`).
    Monochrome data only. ``strict``: a path is read with ``strict=True``.
    """
    if type(src) is str or isinstance(src, (os.PathLike, ByteSource)):
        where = src if isinstance(src, ByteSource) else os.fspath(src)
        if (frames is None or len(frames) == 1) and _fill_from_file(where, out, frames, rescale, window, strict):
            return
    ds = read_dataset(src, strict)
    m, info = module_info(ds, strict=strict)
    _check_monochrome(info)
    if frames is None:
        arr = decode(ds, info, None)
        if arr.shape != out.shape:
            raise ValueError(f"the pixel data has shape {arr.shape}, the output {out.shape}")
        transform_into(ds, m, arr, out, range(arr.shape[0]) if arr.ndim == 3 else (0,), rescale, window, strict)
        return
    expect = (len(frames), info.rows, info.columns)
    if out.shape != expect:
        raise ValueError(f"{len(frames)} frame(s) of {info.rows} x {info.columns} need shape {expect}, not {out.shape}")
    frames = [check_frame(info, k) for k in frames]
    whole = decode(ds, info, None) if len(frames) > 1 and not info.encapsulated else None
    for i, k in enumerate(frames):
        if whole is not None:
            arr = whole[k] if whole.ndim == 3 else whole
        else:
            arr = decode(ds, info, k)
        transform_into(ds, m, arr, out[i], (k,), rescale, window, strict)


def _fill_from_file(path: str | ByteSource, out: np.ndarray, frames: Sequence[int] | None, rescale: bool, window: Any,
                    strict: bool = False) -> bool:
    """:func:`fill` for a path whose native pixel data can be read straight from the file (all
    frames, or one): the same checks in the same order, the same transforms, on the header read
    up to the pixel data. False when the file needs the general path."""
    def check(info: PixelInfo) -> None:
        _check_monochrome(info)
        if frames is not None:
            expect = (1, info.rows, info.columns)
            if out.shape != expect:
                raise ValueError(f"1 frame(s) of {info.rows} x {info.columns} need shape {expect}, not {out.shape}")

    target = out if frames is None else (out[0] if out.ndim == 3 else None)
    direct = not rescale and window is None and target is not None  # stored values: into out itself
    found = read_stored(path, None if frames is None else frames[0], target if direct else None, check, strict)
    if found is None:
        return False
    ds, m, info, frame, arr = found.header, found.module, found.info, found.frame, found.array
    if arr is target:
        return True
    if frame is not None:
        transform_into(ds, m, arr, out[0], (frame,), rescale, window, strict)
        return True
    if arr.shape != out.shape:
        raise ValueError(f"the pixel data has shape {arr.shape}, the output {out.shape}")
    transform_into(ds, m, arr, out, range(arr.shape[0]) if arr.ndim == 3 else (0,), rescale, window, strict)
    return True
