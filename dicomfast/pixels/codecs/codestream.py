"""What a decoder reads from a codestream's header before decoding it: JPEG and JPEG-LS sample
precision (SOF), JPEG 2000 geometry, signedness and precision (SIZ). Shared by every backend."""
from __future__ import annotations


from typing import NamedTuple

from ...errors import DicomError

__all__ = ["jpeg_header", "JpegHeader", "j2k_geometry", "j2k_sign_precision", "check_j2k_geometry"]

_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}  # SOFn and SOF55 (JPEG-LS)


class JpegHeader(NamedTuple):
    """What a JPEG / JPEG-LS codestream's header says: the SOF marker (0xC0.. 0xCF, 0xF7 for
    JPEG-LS), sample precision, lines, samples per line, component identifiers, whether it has a
    JFIF APP0 marker, and the Adobe APP14 marker's transform flag (None without one)."""

    sof: int
    precision: int
    rows: int
    columns: int
    component_ids: tuple[int, ...]
    jfif: bool
    adobe_transform: int | None

    @property
    def ycbcr(self) -> bool:
        """Whether a 3-component codestream holds YCbCr (the encoder transformed RGB), as libjpeg
        decides it and pydicom and GDCM follow: an Adobe APP14 marker's transform flag (1: YCbCr),
        else a JFIF APP0 marker (YCbCr), else component identifiers 1, 2, 3."""
        if len(self.component_ids) != 3:
            return False
        if self.adobe_transform is not None:
            return self.adobe_transform == 1
        return self.jfif or self.component_ids == (1, 2, 3)


def jpeg_header(data) -> JpegHeader | None:
    """The :class:`JpegHeader` of a JPEG or JPEG-LS codestream, or None when its SOF is not found
    in the first 64 KiB."""
    b = bytes(data[:65536]) if len(data) > 65536 else bytes(data)
    if b[:2] != b"\xff\xd8":
        return None
    pos = 2
    jfif, adobe = False, None
    while pos + 4 <= len(b):
        if b[pos] != 0xFF:
            return None
        marker = b[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(b[pos + 2 : pos + 4], "big")
        seg = b[pos + 4 : pos + 2 + length]
        if marker == 0xE0 and seg[:5] == b"JFIF\0":
            jfif = True
        elif marker == 0xEE and seg[:5] == b"Adobe" and length >= 14 and len(seg) >= 12:
            adobe = seg[11]
        elif marker in _JPEG_SOF:
            if len(seg) < 6:
                return None
            n = seg[5]
            ids = tuple(seg[6 + 3 * k] for k in range(n) if 6 + 3 * k < len(seg))
            return JpegHeader(marker, seg[0], int.from_bytes(seg[1:3], "big"), int.from_bytes(seg[3:5], "big"),
                              ids, jfif, adobe)
        if length < 2:
            return None
        pos += 2 + length
    return None


def check_j2k_geometry(data, rows: int, columns: int, samples: int) -> None:
    """A codestream that declares a far larger image (or a pathological tiling) than the dataset is
    corrupt: refuse it before the decoder allocates, or spends minutes on, what it declares."""
    geometry = j2k_geometry(data)
    if geometry is None:
        return
    width, height, components, tiles = geometry
    if width * height > 4 * rows * columns or components > 4 or tiles > 4096:
        raise DicomError(
            f"the JPEG 2000 codestream declares {width} x {height} x {components} in {tiles} tile(s); "
            f"the dataset is {rows} x {columns} x {samples}")


def j2k_geometry(data) -> tuple[int, int, int, int] | None:
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


def j2k_sign_precision(data) -> tuple[bool | None, int | None]:
    """(is_signed, precision) of the first component in a JPEG 2000 codestream's SIZ segment."""
    b = bytes(data[:4096]) if len(data) > 4096 else bytes(data)
    offset = _j2k_siz_offset(b)
    if offset is None:
        return None, None
    ssiz = b[offset + 42]
    return bool(ssiz & 0x80), (ssiz & 0x7F) + 1
