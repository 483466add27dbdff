"""Decode one frame of encapsulated (compressed) Pixel Data into a NumPy array.

RLE Lossless is decoded by our own compiled kernel (:mod:`dicomfast._rle`). The JPEG family goes
through the pylibjpeg plugins, imported on first use:

| transfer syntaxes | plugin (pip package) |
| --- | --- |
| JPEG Baseline, Extended, Lossless (Process 14 and SV1), JPEG-LS lossless and near-lossless | ``pylibjpeg-libjpeg`` (JPEG-LS falls back to ``pyjpegls``) |
| JPEG 2000 lossless and lossy, HTJ2K (lossless, RPCL, lossy) | ``pylibjpeg-openjpeg`` |

``pip install dicomfast[jpeg]`` installs them all. A missing plugin raises
:class:`~dicomfast.errors.MissingDecoderError` naming the package.

After the codec the same corrections as pydicom 3 are applied, so that ``decode_frame(ds, i)``
equals ``pydicom.pixels.pixel_array(ds, index=i, raw=True)``: the dtype of Bits Allocated and Pixel
Representation; for JPEG 2000 monochrome data whose codestream signedness differs from Pixel
Representation, and for signed JPEG-LS, the value is sign-extended from the codestream's precision;
for RLE and JPEG, the bits above Bits Stored are cleared (or sign-extended when signed).
"""
from __future__ import annotations

import numpy

from ... import uid as _uid
from ._rle import decode_rle_frame
from ..encapsulated import frame_bytes, frame_count
from ...errors import DicomError, MissingDecoderError, UnsupportedTransferSyntaxError

__all__ = ["decode_frame", "decodable_transfer_syntaxes", "frame_count"]

RLE = _uid.RLELossless
JPEG = frozenset(
    (_uid.JPEGBaseline8Bit, _uid.JPEGExtended12Bit, _uid.JPEGLossless, _uid.JPEGLosslessSV1)
)
JPEG_LS = frozenset((_uid.JPEGLSLossless, _uid.JPEGLSNearLossless))
JPEG_2000 = frozenset(
    (
        _uid.JPEG2000Lossless,
        _uid.JPEG2000,
        _uid.HTJ2KLossless,
        _uid.HTJ2KLosslessRPCL,
        _uid.HTJ2K,
    )
)


def decodable_transfer_syntaxes() -> frozenset[str]:
    """The encapsulated transfer syntaxes :func:`decode_frame` knows (plugins permitting)."""
    return frozenset((RLE,)) | JPEG | JPEG_LS | JPEG_2000


# ---------------------------------------------------------------------------- plugins

_PLUGINS: dict[str, object] = {}


def _missing(package: str, what: str) -> MissingDecoderError:
    return MissingDecoderError(
        f"decoding {what} needs the {package} plugin: pip install dicomfast[jpeg] "
        f"(or pip install {package})",
        package=package,
    )


def _libjpeg():
    if "libjpeg" not in _PLUGINS:
        try:
            from libjpeg.utils import decode_pixel_data
        except ImportError:
            decode_pixel_data = None
        _PLUGINS["libjpeg"] = decode_pixel_data
    return _PLUGINS["libjpeg"]


def _openjpeg():
    if "openjpeg" not in _PLUGINS:
        try:
            from openjpeg.utils import decode_pixel_data
        except ImportError:
            decode_pixel_data = None
        _PLUGINS["openjpeg"] = decode_pixel_data
    return _PLUGINS["openjpeg"]


def _jpegls():
    if "jpeg_ls" not in _PLUGINS:
        try:
            from jpeg_ls import decode_pixel_data as _charls
        except ImportError:
            decode_pixel_data = None
        else:
            def decode_pixel_data(src, version=2, **options):
                return _charls(src)[0]  # (bytearray, parameters)
        _PLUGINS["jpeg_ls"] = decode_pixel_data
    return _PLUGINS["jpeg_ls"]


def _decode_with(func, data, what: str, **options) -> bytes:
    try:
        return func(bytes(data), version=2, **options)
    except (RuntimeError, ValueError, TypeError, OSError, ArithmeticError) as exc:
        # ArithmeticError: a plugin converting a corrupt header's field raises OverflowError
        raise DicomError(f"the {what} codestream cannot be decoded: {exc}") from exc
    except MemoryError as exc:
        # The plugin allocates what a (corrupt) codestream header declares before it finds the
        # damage: an image far larger than the dataset's is a bad file, not a lack of memory.
        raise DicomError(f"the {what} codestream declares an image too large to decode") from exc


# ---------------------------------------------------------------------------- codestreams

_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}  # SOFn and SOF55 (JPEG-LS)


def _jpeg_precision(data) -> int | None:
    """The sample precision in a JPEG / JPEG-LS codestream's SOF segment, or None."""
    b = bytes(data[:4096]) if len(data) > 4096 else bytes(data)
    pos = 2 if b[:2] == b"\xff\xd8" else None
    while pos is not None and pos + 4 < len(b):
        if b[pos] != 0xFF:
            return None
        marker = b[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_SOF:
            return b[pos + 4] if pos + 4 < len(b) else None
        pos += 2 + int.from_bytes(b[pos + 2 : pos + 4], "big")
    return None


def _j2k_geometry(data) -> tuple[int, int, int, int] | None:
    """(width, height, components, tiles) from a JPEG 2000 codestream's SIZ segment, or None."""
    b = bytes(data[:4096]) if len(data) > 4096 else bytes(data)
    offset = _j2k_siz_offset(b)
    if offset is None:
        return None
    x, y, xo, yo, xt, yt, xto, yto = (int.from_bytes(b[offset + 8 + 4 * k: offset + 12 + 4 * k], "big")
                                      for k in range(8))
    components = int.from_bytes(b[offset + 40: offset + 42], "big")
    width, height = max(x - xo, 0), max(y - yo, 0)
    tiles = (-(-max(x - xto, 0) // xt) * -(-max(y - yto, 0) // yt)) if xt and yt else 1 << 62
    return width, height, components, tiles


def _check_j2k_geometry(data, p) -> None:
    """A codestream that declares a far larger image (or a pathological tiling) than the dataset is
    corrupt: refuse it before the decoder allocates, or spends minutes on, what it declares."""
    geometry = _j2k_geometry(data)
    if geometry is None:
        return
    width, height, components, tiles = geometry
    if width * height > 4 * p.rows * p.columns or components > 4 or tiles > 4096:
        raise DicomError(
            f"the JPEG 2000 codestream declares {width} x {height} x {components} in {tiles} tile(s); "
            f"the dataset is {p.rows} x {p.columns} x {p.samples}")


def _j2k_siz_offset(b: bytes) -> int | None:
    """Where the SOC + SIZ markers start in a codestream (after a JP2 header, if any), or None."""
    offset = 0
    if b.startswith(b"\x00\x00\x00\x0c\x6a\x50\x20\x20"):  # a (non-conformant) JP2 header
        offset = 12
        while offset + 8 <= len(b):
            length = int.from_bytes(b[offset : offset + 4], "big")
            if b[offset + 4 : offset + 8] == b"jp2c":
                offset += 8
                break
            if length < 8:
                return None
            offset += length
    if b[offset : offset + 4] != b"\xff\x4f\xff\x51" or offset + 42 >= len(b):
        return None
    return offset


def _j2k_sign_precision(data) -> tuple[bool | None, int | None]:
    """(is_signed, precision) of the first component in a JPEG 2000 codestream's SIZ segment."""
    b = bytes(data[:4096]) if len(data) > 4096 else bytes(data)
    offset = _j2k_siz_offset(b)
    if offset is None:
        return None, None
    ssiz = b[offset + 42]
    return bool(ssiz & 0x80), (ssiz & 0x7F) + 1


def _itemsize_for_precision(precision: int, bits_allocated: int) -> int:
    for bits in (8, 16, 32):
        if 0 < precision <= bits:
            return bits // 8
    return bits_allocated // 8


def _shift(arr: numpy.ndarray, shift: int) -> None:
    if 0 < shift < 8 * arr.dtype.itemsize:
        numpy.left_shift(arr, shift, out=arr)
        numpy.right_shift(arr, shift, out=arr)


# ---------------------------------------------------------------------------- decode_frame

def _get(ds, tag: int, keyword: str, default):
    """``ds.get(keyword, default)``, with a quick miss; an empty value gives ``default`` too."""
    if ds._find(tag) < 0:
        return default
    value = getattr(ds, keyword)
    return default if value is None or value == "" else value


class _Pixels:
    """The Image Pixel attributes a decoder needs, read once per call."""

    __slots__ = ("rows", "columns", "samples", "bits_allocated", "bits_stored", "signed",
                 "planar", "photometric")

    def __init__(self, ds) -> None:
        try:
            self.rows = int(ds.Rows)
            self.columns = int(ds.Columns)
            self.bits_allocated = int(ds.BitsAllocated)
        except (AttributeError, TypeError, ValueError) as exc:
            raise DicomError(f"pixel data needs Rows, Columns and Bits Allocated: {exc}") from None
        try:
            self.samples = int(_get(ds, 0x00280002, "SamplesPerPixel", 1))
            self.bits_stored = int(_get(ds, 0x00280101, "BitsStored", self.bits_allocated))
            self.signed = int(_get(ds, 0x00280103, "PixelRepresentation", 0)) == 1
            self.planar = int(_get(ds, 0x00280006, "PlanarConfiguration", 0)) if self.samples > 1 else 0
        except (TypeError, ValueError) as exc:
            raise DicomError(f"invalid Image Pixel attribute: {exc}") from None
        self.photometric = str(_get(ds, 0x00280004, "PhotometricInterpretation", "")).strip()
        if self.rows < 1 or self.columns < 1 or self.samples < 1:
            raise DicomError("Rows, Columns and Samples per Pixel must be positive")
        if self.bits_allocated not in (8, 16, 32, 64):
            raise DicomError(f"cannot decode {self.bits_allocated} bits allocated")

    def dtype(self, itemsize: int | None = None) -> numpy.dtype:
        return numpy.dtype(f"<{'iu'[not self.signed]}{itemsize or self.bits_allocated // 8}")

    @property
    def shape(self) -> tuple[int, ...]:
        if self.samples == 1:
            return (self.rows, self.columns)
        return (self.rows, self.columns, self.samples)


def _transfer_syntax(ds) -> str:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if not ts:
        raise UnsupportedTransferSyntaxError("the dataset has no (0002,0010) Transfer Syntax UID")
    return str(ts).rstrip("\0 ")


def _from_buffer(buf, p: _Pixels, itemsize: int, planar: int, what: str) -> numpy.ndarray:
    """The codec's bytes as the frame in the dtype of ``itemsize``, reshaped as pydicom does,
    then cast to the dataset's dtype."""
    expected = p.rows * p.columns * p.samples * itemsize
    if len(buf) != expected:
        raise DicomError(f"the {what} frame decoded to {len(buf)} bytes, {expected} expected")
    arr = numpy.frombuffer(buf, p.dtype(itemsize))
    if p.samples == 1:
        arr = arr.reshape(p.rows, p.columns)
    elif planar:
        arr = arr.reshape(p.samples, p.rows, p.columns).transpose(1, 2, 0)
    else:
        arr = arr.reshape(p.rows, p.columns, p.samples)
    return numpy.array(arr, dtype=p.dtype(), order="C")  # a writable, contiguous copy


def decode_frame(ds, index: int = 0) -> numpy.ndarray:
    """Decode frame ``index`` (from 0) of a dataset whose Pixel Data is encapsulated.

    Returns a new, writable, C-contiguous array of shape ``(rows, columns)`` for one sample per
    pixel, ``(rows, columns, samples)`` otherwise (always interleaved, whatever Planar
    Configuration says), dtype the little-endian integer of Bits Allocated (8, 16, 32, 64),
    signed when Pixel Representation is 1.

    Colour space: no colour conversion is applied. The samples are in the colour space the
    codestream decodes to: JPEG and JPEG-LS, and RLE, as stored (YBR_FULL and YBR_FULL_422 stay
    YBR, for ``pixels.py`` to convert); JPEG 2000 with the multiple-component transform
    (Photometric Interpretation YBR_ICT or YBR_RCT) is RGB, since the codec inverts it.

    Raises ``IndexError`` for a frame index out of range, :class:`UnsupportedTransferSyntaxError`
    for a transfer syntax that is not encapsulated or not known, :class:`MissingDecoderError`
    when the plugin is not installed, and :class:`DicomError` for corrupt data.
    """
    ts = _transfer_syntax(ds)
    p = _Pixels(ds)
    if ts == RLE:
        out = numpy.empty(p.shape, f"<u{p.bits_allocated // 8}")
        decode_rle_frame(frame_bytes(ds, index), p.rows, p.columns, p.samples, p.bits_allocated, out)
        arr = out.view(p.dtype())
        _shift(arr, p.bits_allocated - p.bits_stored)
        return arr

    if ts in JPEG or ts in JPEG_LS:
        func = _libjpeg()
        what = "JPEG-LS" if ts in JPEG_LS else "JPEG"
        if func is None and ts in JPEG_LS:
            func = _jpegls()
        if func is None:
            raise _missing("pylibjpeg-libjpeg", what)
        data = frame_bytes(ds, index)
        precision = _jpeg_precision(data)
        if ts in JPEG_LS:
            precision = precision or p.bits_stored
            itemsize = _itemsize_for_precision(precision, 0) if precision <= 16 else p.bits_allocated // 8
            arr = _from_buffer(_decode_with(func, data, what), p, itemsize, 0, what)
            if p.signed:
                _shift(arr, 8 * arr.dtype.itemsize - precision)
        else:
            arr = _from_buffer(_decode_with(func, data, what), p, p.bits_allocated // 8, p.planar, what)
            _shift(arr, p.bits_allocated - p.bits_stored)
        return arr

    if ts in JPEG_2000:
        func = _openjpeg()
        if func is None:
            raise _missing("pylibjpeg-openjpeg", "JPEG 2000")
        data = frame_bytes(ds, index)
        _check_j2k_geometry(data, p)
        is_signed, precision = _j2k_sign_precision(data)
        if precision is None:
            precision = p.bits_stored
        if is_signed is None:
            is_signed = p.signed
        itemsize = _itemsize_for_precision(precision, p.bits_allocated)
        arr = _from_buffer(_decode_with(func, data, "JPEG 2000"), p, itemsize, p.planar, "JPEG 2000")
        if p.photometric in ("MONOCHROME1", "MONOCHROME2") and is_signed != p.signed:
            _shift(arr, 8 * arr.dtype.itemsize - precision)
        return arr

    raise UnsupportedTransferSyntaxError(
        f"cannot decode pixel data of transfer syntax {_uid.uid_name(ts)} ({ts})"
    )
