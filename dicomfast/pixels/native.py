"""Pixel data as NumPy arrays: the Image Pixel module read, checked against the data, and the
pixels decoded (native here, encapsulated through ``dicomfast.decoders`` where it exists).

The results follow pydicom's ``ds.pixel_array``: the same shapes ((rows, cols), (rows, cols,
samples), (frames, rows, cols[, samples])), dtypes, unused-bit correction and YBR to RGB
conversion. Where they differ on purpose:

* Native pixel data that needs no conversion is returned as a **read-only view on the bytes the
  file was read into**, not a copy (pydicom copies). ``arr.copy()`` gives a writeable array.
  Bits Stored < Bits Allocated does not by itself force a copy: the unused high bits are checked
  (one read-only pass) and corrected in a copy only when some value needs it.
* Planar Configuration 1 is returned as a transposed view (not C-contiguous).
* Big endian data is byte-swapped into native byte order (pydicom returns a big-endian dtype
  with the same values).
* Missing or invalid Image Pixel attributes, and pixel data shorter than the attributes say,
  raise :class:`~dicomfast.errors.PixelDataError` subclasses (a ``ValueError``) where pydicom
  raises ``AttributeError`` or ``ValueError``.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, NamedTuple

import numpy as np

from . import _native as _pixels
from ..core._dataset import pixel_module
from ..dataset import Dataset
from ..errors import (
    InvalidPixelAttributeError,
    PixelDataError,
    PixelDataLengthError,
    UnsupportedTransferSyntaxError,
)

__all__ = ["pixel_array", "iter_frames", "apply_color_lut", "pixel_info", "pixel_info_of", "PixelInfo"]

_PIXEL_TAGS = {0x7FE00010: "PixelData", 0x7FE00008: "FloatPixelData", 0x7FE00009: "DoubleFloatPixelData"}

# Transfer syntaxes whose pixel data is native (not encapsulated).
_NATIVE = {
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
}
# Encapsulated syntaxes whose decoders handle signedness themselves (pydicom's sign correction),
# so that the unused-bit correction does not apply.
_NO_BIT_CORRECTION = {
    "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",  # JPEG-LS
    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",  # HTJ2K
}
_PHOTOMETRIC = {
    "MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL", "YBR_FULL_422",
    "YBR_ICT", "YBR_RCT", "HSV", "ARGB", "CMYK", "YBR_PARTIAL_422", "YBR_PARTIAL_420",
}
_YBR = ("YBR_FULL", "YBR_FULL_422")
# (Bits Allocated, Pixel Representation) -> the dtype pydicom gives Pixel Data
_INT_DTYPES = {(1, 0): np.dtype(np.uint8), (1, 1): np.dtype(np.uint8)}
for _bits in (8, 16, 32, 64):
    for _pr in (0, 1):
        _INT_DTYPES[(_bits, _pr)] = np.dtype(("u" if _pr == 0 else "i") + str(_bits // 8))
del _bits, _pr
_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)


class PixelInfo(NamedTuple):
    """The Image Pixel module of a dataset, checked against its pixel data."""

    keyword: str                # PixelData, FloatPixelData or DoubleFloatPixelData
    index: int                  # the pixel data's record in the dataset's tape
    transfer_syntax: str
    encapsulated: bool
    big_endian: bool
    swap_ow: bool               # 8-bit data written as OW in big endian: swap byte pairs
    rows: int
    columns: int
    samples_per_pixel: int
    planar_configuration: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric_interpretation: str
    number_of_frames: int       # frames decoded: Number of Frames, or more if the data holds more
    dtype: np.dtype             # of the returned array, native byte order
    frame_bits: int             # bits of one stored frame (after YBR_FULL_422 subsampling)

    @property
    def frame_items(self) -> int:
        """Stored values per frame (before 1-bit unpacking or YBR_FULL_422 expansion)."""
        if self.bits_allocated == 1:
            return self.frame_bits
        return self.frame_bits // self.bits_allocated

    @property
    def frame_shape(self) -> tuple[int, ...]:
        if self.samples_per_pixel == 1:
            return (self.rows, self.columns)
        return (self.rows, self.columns, self.samples_per_pixel)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the whole array, as pydicom shapes it."""
        if self.number_of_frames > 1:
            return (self.number_of_frames,) + self.frame_shape
        return self.frame_shape


def _int(value: Any, keyword: str, required: bool = True) -> int | None:
    """A value of :func:`_dataset.pixel_module` that must be one integer (or absent, if not
    ``required``)."""
    if type(value) is int:
        return value
    if isinstance(value, Exception):
        raise value  # its decoding failed: raised here, where ds.Keyword would have raised it
    if value is None:
        if required:
            raise InvalidPixelAttributeError(f"the Image Pixel module has no {keyword} value")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPixelAttributeError(f"{keyword} has a value that is not one integer: {value!r}")
    return value


def _value(value: Any) -> Any:
    """A value of :func:`_dataset.pixel_module`, raising the exception its decoding raised."""
    if isinstance(value, Exception):
        raise value
    return value


def _dataset(src: Any) -> Dataset:
    if isinstance(src, Dataset):
        return src
    from ..reader import dcmread

    if isinstance(src, (str, os.PathLike, bytes, bytearray, memoryview)) or hasattr(src, "read"):
        return dcmread(src)
    raise TypeError(f"pixel_array reads a path, bytes, a file object or a Dataset, not {type(src).__name__}")


def pixel_info(ds: Dataset) -> PixelInfo:
    """Read and check the Image Pixel module of ``ds`` against its pixel data.

    Raises :class:`InvalidPixelAttributeError` for a missing or invalid attribute,
    :class:`PixelDataLengthError` for pixel data shorter than the attributes need, and
    :class:`UnsupportedTransferSyntaxError` for a transfer syntax dicomfast cannot decode.
    """
    return module_info(ds, False)[1]


def module_info(ds: Dataset, transform_values: bool = True) -> tuple[tuple, PixelInfo]:
    """``(pixel_module(ds, transform_values), pixel_info(ds))``: the module's values (with the
    rescale and window attributes, if asked for) and the checked PixelInfo."""
    m, info, _ = _module_view(ds, transform_values)
    return m, info


def _module_view(ds: Dataset, transform_values: bool) -> tuple[tuple, PixelInfo, tuple | None]:
    """:func:`module_info`, and the shape of the whole array when it is a plain view on the
    stored bytes (:func:`_plain`), else None."""
    m = pixel_module(ds, transform_values)
    if m[M_NPIXEL] == 0:
        raise PixelDataError("the dataset has no Pixel Data, Float Pixel Data or Double Float Pixel Data")
    if m[M_NPIXEL] > 1:
        raise PixelDataError("only one of Pixel Data, Float Pixel Data and Double Float Pixel Data may be present")
    info, view = _check_view(m, _PIXEL_TAGS[m[M_PIXEL_TAG]], m[M_PIXEL_INDEX], m[M_ENCAPSULATED],
                             m[M_PIXEL_LENGTH], m[M_PIXEL_VR])
    return m, info, view


def pixel_info_of(ds: Dataset, keyword: str, index: int, encapsulated: bool, length: int, vr: str) -> PixelInfo:
    """:func:`pixel_info` for a pixel data element described by the caller: ``keyword``, its tape
    ``index`` (-1 when the element was not scanned, as for a header read), whether it is
    ``encapsulated``, its value ``length`` and its ``vr``."""
    return check_module(pixel_module(ds), keyword, index, encapsulated, length, vr)


# Positions in the tuple of _dataset.pixel_module (see its docstring).
(M_SYNTAX, M_BIG_ENDIAN, M_EXPLICIT_VR, M_NPIXEL, M_PIXEL_TAG, M_PIXEL_INDEX, M_ENCAPSULATED,
 M_PIXEL_LENGTH, M_PIXEL_VR, M_PRESENCE, M_BITS_ALLOCATED, M_BITS_STORED, M_HIGH_BIT,
 M_PIXEL_REPRESENTATION, M_ROWS, M_COLUMNS, M_SAMPLES, M_PLANAR, M_PHOTOMETRIC, M_FRAMES,
 M_RESCALE_SLOPE, M_RESCALE_INTERCEPT, M_RESCALE_TYPE, M_WINDOW_CENTER, M_WINDOW_WIDTH,
 M_VOI_FUNCTION, M_KEY) = range(27)
# Bits of m[M_PRESENCE]
HAS_MODALITY_LUT, HAS_VOI_LUT, HAS_SHARED_GROUPS, HAS_PER_FRAME_GROUPS, HAS_PALETTE = 1, 2, 4, 8, 16
EXACT_TYPES = 32  # the checked values are exact ints / strs / None: equal values, equal checks

# The PixelInfo of recently checked modules, by their values: the files of a series share one.
_CHECKED: dict = {}


def check_module(m: tuple, keyword: str, index: int, encapsulated: bool, length: int, vr: str) -> PixelInfo:
    """The checks of :func:`pixel_info` on the values of :func:`_dataset.pixel_module`, for the
    pixel data element described by the other arguments."""
    return _check_view(m, keyword, index, encapsulated, length, vr)[0]


def _check_view(m: tuple, keyword: str, index: int, encapsulated: bool, length: int, vr: str) -> tuple:
    """(:func:`check_module`, the shape of a plain view on the stored bytes or None)."""
    if m[M_KEY] is None:
        info = _check_module(m, keyword, index, encapsulated, length, vr)
        return info, _view_shape(info)
    # Everything the checks read, with types that make equal keys mean equal outcomes: a hit
    # skips the checks.
    key = (m[M_KEY], keyword, index, encapsulated, length, vr)
    found = _CHECKED.get(key)
    if found is None:
        info = _check_module(m, keyword, index, encapsulated, length, vr)
        found = (info, _view_shape(info))
        if len(_CHECKED) >= 256:
            _CHECKED.clear()
        _CHECKED[key] = found
    return found


def _view_shape(info: PixelInfo) -> tuple | None:
    return info.shape if not info.encapsulated and _plain(info) else None


def _check_module(m: tuple, keyword: str, index: int, encapsulated: bool, length: int, vr: str) -> PixelInfo:
    syntax = _value(m[M_SYNTAX])
    if not syntax:
        # No meta group (read with force): the scan knows how the dataset is encoded.
        big = m[M_BIG_ENDIAN]
        syntax = "1.2.840.10008.1.2.2" if big else ("1.2.840.10008.1.2.1" if m[M_EXPLICIT_VR] else "1.2.840.10008.1.2")
    syntax = str(syntax)
    if syntax in _NATIVE and encapsulated:
        raise PixelDataError(f"the transfer syntax {syntax} is native but the pixel data is encapsulated")
    if syntax not in _NATIVE and not encapsulated:
        if syntax.startswith("1.2.840.10008.1.2"):
            raise PixelDataError(f"the transfer syntax {syntax} is encapsulated but the pixel data is not")
        raise UnsupportedTransferSyntaxError(f"unknown transfer syntax {syntax}")

    bits_allocated = _int(m[M_BITS_ALLOCATED], "BitsAllocated")
    if not (bits_allocated == 1 or (bits_allocated in (8, 16, 24, 32, 40, 48, 56, 64))):
        raise InvalidPixelAttributeError(
            f"Bits Allocated {bits_allocated} is invalid: it must be 1 or a multiple of 8 up to 64")
    if keyword == "PixelData":
        bits_stored = _int(m[M_BITS_STORED], "BitsStored")
        if not 1 <= bits_stored <= bits_allocated:
            raise InvalidPixelAttributeError(
                f"Bits Stored {bits_stored} is invalid: it must be from 1 to Bits Allocated ({bits_allocated})")
        pixel_representation = _int(m[M_PIXEL_REPRESENTATION], "PixelRepresentation")
        if pixel_representation not in (0, 1):
            raise InvalidPixelAttributeError(f"Pixel Representation {pixel_representation} is invalid: it must be 0 or 1")
        dtype = _INT_DTYPES.get((bits_allocated, pixel_representation))
        if dtype is None:
            raise InvalidPixelAttributeError(f"Bits Allocated {bits_allocated} has no NumPy integer type")
    else:
        want = 32 if keyword == "FloatPixelData" else 64
        if bits_allocated != want:
            raise InvalidPixelAttributeError(f"{keyword} needs Bits Allocated {want}, not {bits_allocated}")
        bits_stored = _int(m[M_BITS_STORED], "BitsStored", required=False) or bits_allocated
        pixel_representation = 0
        dtype = _FLOAT32 if want == 32 else _FLOAT64

    columns = _int(m[M_COLUMNS], "Columns")
    if not 0 < columns <= 0xFFFF:
        raise InvalidPixelAttributeError(f"Columns {columns} is invalid: it must be from 1 to 65535")
    rows = _int(m[M_ROWS], "Rows")
    if not 0 < rows <= 0xFFFF:
        raise InvalidPixelAttributeError(f"Rows {rows} is invalid: it must be from 1 to 65535")
    frames = _int(m[M_FRAMES], "NumberOfFrames", required=False)
    if frames is None or frames == 0:
        frames = 1  # pydicom assumes one frame, with a warning
    if frames < 1:
        raise InvalidPixelAttributeError(f"Number of Frames {frames} is invalid")
    photometric = _value(m[M_PHOTOMETRIC])
    if not isinstance(photometric, str) or not photometric:
        raise InvalidPixelAttributeError(f"Photometric Interpretation {photometric!r} is missing or invalid")
    photometric = photometric.strip()
    if photometric not in _PHOTOMETRIC:
        raise InvalidPixelAttributeError(f"unknown Photometric Interpretation {photometric!r}")
    samples = _int(m[M_SAMPLES], "SamplesPerPixel")
    if samples not in (1, 3):
        raise InvalidPixelAttributeError(f"Samples per Pixel {samples} is invalid: it must be 1 or 3")
    planar = 0
    if samples == 3:
        planar = _int(m[M_PLANAR], "PlanarConfiguration", required=not encapsulated) or 0
        if planar not in (0, 1):
            raise InvalidPixelAttributeError(f"Planar Configuration {planar} is invalid: it must be 0 or 1")

    big_endian = syntax == "1.2.840.10008.1.2.2"
    swap_ow = big_endian and bits_allocated == 8 and keyword == "PixelData" and vr == "OW"
    pixels = rows * columns * samples
    frame_bits = pixels * bits_allocated
    ybr422 = photometric == "YBR_FULL_422" and not encapsulated
    if ybr422:
        if bits_allocated == 1 or samples != 3:
            raise InvalidPixelAttributeError("YBR_FULL_422 needs 3 samples per pixel of 8 or more bits")
        frame_bytes = frame_bits // 8 // 3 * 2
        if (frame_bytes // (bits_allocated // 8)) % 4:
            raise InvalidPixelAttributeError("YBR_FULL_422 needs an even number of pixels per frame")
        frame_bits = frame_bytes * 8

    if not encapsulated:
        actual = length
        expected = -(-frame_bits * frames // 8)
        if actual < expected:
            raise PixelDataLengthError(
                f"the pixel data holds {actual} bytes, fewer than the {expected} bytes that "
                f"{frames} frame(s) of {rows} x {columns} x {samples} x {bits_allocated} bits need")
        padded = expected + expected % 2
        if actual > padded:
            if ybr422:
                ybr_length = expected // 2 * 3
                if actual >= ybr_length + ybr_length % 2:
                    raise PixelDataLengthError(
                        f"the pixel data holds {actual} bytes, a third more than {expected}: the "
                        "Photometric Interpretation is likely RGB or YBR_FULL, not YBR_FULL_422")
            else:
                # pydicom's allow_excess_frames: whole extra frames in the data are returned too
                frames = max(frames, actual * 8 // frame_bits)
    return PixelInfo(
        keyword, index, syntax, encapsulated, big_endian, swap_ow, rows, columns, samples, planar,
        bits_allocated, bits_stored, pixel_representation, photometric, frames, dtype, frame_bits)


# -- native decoding -------------------------------------------------------------------------

def _flat_native(info: PixelInfo, raw: memoryview, first: int, count: int) -> np.ndarray:
    """Frames [first, first + count) as a 1-D array of stored values: a read-only view on ``raw``
    when no conversion is needed."""
    frame_bits = info.frame_bits
    if info.bits_allocated == 1:
        start_bit = first * frame_bits
        nbits = count * frame_bits
        byte0 = start_bit // 8
        nbytes = -(-(start_bit % 8 + nbits) // 8)
        src = np.frombuffer(raw, np.uint8, count=nbytes, offset=byte0)
        out = np.empty(nbits, np.uint8)
        _pixels.unpack_bits(src, start_bit % 8, out)
        return out
    frame_bytes = frame_bits // 8
    start = first * frame_bytes
    nbytes = count * frame_bytes
    dtype = info.dtype
    if info.swap_ow:
        lo = start & ~1
        hi = start + nbytes + ((start + nbytes) & 1)
        chunk = raw[lo:hi]
        if len(chunk) < hi - lo:  # odd length data without its padding byte
            chunk = bytes(chunk) + b"\0"
        swapped = np.frombuffer(chunk, "<u2").byteswap().view(np.uint8)
        return swapped[start - lo: start - lo + nbytes].view(dtype)
    if info.big_endian and dtype.itemsize > 1:
        return np.frombuffer(raw, dtype.newbyteorder(">"), count=nbytes // dtype.itemsize,
                             offset=start).astype(dtype)
    return np.frombuffer(raw, dtype, count=nbytes // dtype.itemsize, offset=start)


def _finish(info: PixelInfo, flat: np.ndarray, frames: int | None, as_rgb: bool) -> np.ndarray:
    """Bit correction, YBR_FULL_422 expansion, shape and colour of a 1-D run of stored values.
    ``frames`` is None for one frame asked for by index."""
    if info.photometric_interpretation == "YBR_FULL_422" and not info.encapsulated:
        out = np.empty(flat.shape[0] // 4 * 6, flat.dtype)
        _pixels.expand_ybr422(flat, out)
        flat = out
    if info.keyword == "PixelData" and info.bits_stored < info.bits_allocated and info.bits_allocated > 1:
        if info.transfer_syntax not in _NO_BIT_CORRECTION:
            signed = info.pixel_representation == 1
            if _pixels.needs_bit_correction(flat, info.bits_stored, signed):
                if not flat.flags.writeable:
                    flat = flat.copy()
                _pixels.correct_bits(flat, info.bits_stored, signed)
    to_rgb = as_rgb and info.photometric_interpretation in _YBR
    rows, cols, samples = info.rows, info.columns, info.samples_per_pixel
    if samples == 1:
        shape = (rows, cols)
    elif info.planar_configuration == 0 or info.encapsulated:
        shape = (rows, cols, samples)
    else:
        shape = (samples, rows, cols)
    if frames is not None and frames > 1:
        shape = (frames,) + shape
    arr = flat.reshape(shape)
    if samples > 1 and info.planar_configuration == 1 and not info.encapsulated:
        arr = arr.transpose(0, 2, 3, 1) if arr.ndim == 4 else arr.transpose(1, 2, 0)
    if to_rgb:
        if samples != 3 or arr.dtype != np.uint8:
            # as pydicom: the conversion is defined for 8-bit samples (pass as_rgb=False)
            raise PixelDataError(
                f"{info.photometric_interpretation} to RGB needs 3 samples per pixel of 8 bits "
                f"(this data has {samples} of {info.bits_allocated}): pass as_rgb=False")
        src = np.ascontiguousarray(arr)
        out = np.empty(src.shape, src.dtype)
        _pixels.ybr_full_to_rgb(src.reshape(-1), out.reshape(-1))
        arr = out
    return arr


def _decoders():
    try:
        from .codecs import decode as decoders  # written in parallel (issue 3, encapsulated part)
    except ImportError:
        return None
    return decoders


def _encapsulated(ds: Dataset, info: PixelInfo, frame: int | None, as_rgb: bool) -> np.ndarray:
    decoders = _decoders()
    if decoders is None:
        raise UnsupportedTransferSyntaxError(
            f"the pixel data is encapsulated ({info.transfer_syntax}) and this build of dicomfast "
            "has no decoders for compressed pixel data")
    if frame is not None:
        flat = np.ascontiguousarray(decoders.decode_frame(ds, frame)).reshape(-1)
        return _finish(info, flat, None, as_rgb)
    n = info.number_of_frames
    if n > 1:
        # Every frame is at least one fragment (PS3.5 A.4): an untrusted Number of Frames must not
        # size the array beyond what the data can hold.
        from .encapsulated import _fragments

        fragments = len(_fragments(ds)[1])
        if n > fragments:
            raise PixelDataError(
                f"Number of Frames is {n} but the encapsulated Pixel Data holds {fragments} fragment(s)")
    first = np.ascontiguousarray(decoders.decode_frame(ds, 0))
    if n == 1:
        return _finish(info, first.reshape(-1), None, as_rgb)
    out = np.empty((n,) + first.shape, first.dtype)
    out[0] = first
    for i in range(1, n):
        out[i] = decoders.decode_frame(ds, i)
    return _finish(info, out.reshape(-1), n, as_rgb)


def _check_frame(info: PixelInfo, frame: Any) -> int:
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
        raise TypeError(f"frame must be an int, not {type(frame).__name__}")
    frame = int(frame)
    if not 0 <= frame < info.number_of_frames:
        raise IndexError(f"frame {frame} is out of range: the pixel data has {info.number_of_frames} frame(s)")
    return frame


def _decode(ds: Dataset, info: PixelInfo, frame: int | None, as_rgb: bool) -> np.ndarray:
    if info.encapsulated:
        return _encapsulated(ds, info, frame, as_rgb)
    raw = ds._tape.raw(info.index)
    if frame is None:
        if _plain(info):
            # The stored bytes are the array (a typical CT or MR series): one view, shaped.
            return np.ndarray(info.shape, info.dtype, raw)
        flat = _flat_native(info, raw, 0, info.number_of_frames)
        return _finish(info, flat, info.number_of_frames, as_rgb)
    return _finish(info, _flat_native(info, raw, frame, 1), None, as_rgb)


def _plain(info: PixelInfo) -> bool:
    """Native stored values that :func:`_flat_native` and :func:`_finish` return as a plain view:
    8 bits or more, in native byte order, one sample, nothing to correct or convert."""
    return (info.samples_per_pixel == 1 and info.bits_allocated > 1 and not info.swap_ow
            and (not info.big_endian or info.bits_allocated == 8)
            and (info.bits_stored == info.bits_allocated or info.keyword != "PixelData")
            and info.photometric_interpretation not in _YBR)


def pixel_array(src: Any, frame: int | None = None, *, as_rgb: bool = True) -> np.ndarray:
    """The pixel data of ``src`` (a path, bytes, a binary file object or a Dataset) as an array.

    ``frame=n`` decodes only frame ``n`` (shaped like a single frame). ``as_rgb=False`` keeps
    YBR_FULL and YBR_FULL_422 data in YBR (YBR_FULL_422 is still upsampled, as pydicom does).
    Palette colour data is returned as stored: :func:`apply_color_lut` maps it.

    Native data that needs no conversion is a read-only view on the file's bytes.
    """
    # (pixel_reader.read_native reads a path's pixel bytes straight into a new array; measured, it
    # is no faster than this whole-file read and view, so pixel_array does not use it.)
    ds = _dataset(src)
    _, info, view = _module_view(ds, False)
    if frame is None and view is not None:
        # The stored bytes are the array (a typical CT or MR series): one view, shaped.
        return np.ndarray(view, info.dtype, ds._tape.raw(info.index))
    if frame is not None:
        frame = _check_frame(info, frame)
    return _decode(ds, info, frame, as_rgb)


def iter_frames(src: Any, *, as_rgb: bool = True) -> Iterator[np.ndarray]:
    """Yield the frames of ``src`` one at a time, each shaped as a single frame."""
    ds = _dataset(src)
    info = pixel_info(ds)
    for i in range(info.number_of_frames):
        yield _decode(ds, info, i, as_rgb)


# -- palette colour -----------------------------------------------------------------------------

_MAX_LUT = 1 << 16


def _expand_segmented(data: np.ndarray, limit: int, count: int | None = None,
                      previous: int | None = None, depth: int = 0) -> list[int]:
    """Expand segmented palette LUT data (PS3.3 C.7.9.2) as pydicom does, bounded: at most
    ``limit`` entries, indirect segments nested at most 8 deep."""
    if depth > 8:
        raise InvalidPixelAttributeError("segmented palette LUT: indirect segments nest too deeply")
    values = data.tolist()
    out: list[int] = []
    pos = 0
    segments = 0
    n = len(values)
    while pos + 1 < n:
        opcode, length = values[pos], values[pos + 1]
        pos += 2
        if opcode == 0:
            out.extend(values[pos:pos + length])
            pos += length
        elif opcode == 1:
            if out:
                y0 = out[-1]
            elif previous:
                y0 = previous
            else:
                raise InvalidPixelAttributeError("segmented palette LUT: the first segment is linear")
            if pos >= n:
                raise InvalidPixelAttributeError("segmented palette LUT: a linear segment is truncated")
            y1 = values[pos]
            pos += 1
            if y0 == y1 or length == 0:
                out.extend([y1] * length)
            else:
                step = (y1 - y0) / length
                out.extend(int(v) for v in np.around(np.linspace(y0 + step, y1, length)))
        elif opcode == 2:
            if not out:
                raise InvalidPixelAttributeError("segmented palette LUT: the first segment is indirect")
            if data.dtype.itemsize == 1:
                if pos + 4 > n:
                    raise InvalidPixelAttributeError("segmented palette LUT: an indirect segment is truncated")
                b = values[pos:pos + 4]
                order = (3, 2, 1, 0) if data.dtype.byteorder != ">" else (2, 3, 0, 1)
                b = [b[i] for i in order]
                offset = (b[0] << 8 | b[1]) << 16 | (b[2] << 8 | b[3])
                pos += 4
            else:
                if pos + 2 > n:
                    raise InvalidPixelAttributeError("segmented palette LUT: an indirect segment is truncated")
                offset = values[pos + 1] << 16 | values[pos]
                pos += 2
            out.extend(_expand_segmented(data[offset:], limit - len(out), length, out[-1], depth + 1))
        else:
            raise InvalidPixelAttributeError(f"segmented palette LUT: unknown segment type {opcode}")
        if len(out) > limit:
            raise InvalidPixelAttributeError("segmented palette LUT expands past 65536 entries")
        segments += 1
        if segments == count:
            break
    return out


def apply_color_lut(arr: np.ndarray, ds: Any) -> np.ndarray:
    """Map PALETTE COLOR pixel values through the dataset's palette LUTs (plain or segmented),
    as pydicom's ``apply_color_lut(arr, ds)``: an array of shape ``arr.shape + (3,)`` (or 4 with
    an alpha LUT) of uint8 or uint16."""
    ds = _dataset(ds)
    if ds.get("PixelPresentation") in ("MIXED", "COLOR"):
        raise PixelDataError("the Supplemental Palette Color LUT module is not supported")
    descriptor = ds.get("RedPaletteColorLookupTableDescriptor")
    if not isinstance(descriptor, list) or len(descriptor) != 3:
        raise InvalidPixelAttributeError("no valid Red Palette Color Lookup Table Descriptor")
    entries = descriptor[0] or 1 << 16
    first_mapped = descriptor[1]
    nominal = descriptor[2]
    little = ds.is_little_endian
    luts: list[np.ndarray] = []
    if "RedPaletteColorLookupTableData" in ds:
        names = ("Red", "Green", "Blue", "Alpha")
        raws = [ds[f"{c}PaletteColorLookupTableData"].raw_value() if f"{c}PaletteColorLookupTableData" in ds
                else None for c in names]
        if any(r is None for r in raws[:3]):
            raise InvalidPixelAttributeError("a palette colour LUT's data is missing")
        depth = len(raws[0]) * 8 / entries
        if depth not in (8, 16):
            raise InvalidPixelAttributeError(f"the palette LUT data has {depth:.1f} bits per entry: 8 or 16 are allowed")
        # In the machine's byte order whatever the transfer syntax, as pydicom reads it (big
        # endian files in the wild, e.g. pydicom-data's OBXXXX1A_expb.dcm, hold these LUTs so).
        dtype = np.dtype(f"u{int(depth) // 8}")
        luts = [np.frombuffer(r, dtype, count=len(r) // dtype.itemsize).copy()
                for r in raws if r is not None and len(r)]
    elif "SegmentedRedPaletteColorLookupTableData" in ds:
        if nominal not in (8, 16):
            raise InvalidPixelAttributeError(f"the palette LUT descriptor gives {nominal} bits per entry: 8 or 16 are allowed")
        depth = nominal
        seg_dtype = np.dtype(f"{'<' if little else '>'}u{nominal // 8}")
        for c in ("Red", "Green", "Blue", "Alpha"):
            name = f"Segmented{c}PaletteColorLookupTableData"
            if name not in ds:
                if c != "Alpha":
                    raise InvalidPixelAttributeError(f"{name} is missing")
                continue
            r = ds[name].raw_value()
            if not len(r):
                continue
            seg = np.frombuffer(r, seg_dtype, count=len(r) // seg_dtype.itemsize)
            lut = _expand_segmented(seg, _MAX_LUT)
            luts.append(np.asarray(lut, dtype=f"u{nominal // 8}"))
    else:
        raise PixelDataError("no Palette Color Lookup Table module found")
    lengths = {len(lut) for lut in luts}
    if len(lengths) != 1:
        raise InvalidPixelAttributeError("the palette colour LUTs differ in length")
    if lengths.pop() < entries:
        raise InvalidPixelAttributeError("the palette colour LUTs are shorter than their descriptor says")
    dtype = luts[0].dtype
    arr = np.asarray(arr)
    # pydicom: values below the first mapped one take entry 0; the others are offset, stored in
    # the LUT's dtype (wrapping as NumPy's cast does), then clipped to the last entry.
    index = np.zeros(arr.shape, dtype)
    mapped = arr >= first_mapped
    index[mapped] = arr[mapped] - np.int32(first_mapped)
    np.clip(index, 0, entries - 1, out=index)
    out = np.empty(arr.shape + (len(luts),), dtype)
    for i, lut in enumerate(luts):
        out[..., i] = lut[index]
    return out
