"""Where the package under test lives, and its compiled modules.

The tests run against an in-place build of a source checkout (``bash ci/test.sh``) or against an
installed wheel (``bash ci/wheel.sh``; `.ci/run` does both), so package files are found from the
imported package, never from the checkout's path. A few tests need the source checkout itself (they
run the benchmarks in ``benchmarks/`` or the generator in ``tools/``); they skip, saying why, when the
package under test is not the checkout's (``needs_checkout``).

Child Pythons that must import the package under test are started with ``run_python``: a child
started in the checkout would put the checkout on its ``sys.path`` and import the checkout's
package instead of the installed one.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import dicomfast

#: The directory that holds ``tests/`` (a source checkout, or a copy of its tests, benchmarks and
#: tools when an installed wheel is tested).
CHECKOUT = Path(__file__).resolve().parent.parent


def package_dir() -> Path:
    return Path(dicomfast.__file__).resolve().parent


def is_checkout_package() -> bool:
    """Whether the package under test is the source checkout's own ``dicomfast/`` (an in-place or
    editable build), rather than an installed wheel."""
    return package_dir() == (CHECKOUT / "dicomfast").resolve()


CHECKOUT_REASON = (
    f"needs the source checkout's own package: the package under test is {package_dir()}, "
    f"not {CHECKOUT / 'dicomfast'} (an installed wheel is tested; this runs in the in-place test run)"
)

#: Marks a test that needs the package under test to be the source checkout's.
needs_checkout = pytest.mark.skipif(not is_checkout_package(), reason=CHECKOUT_REASON)


def skip_module_unless_checkout() -> None:
    """For a test module that imports from ``benchmarks/`` at import time."""
    if not is_checkout_package():
        pytest.skip(CHECKOUT_REASON, allow_module_level=True)


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python that must import the package under test: the directory
    that holds it first on ``PYTHONPATH``."""
    paths = [str(package_dir().parent)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths), **extra)


def run_python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """``python ARGS`` (``-c CODE``, ``-m MODULE``, a script) in a child that imports the package
    under test: its working directory (first on a ``-c``/``-m`` child's ``sys.path``) is the
    directory that holds the package, never the checkout when a wheel is tested."""
    kwargs.setdefault("cwd", package_dir().parent)
    kwargs.setdefault("env", child_env())
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", 120)
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([sys.executable, *args], **kwargs)


def compiled_modules() -> list[str]:
    """Dotted names under ``dicomfast`` of every compiled module: each has a ``.pyi`` stub
    beside it (tests/test_stubs.py), and in a source checkout a ``.pyx`` too."""
    root = package_dir()
    found = {p.with_suffix("") for p in root.rglob("*.pyx")}
    found |= {p.with_suffix("") for p in root.rglob("_*.pyi")}
    return sorted(".".join(p.relative_to(root).parts) for p in found)
