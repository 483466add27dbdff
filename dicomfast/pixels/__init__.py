"""Pixel data: the Image Pixel module, native and encapsulated data, codecs, and the one pipeline
from stored values to the caller's array.

| module | what it does |
| --- | --- |
| ``_module.pyx``, ``module.py`` | the Image Pixel module read in one compiled walk (``PixelModule``), checked once into a ``PixelInfo`` |
| ``native.py``, ``_native.pyx`` | native data: frames sliced, bits unpacked and corrected, YBR converted; ``pixel_array`` |
| ``encapsulated.py`` | which fragments hold frame *n* (offset tables, markers) |
| ``codecs/`` | the decoders and encoders, registries keyed by transfer syntax UID (and backend), one module per backend; ``encode_frames`` |
| ``threads.py`` | the thread pool map: frames of one file here, files in ``dicomfast.collection`` |
| ``color.py`` | palette colour LUTs |
| ``groups.py`` | functional groups of enhanced multi-frame images |
| ``transforms.py``, ``_transform.pyx`` | modality and VOI LUTs as pydicom has them, and the fused ``window`` kernel |
| ``fileread.py`` | native pixel bytes read straight from a file into a reused buffer |
| ``pipeline.py`` | stored values -> modality -> VOI -> the caller's dtype and ``out``: ``read_pixels``, ``fill`` |
| ``render.py`` | frames as 8-bit display images (``dicomfast convert --to png``) |
| ``transcode.py`` | ``decompress`` / ``compress``: pixel data re-stored, with its attributes and transfer syntax |

What the layers above use is imported from here (``from dicomfast.pixels import read_pixels``);
the modules inside are this package's own business.
"""
from .codecs import EncodedFrames, encode_frames
from .color import apply_color_lut
from .groups import functional_item, is_enhanced
from .module import PixelInfo, pixel_info
from .native import iter_frames, pixel_array
from .pipeline import (
    allocate,
    check_claimed_size,
    check_window,
    fill,
    output_dtype,
    read_dataset,
    read_pixels,
    stored_dtype,
)
from .render import display_frames
from .transcode import compress, decompress
from .transforms import apply_modality_lut, apply_voi_lut, apply_windowing, frame_parameters, window

__all__ = [
    "EncodedFrames", "PixelInfo", "allocate", "compress", "decompress", "apply_color_lut", "apply_modality_lut", "apply_voi_lut", "apply_windowing",
    "check_claimed_size", "check_window", "display_frames", "encode_frames", "fill", "frame_parameters", "functional_item",
    "is_enhanced", "iter_frames", "output_dtype", "pixel_array", "pixel_info", "read_dataset", "read_pixels",
    "stored_dtype", "window",
]
