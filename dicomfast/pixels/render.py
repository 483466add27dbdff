"""Display images: a dataset's pixel data as 8-bit grey or RGB frames, as a viewer would show them.

Used by ``dicomfast convert --to png``. The greyscale pipeline is DICOM's (PS3.3 C.11, PS3.4 N.2):
modality LUT or rescale, then VOI (a window, or a VOI LUT), then the presentation (MONOCHROME1 is
inverted, so that PNGs look as they do in a viewer). Which VOI is used, first match:

1. the caller's ``window=(center, width)`` (LINEAR), in modality units (HU for CT);
2. the file's first Window Center / Width with its VOI LUT Function, or for an enhanced multi-frame
   image each frame's Frame VOI LUT functional group;
3. the file's VOI LUT Sequence (first LUT), scaled from its bit depth to 0-255;
4. each frame's own minimum and maximum (after the modality transform) mapped to 0 and 255.

Colour images (RGB and the YBR family, which ``pixel_array`` gives as RGB; PALETTE COLOR through its
palette) are scaled from Bits Stored (or the palette's depth) to 8 bits; a window does not apply.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import PixelDataError
from .color import apply_color_lut
from .groups import functional_item, is_enhanced
from .module import PixelModule, pixel_module
from .native import pixel_array
from .pipeline import check_window, transform_into, usable_lut, window_from_range
from .transforms import apply_modality_lut, apply_voi_lut

__all__ = ["display_frames"]

_MONOCHROME = ("MONOCHROME1", "MONOCHROME2")
_TAG_MODALITY_LUT = 0x00283000
_TAG_VOI_LUT = 0x00283010
# What pixel_array returns as RGB (YBR_FULL/_422 converted by us, ICT/RCT by the JPEG 2000 decoders).
_RGB = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT")


def display_frames(ds: Any, arr: np.ndarray | None = None, *,
                   window: tuple[float, float] | None = None, strict: bool = False) -> np.ndarray:
    """``ds``'s frames as uint8, shaped (frames, rows, columns) for grey or (..., 3) for colour.

    ``arr`` is ``ds``'s pixel array when the caller already has it. ``window`` is a (center, width)
    pair that overrides the file's window for greyscale images. Display attributes that are wrong
    (a Window Width below 1, an unusable Modality or VOI LUT) are the pipeline's defects: recorded on
    ``ds.defects`` and worked around, or with ``strict`` a :class:`~dicomfast.defects.DefectError`.
    """
    if arr is None:
        arr = pixel_array(ds, strict=strict)
    photometric = str(ds.get("PhotometricInterpretation") or "").strip().upper()
    # by the array's shape, not Number of Frames: pixel_array also returns whole frames beyond it
    one_sample = photometric in _MONOCHROME or photometric == "PALETTE COLOR"
    frames = arr if arr.ndim == (3 if one_sample else 4) else arr[np.newaxis]
    if photometric in _MONOCHROME:
        if frames.ndim != 3:
            raise PixelDataError(f"a {photometric} image has one sample per pixel, not shape {arr.shape}")
        out = _grey(ds, frames, window, strict)
        if photometric == "MONOCHROME1":
            np.subtract(255, out, out=out)
        return out
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(frames, ds)[..., :3]
        return _to_8bit(rgb, 8 * rgb.dtype.itemsize)
    if photometric in _RGB and frames.ndim == 4 and frames.shape[-1] == 3:
        bits = int(ds.get("BitsStored") or 8 * frames.dtype.itemsize)
        return _to_8bit(frames, bits)
    raise PixelDataError(f"cannot render Photometric Interpretation {photometric or '(none)'!r} "
                         f"with pixel array shape {arr.shape} as an image")


def _to_8bit(values: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned values of ``bits`` bits scaled to 0-255, rounded to nearest."""
    if values.dtype == np.uint8 and bits >= 8:
        return np.ascontiguousarray(values)
    top = (1 << bits) - 1
    wide = np.clip(values.astype(np.int64), 0, top)
    return ((wide * 255 + top // 2) // top).astype(np.uint8)


def _grey(ds: Any, frames: np.ndarray, user_window: tuple[float, float] | None, strict: bool = False) -> np.ndarray:
    # A window (the caller's, or the file's) goes through the pixel pipeline, which folds the
    # rescale into the window's one pass (a Modality LUT, or an enhanced image's per-frame values,
    # frame by frame); without one, the VOI LUT or each frame's range.
    m = pixel_module(ds)
    window = check_window(user_window) if user_window is not None else "dataset"
    if window == "dataset" and not _has_windows(ds, m, frames.shape[0]):
        window = None
    if window is not None:
        out = np.empty(frames.shape, np.uint8)
        return transform_into(ds, m, frames, out, range(frames.shape[0]), True, window, strict)
    lut = bool(ds.get("ModalityLUTSequence")) and usable_lut(ds, _TAG_MODALITY_LUT, strict)
    if ds.get("VOILUTSequence") and usable_lut(ds, _TAG_VOI_LUT, strict):
        modality = apply_modality_lut(frames, ds) if lut else _rescaled(ds, frames)
        voi = ds.get("VOILUTSequence")
        bits = int(voi[0].get("LUTDescriptor")[2])
        return _to_8bit(apply_voi_lut(modality, ds), bits)
    slope = ds.get("RescaleSlope")
    intercept = ds.get("RescaleIntercept")
    if slope is not None and intercept is not None and not lut:
        return _min_max(frames, float(slope), float(intercept))
    if lut or is_enhanced(ds):
        return _min_max(apply_modality_lut(frames, ds), 1.0, 0.0)
    return _min_max(frames, 1.0, 0.0)


def _rescaled(ds: Any, frames: np.ndarray) -> np.ndarray:
    """The modality values of a file whose Modality LUT is unusable: Rescale Slope and Intercept if
    both are there, else the stored values."""
    slope, intercept = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
    if slope is None or intercept is None:
        return frames
    return frames * float(slope) + float(intercept)


def _has_windows(ds: Any, m: PixelModule, nframes: int) -> bool:
    """Whether the file gives every frame a window (top level, or each frame's Frame VOI LUT)."""
    if m.window_center is not None and m.window_width is not None:
        return True
    if not m.enhanced:
        return False
    for k in range(nframes):
        item = functional_item(ds, "FrameVOILUTSequence", k)
        if item is None or item.get("WindowCenter") is None or item.get("WindowWidth") is None:
            return False
    return True


def _min_max(values: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """Each frame's range of modality values mapped linearly onto 0-255 (a constant frame is 0)."""
    out = np.zeros(values.shape, np.uint8)
    window_from_range(values, out, slope, intercept)
    return out
