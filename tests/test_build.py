"""The tests run against the compiled core, never without it (no silent pure-Python fallback)."""
from __future__ import annotations

import importlib
import importlib.machinery
from pathlib import Path

import pytest

import dicomfast
from package import compiled_modules, run_python

BUILD_HINT = "build it with `bash ci/setup.sh` (or `pip install -e .`)"


def _is_extension(module) -> bool:
    return any(str(module.__file__).endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES)


def test_a_child_python_imports_the_package_under_test():
    """The tests' child Pythons (tests/package.py's run_python) import this very package: never a
    source checkout's when an installed wheel is tested."""
    child = run_python("-c", "import dicomfast; print(dicomfast.__file__)")
    assert child.returncode == 0, child.stderr
    assert Path(child.stdout.strip()).resolve() == Path(dicomfast.__file__).resolve()


def test_compiled_core_is_importable():
    try:
        scan = importlib.import_module("dicomfast.core._scan")
    except ImportError as exc:
        pytest.fail(f"dicomfast.core._scan is not importable ({exc}); {BUILD_HINT}", pytrace=False)
    assert _is_extension(scan), f"dicomfast.core._scan is not a compiled extension: {scan.__file__}"


@pytest.mark.parametrize("pyx", compiled_modules())
def test_every_cython_module_is_built(pyx):
    """A .pyx added after the last build must not leave the tests running without it."""
    try:
        module = importlib.import_module(f"dicomfast.{pyx}")
    except ImportError as exc:
        pytest.fail(f"dicomfast.{pyx} is not importable ({exc}); {BUILD_HINT}", pytrace=False)
    assert _is_extension(module), f"dicomfast.{pyx} is not a compiled extension: {module.__file__}"


_IMPORT_WITHOUT_CORE = r"""
import sys

class _BlockCompiledCore:
    def find_spec(self, name, path=None, target=None):
        if name == "dicomfast.core._scan":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _BlockCompiledCore())
try:
    import dicomfast
except ImportError as exc:
    print(f"ImportError: {exc}")
    sys.exit(0)
print("dicomfast imported although dicomfast.core._scan could not be")
sys.exit(1)
"""


def test_import_without_compiled_core_says_how_to_build():
    proc = run_python("-c", _IMPORT_WITHOUT_CORE)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"no ImportError without the compiled core:\n{output}"
    assert "pip install" in proc.stdout, f"the ImportError gives no build hint:\n{output}"
