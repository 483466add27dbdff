"""Functional groups of enhanced multi-frame images (PS3.3 C.7.6.16): the item of a functional
group macro that applies to a frame, per-frame first, then shared. The one lookup the pixel
transforms and the volume geometry use."""
from __future__ import annotations

from typing import Any

__all__ = ["is_enhanced", "functional_item", "frame_items"]

_SHARED = 0x52009229
_PER_FRAME = 0x52009230


def is_enhanced(ds: Any) -> bool:
    """Whether ``ds`` has a non-empty Shared or Per-Frame Functional Groups Sequence."""
    # `in` first: a membership test is several times cheaper than a get() of an absent element
    # (dicomfast datasets; a pydicom Dataset answers `in` for its tags too)
    return ((_PER_FRAME in ds and bool(ds.get("PerFrameFunctionalGroupsSequence")))
            or (_SHARED in ds and bool(ds.get("SharedFunctionalGroupsSequence"))))


def functional_item(ds: Any, keyword: str, frame: int) -> Any:
    """The first item of the functional group macro ``keyword`` (e.g. ``"PlanePositionSequence"``)
    for ``frame`` of an enhanced multi-frame dataset: from the Per-Frame Functional Groups Sequence
    when that frame has it, else from the Shared Functional Groups Sequence; ``None`` if neither."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and frame < len(per_frame):
        seq = per_frame[frame].get(keyword)
        if seq:
            return seq[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        seq = shared[0].get(keyword)
        if seq:
            return seq[0]
    return None


def frame_items(ds: Any, keyword: str, nframes: int) -> list:
    """:func:`functional_item` for frames 0 to ``nframes - 1``."""
    return [functional_item(ds, keyword, k) for k in range(nframes)]
