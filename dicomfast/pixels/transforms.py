"""Pixel value transforms: modality LUT / rescale, VOI LUT, windowing, and a fused ``window``.

``apply_modality_lut``, ``apply_voi_lut`` and ``apply_windowing`` return what pydicom's functions of
the same names return (values, dtypes and errors; see docs/transforms.md for the few differences).
``window`` goes from stored values to a display dtype in one pass.

This module validates and casts; the compiled kernels in ``_transform.pyx`` trust what they get.
Datasets are read by attribute keyword only (``ds.get("RescaleSlope")``), so a dicomfast
:class:`~dicomfast.Dataset` and a pydicom ``Dataset`` both work.
"""
from __future__ import annotations

import struct
from math import isfinite
from typing import Any

import numpy as np

from . import _transform
from ..errors import InvalidValueError
from .groups import frame_items, is_enhanced

__all__ = ["apply_modality_lut", "apply_voi_lut", "apply_windowing", "window", "frame_parameters", "window_into",
           "rescale_into", "as_kernel_input", "check_out", "WINDOW_DTYPES"]

#: Input dtypes the kernels take as they are; other integer and float dtypes are cast first.
_KERNEL_INPUTS = frozenset(
    np.dtype(t) for t in (np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32, np.float32, np.float64)
)
#: Output dtypes of ``window``.
WINDOW_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
_FUNCTIONS = {"LINEAR": "LINEAR", "LINEAR_EXACT": "LINEAR_EXACT", "SIGMOID": "SIGMOID"}
_FUNCTIONS_BY_SPELLING = {**_FUNCTIONS, **{k.lower(): v for k, v in _FUNCTIONS.items()}}
#: dtype arguments seen often, so that window() skips numpy.dtype() for them.
_DTYPE_ARGS = {t: np.dtype(t) for t in (np.uint8, np.uint16, np.float16, np.float32, np.float64)}
_SCALARS = (int, float)
#: ``function`` spellings that take window()'s compiled fast path.
_LINEAR_SPELLINGS = frozenset(("linear", "LINEAR"))
#: The output scale of each window dtype: the integer range, or 1 for floats.
_SCALE = {dt: (float((1 << (8 * dt.itemsize)) - 1) if dt.kind == "u" else 1.0) for dt in _DTYPE_ARGS.values()}


# ---------------------------------------------------------------------------------------------
# argument checks and casts


def as_kernel_input(arr: Any, what: str = "arr") -> np.ndarray:
    """A C-contiguous, native-endian array of a kernel input dtype (a view when it already is one)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{what} must be a numpy.ndarray, not {type(arr).__name__}")
    dt = arr.dtype
    if dt.kind not in "iuf" or dt.fields is not None:
        raise TypeError(f"{what} must have an integer or floating point dtype, not {dt}")
    if not dt.isnative:
        dt = dt.newbyteorder("=")
    if dt not in _KERNEL_INPUTS:
        # int64/uint64 (exact up to 2**53) and float16 go through float64 / float32.
        dt = np.dtype(np.float32) if dt == np.float16 else np.dtype(np.float64)
    return np.ascontiguousarray(arr, dtype=dt)


def check_out(out: Any, shape: tuple, dtype: np.dtype, src: np.ndarray | None = None) -> np.ndarray:
    """``out`` if it can receive a result of ``shape`` and ``dtype`` (C-contiguous, writeable, not
    overlapping ``src`` other than element for element); else the TypeError or ValueError that
    says why."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"out has dtype {out.dtype} but the output dtype is {dtype}; pass dtype=out.dtype")
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape} but the result has shape {shape}")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if src is not None and np.may_share_memory(out, src):
        same = (
            out.__array_interface__["data"][0] == src.__array_interface__["data"][0]
            and out.dtype.itemsize == src.dtype.itemsize
        )
        if not same:
            raise ValueError("out overlaps the input other than element for element")
    return out


def _number(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, not {type(value).__name__}") from None
    if not isfinite(v):
        raise ValueError(f"{name} must be finite, not {v}")
    return v


def _window_coefficients(function: str, center: float, width: float, slope: float, intercept: float):
    """(kernel function, a, b) such that t = f(x * a + b) for a stored value x."""
    if function == "LINEAR":
        if width < 1:
            raise ValueError("The window width must be greater than or equal to 1 for a 'LINEAR' windowing operation")
        c = center - 0.5
        w = width - 1
        if w == 0:
            # A step at c: t = 1 where x * slope + intercept > c.
            return _transform.FUNC_STEP, slope, intercept - c
        return _transform.FUNC_LINEAR, slope / w, (intercept - c) / w + 0.5
    if width <= 0:
        raise ValueError(f"The window width must be greater than 0 for a '{function}' windowing operation")
    if function == "LINEAR_EXACT":
        return _transform.FUNC_LINEAR, slope / width, (intercept - center) / width + 0.5
    # SIGMOID: t = 1 / (1 + exp(-4 (y - c) / w)), y = x * slope + intercept
    return _transform.FUNC_SIGMOID, -4.0 * slope / width, -4.0 * (intercept - center) / width


def _function_name(function: Any) -> str:
    name = _FUNCTIONS_BY_SPELLING.get(function) if type(function) is str else None
    if name is not None:
        return name
    if not isinstance(function, str):
        raise TypeError(f"function must be a str, not {type(function).__name__}")
    name = _FUNCTIONS.get(function.strip().upper())
    if name is None:
        raise ValueError(f"Unsupported VOI LUT function {function!r}: use 'linear', 'linear_exact' or 'sigmoid'")
    return name


def _run_window(src: np.ndarray, dst: np.ndarray, function: str, center: float, width: float,
                slope: float, intercept: float, scale: float, offset: float) -> None:
    """Window the flat C-contiguous ``src`` into the flat ``dst`` (float16 is written as its bits)."""
    func, a, b = _window_coefficients(function, center, width, slope, intercept)
    if dst.dtype == np.float16:
        _transform.window(src, dst.view(np.uint16), func, a, b, scale, offset, True)
    else:
        _transform.window(src, dst, func, a, b, scale, offset, False)


def window_into(src: np.ndarray, out: np.ndarray, center: Any, width: Any, slope: Any = 1.0, intercept: Any = 0.0,
                function: Any = "LINEAR") -> np.ndarray:
    """:func:`window` of one set of parameters into ``out``, for callers that have checked ``out``
    (C-contiguous, writeable, of ``src``'s shape, a window dtype, not overlapping ``src``): the
    pixel pipeline's entry to the kernel."""
    if function in _LINEAR_SPELLINGS and _transform.window_linear_u8(src, out, center, width, slope, intercept) is not None:
        return out  # the display case (16-bit stored values into uint8), all checked in C
    if not (src.flags.c_contiguous and src.dtype in _KERNEL_INPUTS):
        src = as_kernel_input(src)
    _run_window(src.reshape(-1), out.reshape(-1), _function_name(function), _number(center, "center"),
                _number(width, "width"), _number(slope, "slope"), _number(intercept, "intercept"),
                _SCALE[out.dtype], 0.0)
    return out


def rescale_into(src: np.ndarray, out: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """``out = src * slope + intercept``, computed in float64 and rounded once into ``out``'s float
    dtype (so a float32 result equals pydicom's float64 result cast to float32); ``out`` checked by
    the caller (C-contiguous, float32 or float64, ``src``'s shape)."""
    if not (src.flags.c_contiguous and src.dtype in _KERNEL_INPUTS):
        src = as_kernel_input(src)
    _transform.rescale(src.reshape(-1), out.reshape(-1), slope, intercept)
    return out


# ---------------------------------------------------------------------------------------------
# window


def window(arr, center, width, *, slope=1.0, intercept=0.0, function="linear", dtype=np.uint8, out=None):
    """Rescale and window stored values into a display dtype in one pass.

    ``y = x * slope + intercept`` is windowed by ``center``/``width`` with ``function``
    (``"linear"``, ``"linear_exact"`` or ``"sigmoid"``, as DICOM PS3.3 C.11.2.1.2 defines them) to
    ``t`` in [0, 1]. For ``uint8``/``uint16`` the result is ``t`` over the whole output range,
    rounded half up; for ``float16``/``float32``/``float64`` it is ``t`` itself. NaN inputs give 0
    for integer outputs and NaN for float outputs.

    ``arr`` may be any integer or float array. For a multi-frame array (frames first),
    ``center``, ``width``, ``slope`` and ``intercept`` may each be a sequence with one value per
    frame (see :func:`frame_parameters`). ``out``, when given, must be C-contiguous, writable, of
    ``arr``'s shape and of ``dtype``.
    """
    if out is not None and dtype is np.uint8 and function in _LINEAR_SPELLINGS:
        # The display case (16-bit stored values, a LINEAR window, a preallocated uint8 out), all
        # checked in C; None when the call is anything else.
        done = _transform.window_linear_u8(arr, out, center, width, slope, intercept)
        if done is not None:
            return done
    dtype = _DTYPE_ARGS.get(dtype) or np.dtype(dtype)
    if dtype not in WINDOW_DTYPES:
        raise TypeError(f"dtype must be one of uint8, uint16, float16, float32, float64, not {dtype}")
    function = _function_name(function)
    if type(arr) is np.ndarray and arr.dtype in _KERNEL_INPUTS and arr.flags.c_contiguous:
        src = arr  # the common case, without the checks and the conversion
    else:
        src = as_kernel_input(arr)
    if out is None:
        out = np.empty(src.shape, dtype)
    elif not (type(out) is np.ndarray and out.dtype == dtype and out.shape == src.shape
              and out.flags.c_contiguous and out.flags.writeable and not np.may_share_memory(out, src)):
        check_out(out, src.shape, dtype, src)  # says what is wrong (or allows exact overlap)
    scale = _SCALE[dtype]

    params = (center, width, slope, intercept)
    if type(center) in _SCALARS and type(width) in _SCALARS and type(slope) in _SCALARS and type(intercept) in _SCALARS:
        # The usual call: four plain numbers.
        c, w, s, i = float(center), float(width), float(slope), float(intercept)
        if not (isfinite(c) and isfinite(w) and isfinite(s) and isfinite(i)):
            c, w, s, i = (_number(p, n) for p, n in zip(params, ("center", "width", "slope", "intercept")))
        _run_window(src.reshape(-1), out.reshape(-1), function, c, w, s, i, scale, 0.0)
        return out
    per_frame = tuple(not isinstance(p, (int, float, np.generic)) and np.ndim(p) > 0 for p in params)
    if not any(per_frame):
        c, w, s, i = (_number(p, n) for p, n in zip(params, ("center", "width", "slope", "intercept")))
        _run_window(src.reshape(-1), out.reshape(-1), function, c, w, s, i, scale, 0.0)
        return out
    if src.ndim < 2:
        raise ValueError("per-frame parameters need an array of frames (frames first)")
    nframes = src.shape[0]
    columns = []
    for p, name, pf in zip(params, ("center", "width", "slope", "intercept"), per_frame):
        if pf:
            p = list(np.asarray(p, dtype=object).reshape(-1))
            if len(p) != nframes:
                raise ValueError(f"{name} has {len(p)} values for {nframes} frames")
            columns.append([_number(v, name) for v in p])
        else:
            columns.append([_number(p, name)] * nframes)
    for k in range(nframes):
        _run_window(src[k].reshape(-1), out[k].reshape(-1), function,
                    columns[0][k], columns[1][k], columns[2][k], columns[3][k], scale, 0.0)
    return out


# ---------------------------------------------------------------------------------------------
# dataset access (dicomfast or pydicom)


def _get(ds: Any, keyword: str, default: Any = None) -> Any:
    value = ds.get(keyword, default)
    # pydicom's get returns the value for a keyword; a DataElement only for a tag.
    return value


def _values(value: Any) -> list:
    """A multi-valued attribute as a list (a single value becomes a one-element list)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, int, float)):
        return [value]
    return list(value)


def _little_endian(ds: Any) -> bool:
    flag = getattr(type(ds), "is_little_endian", None)
    if isinstance(flag, property) and not hasattr(ds, "original_encoding"):
        return bool(ds.is_little_endian)  # dicomfast
    encoding = getattr(ds, "original_encoding", (None, None))
    if encoding[1] is not None:
        return bool(encoding[1])
    meta = getattr(ds, "file_meta", None)
    if meta is not None and hasattr(meta, "_tsyntax_encoding") and meta._tsyntax_encoding[1] is not None:
        return bool(meta._tsyntax_encoding[1])
    raise InvalidValueError("Unable to determine the endianness of the LUT Data (OW)")


def _lut(item: Any, ds: Any, kind: str) -> tuple[np.ndarray, int]:
    """(LUT entries as uint8/uint16, first mapped value) of a Modality or VOI LUT item."""
    descriptor = _values(_get(item, "LUTDescriptor"))
    if len(descriptor) != 3:
        raise InvalidValueError(f"{kind} LUT Descriptor must have 3 values, not {descriptor!r}")
    entries = int(descriptor[0]) or 65536
    first_map = int(descriptor[1])
    depth = int(descriptor[2])
    if kind == "VOI":
        if depth == 8:
            dtype = np.uint8
        elif 10 <= depth <= 16:
            dtype = np.uint16
        else:
            raise NotImplementedError(f"'{depth}' bits per LUT entry is not supported")
    else:
        if depth not in (8, 16):
            # pydicom uses numpy's uint{depth}, which exists for 8 and 16 only.
            raise NotImplementedError(f"'{depth}' bits per Modality LUT entry is not supported")
        dtype = np.uint8 if depth == 8 else np.uint16
    data = _get(item, "LUTData")
    if data is None:
        raise InvalidValueError(f"{kind} LUT Sequence item has no LUT Data")
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        if len(data) < 2 * entries:
            raise InvalidValueError(f"{kind} LUT Data has {len(data) // 2} entries, the descriptor says {entries}")
        order = "<" if _little_endian(ds) else ">"
        lut = np.array(struct.unpack_from(f"{order}{entries}H", data), dtype=dtype)
    else:
        try:
            lut = np.asarray(_values(data), dtype=dtype)
        except OverflowError:
            raise InvalidValueError(f"{kind} LUT Data has values beyond {depth} bits") from None
        if lut.size < entries:
            raise InvalidValueError(f"{kind} LUT Data has {lut.size} entries, the descriptor says {entries}")
        lut = lut[: max(entries, 1)] if lut.size > entries else lut
    return np.ascontiguousarray(lut), first_map


def _apply_lut(arr: np.ndarray, lut: np.ndarray, first_map: int) -> np.ndarray:
    src = as_kernel_input(arr)
    dst = np.empty(src.shape, lut.dtype)
    _transform.lookup(src.reshape(-1), lut, dst.reshape(-1), first_map)
    return dst


def _rescale(arr: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    src = as_kernel_input(arr)
    dst = np.empty(src.shape, np.float64)
    _transform.rescale(src.reshape(-1), dst.reshape(-1), slope, intercept)
    return dst


def _nframes(arr: np.ndarray, ds: Any) -> int:
    n = int(_get(ds, "NumberOfFrames", 1) or 1)
    if n > 1 or arr.ndim == 3:
        if arr.ndim != 3 or arr.shape[0] != n:
            raise ValueError(f"a dataset of {n} frames needs an array shaped (frames, rows, columns), not {arr.shape}")
    return n


def frame_parameters(ds: Any, index: int = 0) -> dict:
    """Per-frame ``slope``, ``intercept``, ``center``, ``width`` and ``function`` for :func:`window`.

    Read from the Pixel Value Transformation and Frame VOI LUT functional groups of an enhanced
    multi-frame dataset (per-frame groups first, then shared groups), or from the top-level
    attributes of any other dataset. ``index`` chooses among several windows. Slopes default to 1
    and intercepts to 0; a frame without a window raises :class:`~dicomfast.InvalidValueError`.
    ``window(arr, **frame_parameters(ds))`` windows every frame with its own values.
    """
    if is_enhanced(ds):
        n = int(_get(ds, "NumberOfFrames", 1) or 1)
        rescales = frame_items(ds, "PixelValueTransformationSequence", n)
        vois = frame_items(ds, "FrameVOILUTSequence", n)
    else:
        n = 1
        rescales = vois = [ds]
    out = {"slope": [], "intercept": [], "center": [], "width": []}
    functions = set()
    for k in range(n):
        r, v = rescales[k], vois[k]
        out["slope"].append(float(_get(r, "RescaleSlope", 1.0)) if r is not None else 1.0)
        out["intercept"].append(float(_get(r, "RescaleIntercept", 0.0)) if r is not None else 0.0)
        if v is None or _get(v, "WindowCenter") is None or _get(v, "WindowWidth") is None:
            raise InvalidValueError(f"frame {k} has no Window Center and Window Width")
        centers, widths = _values(_get(v, "WindowCenter")), _values(_get(v, "WindowWidth"))
        out["center"].append(float(centers[index] if len(centers) > 1 else centers[0]))
        out["width"].append(float(widths[index] if len(widths) > 1 else widths[0]))
        functions.add(str(_get(v, "VOILUTFunction", "LINEAR") or "LINEAR").upper())
    if len(functions) > 1:
        raise InvalidValueError(f"frames use different VOI LUT functions: {sorted(functions)}")
    result: dict = {k: np.array(v) for k, v in out.items()}
    result["function"] = functions.pop()
    if not is_enhanced(ds):
        result = {k: (v[0] if k != "function" else v) for k, v in result.items()}
    return result


# ---------------------------------------------------------------------------------------------
# pydicom-compatible functions


def apply_modality_lut(arr: np.ndarray, ds: Any) -> np.ndarray:
    """Apply the Modality LUT Sequence, or Rescale Slope/Intercept, to ``arr`` as pydicom does.

    A Modality LUT gives ``uint8``/``uint16`` (the LUT's bit depth); a rescale gives ``float64``;
    neither returns ``arr`` unchanged. For an enhanced multi-frame dataset and an array shaped
    (frames, rows, columns), each frame is rescaled with its Pixel Value Transformation (per-frame
    functional groups first, then shared); frames without one are converted to float64 unchanged.
    """
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"arr must be a numpy.ndarray, not {type(arr).__name__}")
    seq = _get(ds, "ModalityLUTSequence")
    if seq:
        lut, first_map = _lut(seq[0], ds, "Modality")
        return _apply_lut(arr, lut, first_map)
    slope, intercept = _get(ds, "RescaleSlope"), _get(ds, "RescaleIntercept")
    if slope is not None and intercept is not None:
        return _rescale(arr, float(slope), float(intercept))
    if is_enhanced(ds):
        n = _nframes(arr, ds)
        items = frame_items(ds, "PixelValueTransformationSequence", n)
        if all(it is None for it in items):
            return arr
        src = as_kernel_input(arr).reshape((n,) + arr.shape[-2:]) if arr.ndim >= 2 else as_kernel_input(arr)
        dst = np.empty(src.shape, np.float64)
        for k, it in enumerate(items):
            s = float(_get(it, "RescaleSlope", 1.0)) if it is not None else 1.0
            i = float(_get(it, "RescaleIntercept", 0.0)) if it is not None else 0.0
            _transform.rescale(src[k].reshape(-1), dst[k].reshape(-1), s, i)
        return dst.reshape(arr.shape)
    return arr


def apply_voi_lut(arr: np.ndarray, ds: Any, index: int = 0, prefer_lut: bool = True) -> np.ndarray:
    """Apply the VOI LUT Sequence or the window of ``ds`` to ``arr``, as pydicom's function of that name.

    With both present, ``prefer_lut`` chooses the LUT. A VOI LUT gives ``uint8``/``uint16``;
    windowing gives ``float64`` (see :func:`apply_windowing`); neither returns ``arr`` unchanged.
    """
    seq = _get(ds, "VOILUTSequence")
    valid_voi = bool(seq) and _get(seq[0], "LUTDescriptor") is not None and _get(seq[0], "LUTData") is not None
    valid_windowing = _get(ds, "WindowCenter") is not None and _get(ds, "WindowWidth") is not None
    if valid_voi and (prefer_lut or not valid_windowing):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"arr must be a numpy.ndarray, not {type(arr).__name__}")
        lut, first_map = _lut(seq[index], ds, "VOI")
        return _apply_lut(arr, lut, first_map)
    if valid_windowing:
        return apply_windowing(arr, ds, index)
    if is_enhanced(ds) and any(frame_items(ds, "FrameVOILUTSequence", _nframes(arr, ds))):
        return apply_windowing(arr, ds, index)
    return arr


def _output_range(ds: Any, rescale: Any) -> tuple[float, float]:
    """pydicom's y_min, y_max: from the Modality LUT depth or Bits Stored/Pixel Representation, rescaled."""
    mlut = _get(ds, "ModalityLUTSequence")
    if mlut:
        depth = int(_values(_get(mlut[0], "LUTDescriptor"))[2])
        y_min, y_max = 0, 2**depth - 1
    else:
        bits = _get(ds, "BitsStored")
        rep = _get(ds, "PixelRepresentation")
        if bits is None or rep is None:
            raise InvalidValueError("windowing needs Bits Stored and Pixel Representation")
        bits = int(bits)
        if int(rep) == 0:
            y_min, y_max = 0, 2**bits - 1
        else:
            y_min, y_max = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    slope, intercept = _get(rescale, "RescaleSlope"), _get(rescale, "RescaleIntercept")
    if slope is not None and intercept is not None:
        y_min = y_min * float(slope) + float(intercept)
        y_max = y_max * float(slope) + float(intercept)
    return float(y_min), float(y_max)


def _window_of(voi: Any, index: int) -> tuple[str, float, float]:
    function = str(_get(voi, "VOILUTFunction", "LINEAR") or "LINEAR").upper()
    if function not in _FUNCTIONS:
        raise ValueError(f"Unsupported (0028,1056) VOI LUT Function value '{function}'")
    centers, widths = _values(_get(voi, "WindowCenter")), _values(_get(voi, "WindowWidth"))
    center = centers[index] if len(centers) > 1 else centers[0]
    width = widths[index] if len(widths) > 1 else widths[0]
    return function, float(center), float(width)


def apply_windowing(arr: np.ndarray, ds: Any, index: int = 0) -> np.ndarray:
    """Apply the window of ``ds`` (Window Center/Width, VOI LUT Function) to ``arr`` as pydicom does.

    ``arr`` is the output of the modality transform. The result is ``float64`` over pydicom's output
    range (Bits Stored and Pixel Representation, or the Modality LUT's depth, through the rescale).
    MONOCHROME1 is windowed like MONOCHROME2 (not inverted), as in pydicom. For an enhanced
    multi-frame dataset without top-level window attributes, each frame of a (frames, rows,
    columns) array uses its Frame VOI LUT functional group.
    """
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"arr must be a numpy.ndarray, not {type(arr).__name__}")
    top = _get(ds, "WindowWidth") is not None or _get(ds, "WindowCenter") is not None
    enhanced = not top and is_enhanced(ds)
    if not top and not enhanced:
        return arr
    if _get(ds, "PhotometricInterpretation") not in ("MONOCHROME1", "MONOCHROME2"):
        raise ValueError(
            "When performing a windowing operation only 'MONOCHROME1' and 'MONOCHROME2' are "
            "allowed for (0028,0004) Photometric Interpretation"
        )
    src = as_kernel_input(arr)
    dst = np.empty(src.shape, np.float64)
    if not enhanced:
        if _get(ds, "WindowWidth") is None or _get(ds, "WindowCenter") is None:
            raise InvalidValueError("Window Center and Window Width must both be present")
        function, center, width = _window_of(ds, index)
        y_min, y_max = _output_range(ds, ds)
        _run_window(src.reshape(-1), dst.reshape(-1), function, center, width, 1.0, 0.0, y_max - y_min, y_min)
        return dst
    n = _nframes(arr, ds)
    vois = frame_items(ds, "FrameVOILUTSequence", n)
    rescales = frame_items(ds, "PixelValueTransformationSequence", n)
    frames = src.reshape((n,) + src.shape[-2:]) if src.ndim >= 2 else src.reshape(1, -1)
    out = dst.reshape(frames.shape)
    for k in range(n):
        if vois[k] is None:
            out[k] = frames[k]
            continue
        function, center, width = _window_of(vois[k], index)
        y_min, y_max = _output_range(ds, rescales[k] if rescales[k] is not None else ds)
        _run_window(frames[k].reshape(-1), out[k].reshape(-1), function, center, width, 1.0, 0.0, y_max - y_min, y_min)
    return dst
