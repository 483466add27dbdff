"""Pixel data straight from a file into an array, and the one-call path to display values.

* :func:`read_native` reads a file's header (the first block, more only if needed), finds the
  native Pixel Data element after it, and reads the pixel bytes from the file **directly into the
  result array** (``_scan.pread_into``, the GIL released): one open, two reads, no copy of the
  file's bytes and no scan of the pixel data. (``dicomfast.pixel_array(path)`` does not use it: the
  whole-file read and a view measured faster.)
* :func:`read_stored` is the same read into a reused per-thread buffer (or a caller's array), with
  the header dataset and its Image Pixel module: the reading half of ``read_pixels``, and of the
  volume and batch readers (``_frames.fill``).
* :func:`read_pixels` goes from a path, bytes or a Dataset to Hounsfield units (the modality
  transform) or to windowed display values in one call: the stored values are read into a reused
  per-thread buffer, and one fused kernel (``dicomfast.window``) rescales and windows them into
  the output, which the caller may provide (``out=``, e.g. one slice of a preallocated batch).
"""
from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from .. import reader
from . import native as pixels, transforms
from ..core._dataset import element_at_stop, pixel_module
from ..core._scan import pread_into
from ._transform import rescale as _rescale_kernel
from ..dataset import Dataset
from ..errors import InvalidValueError, TruncatedError

__all__ = ["read_native", "read_pixels", "read_stored"]

# Transfer syntaxes whose Pixel Data can be read from the file as it is stored.
_PLAIN = {"1.2.840.10008.1.2": False, "1.2.840.10008.1.2.1": False, "1.2.840.10008.1.2.2": True}
_LONG_VRS = {b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"UN", b"UT", b"UC", b"UR", b"SQ"}
_TAG_PIXEL_DATA = 0x7FE00010
_O_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
# Per-thread buffers for stored values that are transformed and then dropped: reusing them saves
# the page faults of a fresh allocation per file (about a third of the read time of a CT slice).
_SCRATCH = threading.local()
_SCRATCH_MAX = 256 << 20


def _scratch(nbytes: int) -> np.ndarray:
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.size < nbytes:
        buf = np.empty(max(nbytes, 1 << 16), np.uint8)
        if nbytes <= _SCRATCH_MAX:
            _SCRATCH.buf = buf
    return buf[:nbytes]


def _is_path(src: Any) -> bool:
    return type(src) is str or isinstance(src, os.PathLike)


def _read_header(fd: int, path: str) -> tuple[Dataset, bytes]:
    """The dataset up to its pixel data (``stop_before_pixels``), and the bytes it was read from."""
    size = reader.HEADER_BLOCK
    while True:
        data = os.pread(fd, size, 0)
        try:
            ds = reader._read_source(data, (True, None, False), name=path, complete=len(data) < size)
            return ds, data
        except reader._NeedMore:
            size = max(4 * size, 1 << 20)


def _pixel_element(ds: Dataset, m: tuple, data: bytes, fd: int) -> tuple[int, int, str] | None:
    """(value offset, value length, VR) of a native Pixel Data element where the header read
    stopped, or None when the fast path does not apply (no pixel data there, encapsulated, deflated,
    float pixel data): the caller then reads the whole file. ``m``: ``pixel_module(ds)``."""
    tape = ds._tape
    if tape.status != 1:
        return None
    syntax = m[pixels.M_SYNTAX]
    if type(syntax) is not str or syntax not in _PLAIN:
        return None
    found = element_at_stop(tape)
    if found is None:
        pos = tape.stop
        if pos + 12 <= len(data):
            return None  # an undefined length: encapsulated
        found = _element_beyond(tape, os.pread(fd, 12, pos), pos)
        if found is None:
            return None
    tag, value, length, vr = found
    if tag != _TAG_PIXEL_DATA:
        return None
    return value, length, vr


def _element_beyond(tape: Any, head: bytes, pos: int) -> tuple[int, int, int, str] | None:
    """``element_at_stop`` for an element header that the header read did not hold."""
    if len(head) < 12:
        return None
    order = "big" if tape.big_endian else "little"
    tag = int.from_bytes(head[0:2], order) << 16 | int.from_bytes(head[2:4], order)
    if tape.explicit_vr:
        vr = head[4:6]
        if vr in _LONG_VRS:
            length, value = int.from_bytes(head[8:12], order), pos + 12
        else:
            length, value = int.from_bytes(head[6:8], order), pos + 8
        vr_name = vr.decode("latin-1")
    else:
        length, value, vr_name = int.from_bytes(head[4:8], order), pos + 8, ""
    if length == 0xFFFFFFFF:
        return None  # encapsulated
    return tag, value, length, vr_name


def _read_into(fd: int, target: np.ndarray, offset: int, path: str) -> None:
    got = pread_into(fd, target, offset)
    if got < target.nbytes:
        raise TruncatedError(
            f"{path}: the file ends {target.nbytes - got} bytes before the end of its pixel data",
            offset=offset + got)


def _stored(fd: int, path: str, ds: Dataset, info: pixels.PixelInfo, value: int, frame: int | None,
            target: np.ndarray | None) -> np.ndarray:
    """Stored values of all frames (or one) as a flat array of ``info.dtype``, read from ``fd``
    into ``target`` (a flat array of the right size) or a new array."""
    frame_bytes = info.frame_bits // 8
    first, count = (0, info.number_of_frames) if frame is None else (frame, 1)
    dtype = info.dtype.newbyteorder(">") if info.big_endian and info.dtype.itemsize > 1 else info.dtype
    n = count * frame_bytes // dtype.itemsize
    flat = np.empty(n, dtype) if target is None else target.view(dtype)
    _read_into(fd, flat, value + first * frame_bytes, path)
    if dtype != info.dtype:
        flat = flat.byteswap(inplace=True).view(info.dtype)
    return flat


def _native_plan(path: str, fd: int) -> tuple[Dataset, tuple, pixels.PixelInfo, int] | None:
    """(header dataset, its ``pixel_module``, the checked PixelInfo, the pixel data's offset in the
    file) for native pixel data of 8 bits or more, or None for the general path."""
    ds, data = _read_header(fd, path)
    m = pixel_module(ds)
    found = _pixel_element(ds, m, data, fd)
    if found is None:
        return None
    value, length, vr = found
    info = pixels.check_module(m, "PixelData", -1, False, length, vr)
    if info.bits_allocated == 1 or info.swap_ow:
        return None  # bit unpacking and OW byte pairs: the general path
    return ds, m, info, value


def read_native(path: Any, frame: int | None = None, *, as_rgb: bool = True) -> np.ndarray | None:
    """``pixel_array(path, frame)`` for native pixel data of 8 to 64 bits, read straight into a new
    (writeable) array; None when the file needs the general path (encapsulated, deflated, 1-bit,
    no pixel data where the header ends)."""
    path = os.fspath(path)
    fd = os.open(path, _O_FLAGS)
    try:
        plan = _native_plan(path, fd)
        if plan is None:
            return None
        ds, m, info, value = plan
        if frame is not None:
            frame = pixels._check_frame(info, frame)
        flat = _stored(fd, path, ds, info, value, frame, None)
    finally:
        os.close(fd)
    return pixels._finish(info, flat, None if frame is not None else info.number_of_frames, as_rgb)


# -- read_pixels ------------------------------------------------------------------------------

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# Output dtypes of the direct window call, with their scale (as dicomfast.window sets it).
_WINDOW_FAST = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}


_ENHANCED = pixels.HAS_SHARED_GROUPS | pixels.HAS_PER_FRAME_GROUPS
_value = pixels._value


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple)) else value


def _rescale_items(ds: Dataset, m: tuple, nframes: int, frame: int | None) -> list[tuple[float, float]]:
    """(slope, intercept) per frame read: top-level Rescale Slope/Intercept, else the enhanced
    multi-frame Pixel Value Transformation groups, else (1, 0). ``m``: ``pixel_module(ds)``."""
    count = 1 if frame is not None else nframes
    slope, intercept = _value(m[pixels.M_RESCALE_SLOPE]), _value(m[pixels.M_RESCALE_INTERCEPT])
    if slope is not None and intercept is not None:
        return [(float(slope), float(intercept))] * count
    if m[pixels.M_PRESENCE] & _ENHANCED:
        items = transforms._frame_items(ds, "PixelValueTransformationSequence", nframes)
        pairs = [(float(transforms._get(it, "RescaleSlope", 1.0)) if it is not None else 1.0,
                  float(transforms._get(it, "RescaleIntercept", 0.0)) if it is not None else 0.0)
                 for it in items]
        return [pairs[frame]] if frame is not None else pairs
    return [(1.0, 0.0)] * count


def _one_window(m: tuple, window: Any, rescale: bool) -> tuple | None:
    """``(function, center, width, slope, intercept)`` for the common case, one window from
    top-level attributes (or the caller's), or None for :func:`_window_params`. Values are read and
    converted in :func:`_window_params`' order, so that a bad value raises the same error."""
    if type(window) is str:
        if window.lower() != "auto":
            raise ValueError(f"window must be (center, width), 'auto' or None, not {window!r}")
        center, width = _value(m[pixels.M_WINDOW_CENTER]), _value(m[pixels.M_WINDOW_WIDTH])
        if center is None or width is None:
            return None  # per-frame windows (functional groups), or none: frame_parameters says
        center, width = float(_first(center)), float(_first(width))
        function = str(_value(m[pixels.M_VOI_FUNCTION]) or "LINEAR").strip()
        slope, intercept = _value(m[pixels.M_RESCALE_SLOPE]), _value(m[pixels.M_RESCALE_INTERCEPT])
    else:
        try:
            center, width = window
        except (TypeError, ValueError):
            raise TypeError(f"window must be (center, width), 'auto' or None, not {window!r}") from None
        function = "linear"
        slope, intercept = _value(m[pixels.M_RESCALE_SLOPE]), _value(m[pixels.M_RESCALE_INTERCEPT])
        if slope is None or intercept is None:
            if m[pixels.M_PRESENCE] & _ENHANCED:
                return None
            slope, intercept = 1.0, 0.0
        slope, intercept = float(slope), float(intercept)
        center, width = float(center), float(width)
        return function, center, width, (slope if rescale else 1.0), (intercept if rescale else 0.0)
    if slope is None or intercept is None:
        if m[pixels.M_PRESENCE] & _ENHANCED:
            return None
        slope, intercept = 1.0, 0.0
    slope, intercept = float(slope), float(intercept)
    return function, center, width, (slope if rescale else 1.0), (intercept if rescale else 0.0)


def _window_params(ds: Dataset, m: tuple, window: Any, rescale: bool, nframes: int, frame: int | None) -> dict:
    """Keyword arguments of :func:`dicomfast.window` for the frames read."""
    if isinstance(window, str):
        if window.lower() != "auto":
            raise ValueError(f"window must be (center, width), 'auto' or None, not {window!r}")
        center, width = _value(m[pixels.M_WINDOW_CENTER]), _value(m[pixels.M_WINDOW_WIDTH])
        if center is not None and width is not None:
            # The common case, read directly: the first window, the top-level rescale.
            params = {"center": float(_first(center)), "width": float(_first(width)),
                      "function": str(_value(m[pixels.M_VOI_FUNCTION]) or "LINEAR").strip()}
            (params["slope"], params["intercept"]), = _rescale_items(ds, m, nframes, frame)[:1]
        else:
            params = transforms.frame_parameters(ds)
            if frame is not None or nframes == 1:
                k = frame or 0
                params = {key: (value[k] if isinstance(value, np.ndarray) and value.ndim else value)
                          for key, value in params.items()}
    else:
        try:
            center, width = window
        except (TypeError, ValueError):
            raise TypeError(f"window must be (center, width), 'auto' or None, not {window!r}") from None
        pairs = _rescale_items(ds, m, nframes, frame)
        params = {"center": float(center), "width": float(width), "function": "linear"}
        if len(pairs) == 1 or len(set(pairs)) == 1:
            params["slope"], params["intercept"] = pairs[0]
        else:
            params["slope"] = [p[0] for p in pairs]
            params["intercept"] = [p[1] for p in pairs]
    if not rescale:
        params["slope"], params["intercept"] = 1.0, 0.0
    return params


def _check_out(out: Any, shape: tuple, dtype: np.dtype) -> np.ndarray:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"out has dtype {out.dtype} but the output dtype is {dtype}; pass dtype=out.dtype")
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape} but the pixel data gives {shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be C-contiguous and writeable")
    return out


def read_pixels(src: Any, *, frame: int | None = None, rescale: bool = True, window: Any = None,
                dtype: Any = None, out: np.ndarray | None = None) -> np.ndarray:
    """Pixel data of ``src`` (a path, bytes, a file object or a Dataset), transformed, in one call.

    * ``window=None, rescale=True``: the modality transform (Rescale Slope/Intercept, per frame for
      enhanced multi-frame, or the Modality LUT): Hounsfield units for CT, ``float32`` by default
      (``dtype`` may be ``float64``). Values are pydicom's ``apply_modality_lut`` cast to ``dtype``.
    * ``window=(center, width)`` or ``"auto"`` (the file's first window; per frame for enhanced
      multi-frame, from :func:`dicomfast.transforms.frame_parameters`): rescale and window fused in
      one pass into ``dtype`` (``uint8`` by default; ``uint16``, ``float16``, ``float32``), as
      :func:`dicomfast.window` defines it. A ``(center, width)`` window is LINEAR.
    * ``rescale=False``: no modality transform (the window, if any, applies to stored values);
      without a window, the stored values themselves in ``dtype`` (their own dtype by default).

    ``frame=k`` reads only frame ``k``. ``out`` is an array to fill (C-contiguous, of the result's
    shape and dtype), e.g. ``batch[i]`` of a preallocated ``(N, rows, columns)`` array. For a path
    to native pixel data the stored values are read from the file into a reused buffer (or, without
    a transform, straight into ``out``); reads and kernels run without the GIL.
    """
    if frame is not None and (isinstance(frame, bool) or not isinstance(frame, (int, np.integer))):
        raise TypeError(f"frame must be an int, not {type(frame).__name__}")
    if dtype is not None:
        dtype = np.dtype(dtype)
    if window is not None:
        dtype = dtype or np.dtype(np.uint8)
    elif rescale:
        dtype = dtype or np.dtype(np.float32)
        if dtype not in _FLOATS:
            raise TypeError(f"the modality transform gives float32 or float64, not {dtype}")
    if _is_path(src):
        direct = window is None and not rescale and out is not None and (dtype is None or dtype == out.dtype)
        found = read_stored(os.fspath(src), frame, out if direct else None)
        if found is not None:
            ds, m, info, frame, stored = found
            if stored is out:
                return out  # read straight into out: nothing to transform
            return _transform(ds, m, stored, info, frame, rescale, window, dtype, out)
    ds = pixels._dataset(src)
    m, info = pixels.module_info(ds)
    if frame is not None:
        frame = pixels._check_frame(info, frame)
    stored = pixels._decode(ds, info, frame, True)
    return _transform(ds, m, stored, info, frame, rescale, window, dtype, out)


def read_stored(path: str, frame: int | None = None, into: np.ndarray | None = None,
                check: Any = None) -> tuple | None:
    """The stored values of the native pixel data of the file at ``path`` (all frames, or frame
    ``frame``) read straight from the file, as ``(header, pixel_module(header), PixelInfo, frame,
    array)``; None when the file needs the general path (``dcmread`` + ``pixel_array``: encapsulated,
    deflated, 1-bit data, 8-bit big-endian OW, no pixel data where the header ends).

    The array holds what ``pixel_array`` gives (shape, dtype, corrections, colour). It lives in a
    per-thread buffer that the next read in this thread reuses, unless ``into`` is given and fits:
    a C-contiguous writeable array of the result's shape and dtype, for data whose stored bytes are
    the result (one sample, nothing to correct), which then receives the bytes and is returned.
    ``header`` is the dataset up to the pixel data; ``frame`` is checked (an int, or None), after
    ``check(info)`` when given (the caller's own checks of the PixelInfo, which may raise).
    """
    fd = os.open(path, _O_FLAGS)
    try:
        plan = _native_plan(path, fd)
        if plan is None:
            return None
        ds, m, info, value = plan
        if check is not None:
            check(info)
        if frame is not None:
            frame = pixels._check_frame(info, frame)
        plain = _plain_layout(info)
        if (into is not None and plain and into.dtype == info.dtype and into.shape == _shape(info, frame)
                and into.flags.c_contiguous and into.flags.writeable):
            _stored(fd, path, ds, info, value, frame, into.reshape(-1).view(np.uint8))
            return ds, m, info, frame, into
        count = 1 if frame is not None else info.number_of_frames
        flat = _stored(fd, path, ds, info, value, frame, _scratch(count * (info.frame_bits // 8)))
    finally:
        os.close(fd)
    if plain:
        return ds, m, info, frame, flat.reshape(_shape(info, frame))  # nothing to correct or convert
    return ds, m, info, frame, pixels._finish(info, flat, None if frame is not None else info.number_of_frames, True)


def _plain_layout(info: pixels.PixelInfo) -> bool:
    """Stored bytes are the array as returned: no colour conversion, no bit correction, no transpose."""
    return (info.samples_per_pixel == 1 and info.bits_stored == info.bits_allocated
            and info.photometric_interpretation != "YBR_FULL_422")


def _shape(info: pixels.PixelInfo, frame: int | None) -> tuple:
    return info.frame_shape if frame is not None else info.shape


def _transform(ds: Any, m: tuple, stored: np.ndarray, info: pixels.PixelInfo, frame: int | None, rescale: bool,
               window: Any, dtype: np.dtype | None, out: np.ndarray | None) -> np.ndarray:
    nframes = info.number_of_frames
    modality_lut = m[pixels.M_PRESENCE] & pixels.HAS_MODALITY_LUT
    if (window is not None and dtype in _WINDOW_FAST and (frame is not None or nframes == 1)
            and not (rescale and modality_lut)):
        # The usual case, one window for one frame: straight to the kernel.
        one = _one_window(m, window, rescale)
        if one is not None:
            function, center, width, slope, intercept = one
            if out is None:
                out = np.empty(stored.shape, dtype)
            else:
                _check_out(out, stored.shape, dtype)
            src = stored if stored.flags.c_contiguous and stored.dtype in transforms._KERNEL_INPUTS \
                else transforms._as_input(stored)
            transforms._run_window(
                src.reshape(-1), out.reshape(-1), transforms._function_name(function),
                transforms._number(center, "center"), transforms._number(width, "width"),
                transforms._number(slope, "slope"), transforms._number(intercept, "intercept"),
                _WINDOW_FAST[dtype], 0.0)
            return out
    if window is not None:
        params = _window_params(ds, m, window, rescale, nframes, frame)
        if out is not None:
            _check_out(out, stored.shape, dtype)
        if rescale and modality_lut and ds.get("ModalityLUTSequence"):
            # A Modality LUT is not an affine map: window its output.
            stored = transforms.apply_modality_lut(stored, ds)
            params["slope"], params["intercept"] = 1.0, 0.0
        if type(params["center"]) is float and type(params["slope"]) is float and dtype in _WINDOW_FAST:
            # One frame's parameters (the usual case): straight to the kernel.
            if out is None:
                out = np.empty(stored.shape, dtype)
            src = stored if stored.flags.c_contiguous and stored.dtype in transforms._KERNEL_INPUTS \
                else transforms._as_input(stored)
            transforms._run_window(
                src.reshape(-1), out.reshape(-1), transforms._function_name(params["function"]),
                transforms._number(params["center"], "center"), transforms._number(params["width"], "width"),
                transforms._number(params["slope"], "slope"), transforms._number(params["intercept"], "intercept"),
                _WINDOW_FAST[dtype], 0.0)
            return out
        return transforms.window(stored, dtype=dtype, out=out, **params)
    if not rescale:
        dtype = dtype or stored.dtype
        if out is None:
            return stored.astype(dtype, copy=not stored.flags.writeable or stored.dtype != dtype)
        _check_out(out, stored.shape, dtype)
        np.copyto(out, stored, casting="unsafe")
        return out
    shape = stored.shape
    if out is None:
        out = np.empty(shape, dtype)
    else:
        _check_out(out, shape, dtype)
    if modality_lut and ds.get("ModalityLUTSequence"):
        np.copyto(out, transforms.apply_modality_lut(stored, ds), casting="unsafe")
        return out
    pairs = _rescale_items(ds, m, nframes, frame)
    src = transforms._as_input(stored)
    if len(pairs) == 1:
        _rescale_kernel(src.reshape(-1), out.reshape(-1), pairs[0][0], pairs[0][1])
    else:
        if src.shape[0] != len(pairs):
            raise InvalidValueError(f"{len(pairs)} frames of rescale values for an array shaped {src.shape}")
        for k, (slope, intercept) in enumerate(pairs):
            _rescale_kernel(src[k].reshape(-1), out[k].reshape(-1), slope, intercept)
    return out

