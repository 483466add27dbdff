"""Pixel data: the Image Pixel module, native and encapsulated data, codecs, transforms.

What the layers above use is imported from here (``from dicomfast.pixels import read_pixels``);
the modules inside are this package's own business.
"""
from .fileread import read_pixels
from .frames import cast
from .native import PixelInfo, apply_color_lut, iter_frames, pixel_array, pixel_info
from .render import display_frames
from .transforms import apply_modality_lut, apply_voi_lut, apply_windowing, frame_parameters, window

__all__ = [
    "PixelInfo", "apply_color_lut", "apply_modality_lut", "apply_voi_lut", "apply_windowing", "cast",
    "display_frames", "frame_parameters", "iter_frames", "pixel_array", "pixel_info", "read_pixels", "window",
]
