"""Changing how pixel data is stored: :func:`decompress` (encapsulated -> native) and
:func:`compress` (native -> encapsulated, through the codec registry's encoders), in place, with
the Image Pixel attributes and the transfer syntax that go with the result.

Both edit the dataset through its public editing API; ``dcmwrite`` then writes the new pixel data
(native: as bytes; encapsulated: a Basic Offset Table and one fragment per frame) and copies
everything else as it was read.
"""
from __future__ import annotations

from typing import Any

from .. import uid as _uid
from ..dataset import Dataset, Encapsulated, FileMetaDataset
from ..errors import PixelDataError
from .codecs import encode_frames
from .module import NATIVE_SYNTAXES, module_info
from .native import decode

__all__ = ["decompress", "compress"]

_PIXEL_DATA = 0x7FE00010
_TABLES = (0x7FE00001, 0x7FE00002)  # Extended Offset Table and its lengths: of the old fragments


def _meta(ds: Dataset) -> FileMetaDataset:
    if ds.file_meta is None:
        ds.file_meta = FileMetaDataset()
    return ds.file_meta


def decompress(ds: Dataset, *, as_rgb: bool = True, decoder: str | None = None,
               workers: int | None = None) -> Dataset:
    """Decode encapsulated pixel data into native pixel data, in place, as pydicom's
    ``Dataset.decompress``: the frames decoded (``decoder``, ``workers`` as ``pixel_array``'s),
    YBR_FULL / YBR_FULL_422 converted to RGB with ``as_rgb`` (Photometric Interpretation RGB,
    Planar Configuration 0), the transfer syntax Explicit VR Little Endian. Lossy Image
    Compression stays as it was: what a lossy codec lost is not recovered. Native data is left as
    it is. Returns ``ds``."""
    m, info = module_info(ds, False)
    if not info.encapsulated:
        return ds
    arr = decode(ds, info, None, as_rgb, decoder=decoder, workers=workers)
    photometric = info.photometric_interpretation
    if as_rgb and photometric in ("YBR_FULL", "YBR_FULL_422") and info.samples_per_pixel == 3:
        photometric = "RGB"
    if photometric in ("YBR_ICT", "YBR_RCT"):
        photometric = "RGB"  # the JPEG 2000 codec inverted the component transform
    if info.bits_allocated == 1:
        import numpy as np

        data = np.packbits(arr.reshape(-1), bitorder="little").tobytes()  # PS3.5 8.1.1: bits in a row
    else:
        data = arr.tobytes()
    ds.add_new(_PIXEL_DATA, "OB" if info.bits_allocated <= 8 else "OW", data)
    ds.PhotometricInterpretation = photometric
    if info.samples_per_pixel > 1:
        ds.PlanarConfiguration = 0
    for tag in _TABLES:
        if tag in ds:
            del ds[tag]
    _meta(ds).TransferSyntaxUID = _uid.ExplicitVRLittleEndian
    return ds


def compress(ds: Dataset, transfer_syntax: str, **options: Any) -> Dataset:
    """Encode the pixel data in ``transfer_syntax`` (RLE Lossless, JPEG-LS, JPEG 2000, HTJ2K,
    JPEG baseline or lossless: whatever the codec registry can encode), in place, as pydicom's
    ``Dataset.compress``: encapsulated data is decoded first; the Image Pixel attributes the
    encoding needs are set (Photometric Interpretation after a colour transform, Planar
    Configuration), Lossy Image Compression with its ratio and method when the encoding is lossy,
    and the transfer syntax. ``options`` are the encoder's (``dicomfast.pixels.codecs``). Returns
    ``ds``."""
    transfer_syntax = str(transfer_syntax)
    if transfer_syntax in NATIVE_SYNTAXES:
        raise PixelDataError(f"{transfer_syntax} is native: decompress, then write with transfer_syntax=")
    m, info = module_info(ds, False)
    arr = decode(ds, info, None, True)
    photometric = info.photometric_interpretation
    if photometric in ("YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT") and info.samples_per_pixel == 3:
        photometric = "RGB"  # decoded to RGB above
    encoded = encode_frames(arr, transfer_syntax, photometric_interpretation=photometric,
                            samples_per_pixel=info.samples_per_pixel, bits_stored=info.bits_stored, **options)
    frames = [[fragment + b"\0" if len(fragment) % 2 else fragment] for fragment in encoded.fragments]
    ds.add_new(_PIXEL_DATA, "OB", Encapsulated(frames))
    for tag in _TABLES:
        if tag in ds:
            del ds[tag]
    ds.PhotometricInterpretation = encoded.photometric_interpretation
    if encoded.planar_configuration is not None:
        ds.PlanarConfiguration = encoded.planar_configuration
    if encoded.lossy_image_compression == "01":
        ds.LossyImageCompression = "01"
        ratios = ds.get("LossyImageCompressionRatio") or []
        methods = ds.get("LossyImageCompressionMethod") or []
        ratios = (ratios if isinstance(ratios, list) else [ratios]) + [round(encoded.lossy_image_compression_ratio, 2)]
        methods = (methods if isinstance(methods, list) else [methods]) + [encoded.lossy_image_compression_method]
        ds.LossyImageCompressionRatio = ratios
        ds.LossyImageCompressionMethod = methods
    if ds.get("NumberOfFrames") is None and len(frames) > 1:
        ds.NumberOfFrames = len(frames)
    _meta(ds).TransferSyntaxUID = transfer_syntax
    return ds
