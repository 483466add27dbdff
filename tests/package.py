"""Where the package under test lives, and its compiled modules.

The tests run against an in-place build of a source checkout or against an installed wheel
(`.ci/run` does both), so package files are found from the imported package, never from the
checkout's path.
"""
from __future__ import annotations

from pathlib import Path

import dicomfast


def package_dir() -> Path:
    return Path(dicomfast.__file__).resolve().parent


def compiled_modules() -> list[str]:
    """Dotted names under ``dicomfast`` of every compiled module: each has a ``.pyi`` stub
    beside it (tests/test_stubs.py), and in a source checkout a ``.pyx`` too."""
    root = package_dir()
    found = {p.with_suffix("") for p in root.rglob("*.pyx")}
    found |= {p.with_suffix("") for p in root.rglob("_*.pyi")}
    return sorted(".".join(p.relative_to(root).parts) for p in found)
