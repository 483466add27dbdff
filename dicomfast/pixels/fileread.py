"""Native pixel data read straight from a file into an array, without reading the file whole.

:func:`read_stored` reads a file's header (the first block, more only if the scan needs it),
finds the native Pixel Data element where the header read stopped, and reads the pixel bytes of
all frames, or of one, with one GIL-free ``pread`` loop into a reused per-thread buffer (or a
caller's array): one open, two reads, no copy of the file's bytes and no scan of the pixel data.
It is the reading half of :func:`dicomfast.read_pixels` and of the volume and batch readers for a
path; what it cannot read (encapsulated, deflated, 1-bit data, 8-bit big-endian OW, no pixel data
where the header ends) goes through ``dcmread`` and ``pixel_array`` instead.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, NamedTuple

import numpy as np

from ..core._scan import pread_into
from ..dataset import Dataset, element_after_header
from ..errors import TruncatedError
from ..reader import read_header_fd
from .module import PixelInfo, PixelModule, check, check_frame, pixel_module
from .native import finish

__all__ = ["read_stored", "Stored", "PLAIN_SYNTAXES"]

#: Transfer syntaxes whose Pixel Data can be read from the file as it is stored.
PLAIN_SYNTAXES = frozenset(("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"))
_TAG_PIXEL_DATA = 0x7FE00010
_O_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
# Per-thread buffers for stored values that are transformed and then dropped: reusing them saves
# the page faults of a fresh allocation per file (about a third of the read time of a CT slice).
_SCRATCH = threading.local()
_SCRATCH_MAX = 256 << 20


class Stored(NamedTuple):
    """What :func:`read_stored` read: the ``header`` (the dataset up to its pixel data), its
    :class:`PixelModule` ``module`` (with the transform values), the checked ``info``, the checked
    ``frame`` (None for all), and the ``array`` of stored values as ``pixel_array`` shapes them,
    which is the caller's ``into`` array, or else a buffer (``scratch``) that the next read in
    this thread reuses."""

    header: Dataset
    module: PixelModule
    info: PixelInfo
    frame: int | None
    array: np.ndarray
    scratch: bool


def _scratch(nbytes: int) -> np.ndarray:
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.size < nbytes:
        buf = np.empty(max(nbytes, 1 << 16), np.uint8)
        if nbytes <= _SCRATCH_MAX:
            _SCRATCH.buf = buf
    return buf[:nbytes]


def _read_into(fd: int, target: np.ndarray, offset: int, path: str) -> None:
    got = pread_into(fd, target, offset)
    if got < target.nbytes:
        raise TruncatedError(
            f"{path}: the file ends {target.nbytes - got} bytes before the end of its pixel data",
            offset=offset + got)


def _stored(fd: int, path: str, info: PixelInfo, value: int, frame: int | None, target: np.ndarray) -> np.ndarray:
    """Stored values of all frames (or one) as a flat array of ``info.dtype``, read from ``fd``
    into ``target`` (a flat uint8 array of the right size)."""
    frame_bytes = info.frame_bits // 8
    first = 0 if frame is None else frame
    dtype = info.dtype.newbyteorder(">") if info.big_endian and info.dtype.itemsize > 1 else info.dtype
    flat = target.view(dtype)
    _read_into(fd, flat, value + first * frame_bytes, path)
    if dtype != info.dtype:
        flat = flat.byteswap(inplace=True).view(info.dtype)
    return flat


def _plain_layout(info: PixelInfo) -> bool:
    """Stored bytes are the array as returned: no colour conversion, no bit correction, no transpose."""
    return (info.samples_per_pixel == 1 and info.bits_stored == info.bits_allocated
            and info.photometric_interpretation != "YBR_FULL_422")


def read_stored(path: str, frame: int | None = None, into: np.ndarray | None = None,
                check_info: Callable[[PixelInfo], Any] | None = None) -> Stored | None:
    """The stored values of the native pixel data of the file at ``path`` (all frames, or frame
    ``frame``) read straight from the file, as a :class:`Stored`; None when the file needs the
    general path (``dcmread`` + ``pixel_array``).

    The array holds what ``pixel_array`` gives (shape, dtype, corrections, colour). ``into``, when
    given and it fits (a C-contiguous writeable array of the result's shape and dtype, for data
    whose stored bytes are the result: one sample, nothing to correct), receives the bytes and is
    the array returned. ``check_info(info)``, when given, runs the caller's own checks of the
    PixelInfo (which may raise) before the frame is checked and anything is read.
    """
    fd = os.open(path, _O_FLAGS)
    try:
        ds = read_header_fd(fd, path)
        m = pixel_module(ds)
        syntax = m.transfer_syntax_value  # a value that did not decode: the general path reports it
        if type(syntax) is not str or syntax not in PLAIN_SYNTAXES:
            return None
        found = element_after_header(ds, lambda offset, n: os.pread(fd, n, offset))
        if found is None or found.tag != _TAG_PIXEL_DATA:
            return None  # no pixel data where the header ends, or encapsulated
        info = check(m, "PixelData", -1, False, found.length, found.vr)
        if info.bits_allocated == 1 or info.swap_ow:
            return None  # bit unpacking and OW byte pairs: the general path
        if check_info is not None:
            check_info(info)
        if frame is not None:
            frame = check_frame(info, frame)
        shape = info.frame_shape if frame is not None else info.shape
        plain = _plain_layout(info)
        if (into is not None and plain and into.dtype == info.dtype and into.shape == shape
                and into.flags.c_contiguous and into.flags.writeable):
            _stored(fd, path, info, found.value_offset, frame, into.reshape(-1).view(np.uint8))
            return Stored(ds, m, info, frame, into, False)
        count = 1 if frame is not None else info.number_of_frames
        flat = _stored(fd, path, info, found.value_offset, frame, _scratch(count * (info.frame_bits // 8)))
    finally:
        os.close(fd)
    if plain:
        return Stored(ds, m, info, frame, flat.reshape(shape), True)  # nothing to correct or convert
    arr = finish(info, flat, None if frame is not None else info.number_of_frames, True)
    return Stored(ds, m, info, frame, arr, np.may_share_memory(arr, flat))
