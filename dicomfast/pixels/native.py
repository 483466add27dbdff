"""Pixel data as NumPy arrays: native data unpacked here, encapsulated data through the codec
registry (``codecs``), both finished the same way (unused bits, YBR_FULL_422, shape, colour).

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

from typing import Any, Iterator

import numpy as np

from ..dataset import Dataset
from ..errors import PixelDataError
from ..sources import is_remote, source_of
from . import _native
from .codecs import FrameLayout, check_decoder, decode_frame
from .encapsulated import fragment_count
from .module import NO_BIT_CORRECTION, YBR, PixelInfo, check_frame, module_info, pixel_info, to_dataset
from .threads import THREADED_FRAME_BYTES, check_workers, frame_workers, run

__all__ = ["pixel_array", "iter_frames", "decode", "finish", "flat_native"]

_PIXEL_DATA = 0x7FE00010

def flat_native(info: PixelInfo, raw: memoryview, first: int, count: int) -> np.ndarray:
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
        _native.unpack_bits(src, start_bit % 8, out)
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


def finish(info: PixelInfo, flat: np.ndarray, frames: int | None, as_rgb: bool) -> np.ndarray:
    """Bit correction, YBR_FULL_422 expansion, shape and colour of a 1-D run of stored values.
    ``frames`` is None for one frame asked for by index."""
    if info.photometric_interpretation == "YBR_FULL_422" and not info.encapsulated:
        out = np.empty(flat.shape[0] // 4 * 6, flat.dtype)
        _native.expand_ybr422(flat, out)
        flat = out
    if info.keyword == "PixelData" and info.bits_stored < info.bits_allocated and info.bits_allocated > 1:
        if info.transfer_syntax not in NO_BIT_CORRECTION:
            signed = info.pixel_representation == 1
            if _native.needs_bit_correction(flat, info.bits_stored, signed):
                if not flat.flags.writeable:
                    flat = flat.copy()
                _native.correct_bits(flat, info.bits_stored, signed)
    to_rgb = as_rgb and info.photometric_interpretation in YBR
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
        _native.ybr_full_to_rgb(src.reshape(-1), out.reshape(-1))
        arr = out
    return arr


def _encapsulated(ds: Dataset, info: PixelInfo, frame: int | None, as_rgb: bool, decoder: str | None,
                  workers: int | None) -> np.ndarray:
    # 8-bit YBR to RGB in the codec (or right after it, frame by frame, in parallel)
    layout = FrameLayout(ds, True)
    codec_rgb = as_rgb and layout.to_rgb
    as_rgb = as_rgb and not codec_rgb
    if frame is not None:
        flat = decode_frame(ds, frame, decoder=decoder, as_rgb=codec_rgb).reshape(-1)
        return finish(info, flat, None, as_rgb)
    n = info.number_of_frames
    if n > 1:
        # Every frame is at least one fragment (PS3.5 A.4): an untrusted Number of Frames must not
        # size the array beyond what the data can hold.
        fragments = fragment_count(ds)
        if n > fragments:
            raise PixelDataError(
                f"Number of Frames is {n} but the encapsulated Pixel Data holds {fragments} fragment(s)")
    # Frame 0 decoded first, on its own: a header that the codestream contradicts fails here,
    # before an array of n frames is sized from it.
    first = decode_frame(ds, 0, decoder=decoder, as_rgb=codec_rgb)
    if n == 1:
        return finish(info, first.reshape(-1), None, as_rgb)
    if layout.shape != first.shape:
        raise PixelDataError(f"frame 0 decoded to shape {first.shape}, not {layout.shape}")
    out = np.empty((n,) + first.shape, first.dtype)
    out[0] = first
    # The other frames straight into their slice of ``out`` (no copy after the codec), on a pool
    # when there are cores to spare: the codecs release the GIL.
    small = first.size * first.dtype.itemsize < THREADED_FRAME_BYTES
    workers = check_workers(workers, 1 if small else frame_workers(n - 1))
    run(lambda i, k: decode_frame(ds, k, decoder=decoder, out=out[k], as_rgb=codec_rgb), range(1, n), workers)
    return finish(info, out.reshape(-1), n, as_rgb)


def _raw(ds: Dataset, info: PixelInfo) -> memoryview:
    """The pixel data element's value bytes, zero-copy."""
    return ds[info.keyword].raw_value()


def decode(ds: Dataset, info: PixelInfo, frame: int | None, as_rgb: bool = True, *,
           decoder: str | None = None, workers: int | None = None) -> np.ndarray:
    """All frames (``frame=None``) or frame ``frame`` (checked) of ``ds``, whose checked module is
    ``info``, as :func:`pixel_array` gives them. ``decoder`` and ``workers``: as :func:`pixel_array`
    (checked by the caller)."""
    if info.encapsulated:
        return _encapsulated(ds, info, frame, as_rgb, decoder, workers)
    raw = _raw(ds, info)
    if frame is None:
        if info.plain:
            # The stored bytes are the array (a typical CT or MR series): one view, shaped.
            return np.ndarray(info.shape, info.dtype, raw)
        flat = flat_native(info, raw, 0, info.number_of_frames)
        return finish(info, flat, info.number_of_frames, as_rgb)
    return finish(info, flat_native(info, raw, frame, 1), None, as_rgb)


def pixel_array(src: Any, frame: int | None = None, *, as_rgb: bool = True, strict: bool = False,
                decoder: str | None = None, workers: int | None = None,
                storage_options: dict | None = None) -> np.ndarray:
    """The pixel data of ``src`` (a path, bytes, a binary file object or a Dataset) as an array.

    ``frame=n`` decodes only frame ``n`` (shaped like a single frame). ``as_rgb=False`` keeps
    YBR_FULL and YBR_FULL_422 data in YBR (YBR_FULL_422 is still upsampled, as pydicom does).
    Palette colour data is returned as stored: :func:`apply_color_lut` maps it.

    Native data that needs no conversion is a read-only view on the file's bytes. ``strict=True``
    reads ``src`` (when it is not a Dataset) with ``dcmread(..., strict=True)``.

    Compressed data: ``decoder`` names the codec backend (``"imagecodecs"``, ``"pylibjpeg"``,
    ``"dicomfast"``; None: the default order of :mod:`dicomfast.pixels.codecs`); ``workers`` is
    the number of threads decoding the frames of a multi-frame file (None: one a free core, 1
    inside a DataLoader worker or another pool's thread). ``storage_options``: a URL's request
    options, as :func:`dicomfast.dcmread`'s.
    """
    src = source_of(src, storage_options)
    decoder = check_decoder(decoder)
    if workers is not None:
        check_workers(workers)
    # (A direct read of a path's pixel bytes into a new array, as read_pixels does into a reused
    # buffer, measured no faster than this whole-file read and view.)
    if frame is not None and is_remote(src):
        from .fileread import FrameReader  # (fileread builds on this module)

        with FrameReader(src, strict=strict) as reader:  # the header, then the frame's bytes alone
            return reader.stored([frame], as_rgb)[0]
    ds = to_dataset(src, strict)
    m, info = module_info(ds, False, strict)
    if frame is None and info.plain:
        # The stored bytes are the array (a typical CT or MR series): one view, shaped.
        return np.ndarray(info.shape, info.dtype, m.pixel_bytes())
    if frame is not None:
        frame = check_frame(info, frame)
    return decode(ds, info, frame, as_rgb, decoder=decoder, workers=workers)


def iter_frames(src: Any, *, as_rgb: bool = True, strict: bool = False,
                decoder: str | None = None, storage_options: dict | None = None) -> Iterator[np.ndarray]:
    """Yield the frames of ``src`` one at a time, each shaped as a single frame. From a URL or an
    fsspec file: the header once, then one read per frame. ``strict``, ``decoder`` and
    ``storage_options`` as :func:`pixel_array`'s."""
    src = source_of(src, storage_options)
    decoder = check_decoder(decoder)
    if is_remote(src):
        from .fileread import FrameReader

        with FrameReader(src, strict=strict) as reader:
            for i in range(reader.info.number_of_frames):
                yield reader.stored([i], as_rgb)[0]
        return
    ds = to_dataset(src, strict)
    info = pixel_info(ds, strict)
    for i in range(info.number_of_frames):
        yield decode(ds, info, i, as_rgb, decoder=decoder)
