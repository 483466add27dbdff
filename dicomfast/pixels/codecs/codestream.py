"""What a decoder reads from a codestream's header before decoding it: JPEG and JPEG-LS sample
precision (SOF), JPEG 2000 geometry, signedness and precision (SIZ). Shared by every backend."""
from __future__ import annotations

__all__ = ["jpeg_precision", "j2k_geometry", "j2k_sign_precision"]

_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}  # SOFn and SOF55 (JPEG-LS)


def jpeg_precision(data) -> int | None:
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
