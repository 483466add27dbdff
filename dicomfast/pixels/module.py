"""The Image Pixel module: read in one compiled walk (:class:`PixelModule`), checked once against
the pixel data into a :class:`PixelInfo`, which every pixel path uses.

Checks of equal values give equal results: the PixelInfo of recently checked modules is cached by
their values, so the files of a series are checked once.
"""
from __future__ import annotations

import os
from typing import Any, NamedTuple

import numpy as np

from ..dataset import Dataset
from ..defects import DefectError, defect
from ..errors import (
    InvalidPixelAttributeError,
    PixelDataError,
    PixelDataLengthError,
    UnsupportedTransferSyntaxError,
)
from ..reader import dcmread
from ..sources import is_remote
from ._module import PixelModule, pixel_module

__all__ = ["PixelInfo", "PixelModule", "PixelValues", "pixel_module", "pixel_info", "module_info", "check",
           "check_frame", "info_from_values",
           "to_dataset", "record_defects", "element_offset", "NATIVE_SYNTAXES", "NO_BIT_CORRECTION", "YBR"]

_PIXEL_TAGS = {0x7FE00010: "PixelData", 0x7FE00008: "FloatPixelData", 0x7FE00009: "DoubleFloatPixelData"}
_TAG_OF = {keyword: tag for tag, keyword in _PIXEL_TAGS.items()}

# Transfer syntaxes whose pixel data is native (not encapsulated).
NATIVE_SYNTAXES = {
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
}
# Encapsulated syntaxes whose decoders handle signedness themselves (pydicom's sign correction),
# so that the unused-bit correction does not apply.
NO_BIT_CORRECTION = {
    "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",  # JPEG-LS
    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",  # HTJ2K
}
_PHOTOMETRIC = {
    "MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL", "YBR_FULL_422",
    "YBR_ICT", "YBR_RCT", "HSV", "ARGB", "CMYK", "YBR_PARTIAL_422", "YBR_PARTIAL_420",
}
YBR = ("YBR_FULL", "YBR_FULL_422")
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
    plain: bool                 # native stored values that are the array as returned (a typical CT
                                # or MR image: 8 bits or more, native byte order, one sample,
                                # nothing to correct or convert): a view, shaped
    defects: tuple = ()         # (kind, tag) of each defect the checks tolerated (record_defects)

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



class PixelValues(NamedTuple):
    """The values of an Image Pixel module held elsewhere (the columns of an index row), with the
    attribute names of :class:`PixelModule` that :func:`check` reads: :func:`info_from_values`
    checks them as a dataset's module is checked."""

    transfer_syntax: str
    rows: Any
    columns: Any
    samples_per_pixel: Any
    bits_allocated: Any
    bits_stored: Any
    pixel_representation: Any
    photometric_interpretation: Any
    planar_configuration: Any
    number_of_frames: Any
    big_endian: bool = False     # read only without a transfer syntax
    explicit_vr: bool = True
    key: Any = None              # not cached by values: :func:`check` runs the checks


def info_from_values(values: PixelValues, keyword: str = "PixelData", *, encapsulated: bool,
                     length: int = 0, vr: str = "OB") -> PixelInfo:
    """The :class:`PixelInfo` of module ``values`` for a pixel data element described by the other
    arguments (as :func:`check`): the same checks, and errors, as :func:`pixel_info` of a dataset."""
    return check(values, keyword, -1, encapsulated, length, vr)  # type: ignore[arg-type]


def _int(value: Any, keyword: str, required: bool = True) -> int | None:
    """A module value that must be one integer (or absent, if not ``required``)."""
    if type(value) is int:
        return value
    if value is None:
        if required:
            raise InvalidPixelAttributeError(f"the Image Pixel module has no {keyword} value")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPixelAttributeError(f"{keyword} has a value that is not one integer: {value!r}")
    return value


def to_dataset(src: Any, strict: bool = False) -> Dataset:
    """``src`` itself if it is a Dataset (read already), else ``dcmread(src, strict=strict)`` of a
    path, URL, bytes, file object or remote source."""
    if isinstance(src, Dataset):
        return src
    if (isinstance(src, (str, os.PathLike, bytes, bytearray, memoryview)) or hasattr(src, "read")
            or is_remote(src)):
        return dcmread(src, strict=strict)
    raise TypeError(f"expected a path, bytes, a file object or a Dataset, not {type(src).__name__}")


def pixel_info(ds: Dataset, strict: bool = False) -> PixelInfo:
    """Read and check the Image Pixel module of ``ds`` against its pixel data.

    Raises :class:`InvalidPixelAttributeError` for a missing or invalid attribute,
    :class:`PixelDataLengthError` for pixel data shorter than the attributes need, and
    :class:`UnsupportedTransferSyntaxError` for a transfer syntax dicomfast cannot decode. An
    attribute with a safe default (Pixel Representation 0; Photometric Interpretation MONOCHROME2 or
    RGB by Samples per Pixel) and pixel data longer than the attributes say are defects: recorded on
    ``ds.defects``, or with ``strict`` a :class:`~dicomfast.defects.DefectError`.
    """
    return module_info(ds, False, strict)[1]


def module_info(ds: Dataset, transform_values: bool = True, strict: bool = False) -> tuple[PixelModule, PixelInfo]:
    """``(pixel_module(ds, transform_values), pixel_info(ds, strict))``: the module's values (with the
    rescale and window attributes, if asked for) and the checked PixelInfo."""
    m = pixel_module(ds, transform_values)
    if m.pixel_count == 0:
        raise PixelDataError("the dataset has no Pixel Data, Float Pixel Data or Double Float Pixel Data")
    if m.pixel_count > 1:
        raise PixelDataError("only one of Pixel Data, Float Pixel Data and Double Float Pixel Data may be present")
    info = check(m, _PIXEL_TAGS[m.pixel_tag], m.pixel_index, m.encapsulated, m.pixel_length, m.pixel_vr)
    if info.defects:
        record_defects(ds, info.defects, strict)
    return m, info


def element_offset(ds: Any, tag: int) -> int:
    """Where the element ``tag`` of ``ds`` starts in the scanned bytes; -1 when it is absent (or
    was not read from bytes)."""
    try:
        offset = ds[tag].file_offset if tag in ds else None
    except (KeyError, ValueError):
        offset = None
    return -1 if offset is None else offset


def record_defects(ds: Any, found: Any, strict: bool = False, where: Any = None) -> None:
    """The pixel layer's tolerated defects, ``(kind, tag)`` pairs, onto ``ds.defects`` (each once:
    a second read of the same pixels records nothing new); with ``strict`` the first raises
    :class:`~dicomfast.defects.DefectError`. The offset is that of the element in ``where`` (an
    item of a functional group, say), else in ``ds``."""
    for kind, tag in found:
        record = defect(kind, tag, element_offset(ds if where is None else where, tag))
        if strict:
            raise DefectError(f"{record} (strict=True)", defect=record)
        if record not in ds.defects:
            ds.defects.append(record)


# The PixelInfo of recently checked modules, by their values: the files of a series share one.
_CHECKED: dict = {}


def check(m: PixelModule, keyword: str, index: int, encapsulated: bool, length: int, vr: str) -> PixelInfo:
    """The checks of :func:`pixel_info` on ``m`` for the pixel data element described by the other
    arguments: its ``keyword``, its record ``index`` (-1 when it was not scanned, as after a
    header read), whether it is ``encapsulated``, its value ``length`` and ``vr``."""
    if m.key is None:
        return _check(m, keyword, index, encapsulated, length, vr)
    # Everything the checks read, with types that make equal keys mean equal outcomes: a hit
    # skips the checks.
    key = (m.key, keyword, index, encapsulated, length, vr)
    info = _CHECKED.get(key)
    if info is None:
        info = _check(m, keyword, index, encapsulated, length, vr)
        if len(_CHECKED) >= 256:
            _CHECKED.clear()
        _CHECKED[key] = info
    return info


def check_frame(info: PixelInfo, frame: Any) -> int:
    """``frame`` as an int, checked against the frames of ``info``."""
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
        raise TypeError(f"frame must be an int, not {type(frame).__name__}")
    frame = int(frame)
    if not 0 <= frame < info.number_of_frames:
        raise IndexError(f"frame {frame} is out of range: the pixel data has {info.number_of_frames} frame(s)")
    return frame


def _check(m: PixelModule, keyword: str, index: int, encapsulated: bool, length: int, vr: str) -> PixelInfo:
    syntax = m.transfer_syntax
    if not syntax:
        # No meta group (read with force): the scan knows how the dataset is encoded.
        big = m.big_endian
        syntax = "1.2.840.10008.1.2.2" if big else ("1.2.840.10008.1.2.1" if m.explicit_vr else "1.2.840.10008.1.2")
    syntax = str(syntax)
    if syntax in NATIVE_SYNTAXES and encapsulated:
        raise PixelDataError(f"the transfer syntax {syntax} is native but the pixel data is encapsulated")
    if syntax not in NATIVE_SYNTAXES and not encapsulated:
        if syntax.startswith("1.2.840.10008.1.2"):
            raise PixelDataError(f"the transfer syntax {syntax} is encapsulated but the pixel data is not")
        raise UnsupportedTransferSyntaxError(f"unknown transfer syntax {syntax}")

    tolerated: list = []
    bits_allocated = _int(m.bits_allocated, "BitsAllocated")
    if not (bits_allocated == 1 or (bits_allocated in (8, 16, 24, 32, 40, 48, 56, 64))):
        raise InvalidPixelAttributeError(
            f"Bits Allocated {bits_allocated} is invalid: it must be 1 or a multiple of 8 up to 64")
    if keyword == "PixelData":
        bits_stored = _int(m.bits_stored, "BitsStored")
        if not 1 <= bits_stored <= bits_allocated:
            raise InvalidPixelAttributeError(
                f"Bits Stored {bits_stored} is invalid: it must be from 1 to Bits Allocated ({bits_allocated})")
        pixel_representation = _int(m.pixel_representation, "PixelRepresentation", required=False)
        if pixel_representation is None:  # the safe default: unsigned
            pixel_representation = 0
            tolerated.append(("pixel_attribute", 0x00280103))
        if pixel_representation not in (0, 1):
            raise InvalidPixelAttributeError(f"Pixel Representation {pixel_representation} is invalid: it must be 0 or 1")
        dtype = _INT_DTYPES.get((bits_allocated, pixel_representation))
        if dtype is None:
            raise InvalidPixelAttributeError(f"Bits Allocated {bits_allocated} has no NumPy integer type")
    else:
        want = 32 if keyword == "FloatPixelData" else 64
        if bits_allocated != want:
            raise InvalidPixelAttributeError(f"{keyword} needs Bits Allocated {want}, not {bits_allocated}")
        bits_stored = _int(m.bits_stored, "BitsStored", required=False) or bits_allocated
        pixel_representation = 0
        dtype = _FLOAT32 if want == 32 else _FLOAT64

    columns = _int(m.columns, "Columns")
    if not 0 < columns <= 0xFFFF:
        raise InvalidPixelAttributeError(f"Columns {columns} is invalid: it must be from 1 to 65535")
    rows = _int(m.rows, "Rows")
    if not 0 < rows <= 0xFFFF:
        raise InvalidPixelAttributeError(f"Rows {rows} is invalid: it must be from 1 to 65535")
    frames = _int(m.number_of_frames, "NumberOfFrames", required=False)
    if frames is None or frames == 0:
        frames = 1  # pydicom assumes one frame, with a warning
    if frames < 1:
        raise InvalidPixelAttributeError(f"Number of Frames {frames} is invalid")
    samples = _int(m.samples_per_pixel, "SamplesPerPixel")
    if samples not in (1, 3):
        raise InvalidPixelAttributeError(f"Samples per Pixel {samples} is invalid: it must be 1 or 3")
    photometric = m.photometric_interpretation
    if photometric is None or (isinstance(photometric, str) and not photometric.strip()):
        # the safe default of the samples: what a viewer shows
        photometric = "MONOCHROME2" if samples == 1 else "RGB"
        tolerated.append(("pixel_attribute", 0x00280004))
    if not isinstance(photometric, str):
        raise InvalidPixelAttributeError(f"Photometric Interpretation {photometric!r} is invalid")
    photometric = photometric.strip()
    if photometric not in _PHOTOMETRIC:
        raise InvalidPixelAttributeError(f"unknown Photometric Interpretation {photometric!r}")
    planar = 0
    if samples == 3:
        planar = _int(m.planar_configuration, "PlanarConfiguration", required=not encapsulated) or 0
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
                tolerated.append(("pixel_data_long", _TAG_OF[keyword]))
    plain = (not encapsulated and samples == 1 and bits_allocated > 1 and not swap_ow
             and (not big_endian or bits_allocated == 8)
             and (bits_stored == bits_allocated or keyword != "PixelData") and photometric not in YBR)
    return PixelInfo(
        keyword, index, syntax, encapsulated, big_endian, swap_ow, rows, columns, samples, planar,
        bits_allocated, bits_stored, pixel_representation, photometric, frames, dtype, frame_bits, plain,
        tuple(tolerated))
