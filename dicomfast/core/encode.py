"""TEMPORARY minimal value encoder (replaced by the encode branch)."""
from __future__ import annotations

import struct

from ..errors import InvalidValueError

__all__ = ["encode_value"]

_TEXT = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT", "UI"}
_PACK = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d", "SV": "q", "UV": "Q"}


def encode_value(value, vr, *, big_endian=False, encodings=None, tag=None):
    if value is None or (isinstance(value, (str, bytes, list, tuple)) and len(value) == 0):
        return b""
    if vr in _TEXT:
        items = value if isinstance(value, (list, tuple)) else [value]
        text = "\\".join(str(v) for v in items)
        raw = text.encode(encodings[0] if encodings else "ascii")
        if len(raw) % 2:
            raw += b"\0" if vr == "UI" else b" "
        return raw
    if vr in _PACK:
        items = value if isinstance(value, (list, tuple)) else [value]
        return struct.pack(("<>"[big_endian]) + _PACK[vr] * len(items), *items)
    if vr in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
        if hasattr(value, "tobytes"):
            value = value.tobytes()
        raw = bytes(value)
        return raw + b"\0" if len(raw) % 2 else raw
    if vr == "AT":
        items = value if isinstance(value, (list, tuple)) else [value]
        return b"".join(struct.pack(("<>"[big_endian]) + "HH", t >> 16, t & 0xFFFF) for t in items)
    raise InvalidValueError(f"cannot encode VR {vr}")
