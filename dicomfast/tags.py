"""Tags: a 32-bit int (group << 16 | element) that prints as ``(GGGG,EEEE)``."""

from __future__ import annotations

from typing import Any

from . import datadict

__all__ = ["Tag", "to_tag", "tag_repr"]


class Tag(int):
    """An element tag; equal to the plain ``int`` ``group << 16 | element``."""

    __slots__ = ()

    @property
    def group(self) -> int:
        return self >> 16

    @property
    def element(self) -> int:
        return self & 0xFFFF

    @property
    def is_private(self) -> bool:
        return bool(self >> 16 & 1)

    @property
    def is_private_creator(self) -> bool:
        return self.is_private and 0x0010 <= (self & 0xFFFF) <= 0x00FF

    def __repr__(self) -> str:
        return tag_repr(self)

    __str__ = __repr__


def tag_repr(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _tag_of_text(key: str) -> int | None:
    """The tag written ``"(GGGG,EEEE)"``, ``"GGGG,EEEE"``, ``"GGGGEEEE"`` or ``"0xGGGGEEEE"``; None if not one."""
    text = key.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    if "," in text:
        group, _, element = text.partition(",")
        text = group.strip().rjust(4, "0") + element.strip().rjust(4, "0")
    elif text[:2].lower() == "0x":
        text = text[2:]
    if len(text) == 8 and all(c in "0123456789abcdefABCDEF" for c in text):
        return int(text, 16)
    return None


def to_tag(key: Any) -> int:
    """A tag from an int, a ``(group, element)`` pair, a keyword or hexadecimal text (``"(0010,0020)"``,
    ``"00100020"``, ``"0x00100020"``, as pydicom and DICOM's own tables write tags); ValueError otherwise."""
    if isinstance(key, int):
        if 0 <= key <= 0xFFFFFFFF:
            return key
        raise ValueError(f"tag {key:#x} is outside 0 to 0xFFFFFFFF")
    if isinstance(key, str):
        tag = datadict.tag_for_keyword(key)
        if tag is None:
            tag = _tag_of_text(key)  # keywords are letters and digits, starting with a letter: no clash
        if tag is not None:
            return tag
        raise ValueError(f"'{key}' is neither a DICOM keyword nor a tag such as '(0010,0020)'")
    if isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, int) for k in key):
        group, element = key
        if 0 <= group <= 0xFFFF and 0 <= element <= 0xFFFF:
            return group << 16 | element
        raise ValueError(f"tag {key} has a group or element outside 0 to 0xFFFF")
    raise TypeError(f"a tag is an int, a (group, element) pair or a keyword, not {key!r}")
