"""The thread pool map of per-file work: the one implementation is :mod:`dicomfast.pixels.threads`
(the pixel layer decodes the frames of one file on it too, and cannot import from here)."""
from __future__ import annotations

from ..pixels.threads import check_workers, default_workers, run

__all__ = ["default_workers", "check_workers", "run"]
