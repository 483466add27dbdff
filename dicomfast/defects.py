"""What a tolerant read put up with: one small record per defect, and the error a strict read raises.

A read (``dcmread``, ``pixel_array``, ``read_pixels``, ...) takes ``strict=False`` by default: it
tolerates what pydicom tolerates and records each defect on the dataset (``ds.defects``). With
``strict=True`` the first defect raises :class:`DefectError` instead (truncation keeps raising
:class:`~dicomfast.errors.TruncatedError`, with the elements read before the fault as ``partial``).

Each :class:`Defect` says what was wrong (``kind``, one of :data:`KINDS`), where (``tag``, 0 when
no element is concerned; ``offset``, the byte offset of the element in the scanned data, -1 when
not known) and what was done about it (``action``).
"""

from __future__ import annotations

from typing import NamedTuple

from .errors import DicomError

__all__ = ["Defect", "DefectError", "KINDS", "ACTIONS"]

#: Every defect kind, with what a tolerant read does about it.
ACTIONS = {
    # the scan of the bytes
    "value_truncated": "value cut short at the end of the data, as pydicom reads it",
    "missing_delimiter": "item ended at its sequence's delimiter",
    "odd_length": "value read with its odd length",
    "unknown_vr": "read with a 2-byte length, value as bytes",
    "blank_vr": "element read as implicit VR",
    "vr_switch": "element read with the other VR encoding",
    "trailing_bytes": "fewer than 8 bytes after the last element ignored",
    "stray_delimiter": "item delimiter outside an item skipped",
    # the framing
    "meta_group_length": "meta group read up to the first tag outside group 0002",
    "deflate_truncated": "the inflated bytes read as far as they go",
    # pixels
    "pixel_data_short": "only whole frames read; none invented",
    "pixel_data_long": "bytes past the last frame ignored",
    "window_width": "window from the data's range",
    "unusable_lut": "LUT ignored",
    "pixel_attribute": "safe default used",
}
KINDS = frozenset(ACTIONS)


class Defect(NamedTuple):
    """One tolerated defect: ``kind`` (see :data:`KINDS`), ``tag`` (an int, 0 for none),
    ``offset`` (the element's byte offset, -1 when unknown) and ``action`` (what was done)."""

    kind: str
    tag: int
    offset: int
    action: str

    def __str__(self) -> str:
        where = f"({self.tag >> 16:04X},{self.tag & 0xFFFF:04X})" if self.tag else "-"
        at = f" at byte {self.offset}" if self.offset >= 0 else ""
        return f"{self.kind} {where}{at}: {self.action}"


def defect(kind: str, tag: int = 0, offset: int = -1, action: str | None = None) -> Defect:
    """A :class:`Defect` of a known kind, with the kind's default action unless one is given."""
    return Defect(kind, tag, offset, ACTIONS[kind] if action is None else action)


class DefectError(DicomError):
    """A strict read met a defect that a tolerant read records (``defect`` holds it)."""

    def __init__(self, message: str, *, defect: Defect | None = None) -> None:
        super().__init__(message)
        self.defect = defect
