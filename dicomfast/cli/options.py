"""Argument types that more than one subcommand's parser uses."""
from __future__ import annotations

import argparse
import re
from typing import Any

__all__ = ["positive_int", "parse_tag"]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_tag(text: str) -> Any:
    """A keyword, or a tag as ``0010,0010``, ``(0010,0010)``, ``00100010`` or ``0x00100010``."""
    bare = text.strip().strip("()").replace(",", "").replace(" ", "")
    if bare.lower().startswith("0x"):
        bare = bare[2:]
    if re.fullmatch(r"[0-9A-Fa-f]{8}", bare):
        return int(bare, 16)
    from ..datadict import tag_for_keyword

    if tag_for_keyword(text.strip()) is None:
        raise argparse.ArgumentTypeError(f"not a tag or a DICOM keyword: {text!r}")
    return text.strip()
