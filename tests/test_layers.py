"""The layers contract (pyproject.toml, ``[tool.importlinter]``) holds, and it can fail.

import-linter reads only ``.py`` files, and a third of the package is compiled. So the check runs
over a copy of the package under test (the in-place build or the installed wheel: both carry the
``.pyx`` and ``.pxd`` sources) in which each compiled module is a ``.py`` file holding the imports
and cimports of its ``.pyx`` and ``.pxd``: the compiled modules obey the same contract as the rest.
(A plain ``lint-imports`` in a checkout cannot see them: it takes ``from .core._dataset import X``
for an import of the package's ``__init__``, and reports a chain through it that is not there.)

The contract itself is read from the checkout these tests belong to; without one the tests skip.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from package import package_dir

pytest.importorskip("importlinter", reason="import-linter is in the test extra: pip install -e .[test]")

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

# An import statement of Cython or Python, at any indentation, up to the end of its logical line.
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+c?import\b|c?import[ \t]+[\w.])")


def _contract() -> Path:
    if not PYPROJECT.is_file() or "[tool.importlinter]" not in PYPROJECT.read_text(encoding="utf-8"):
        pytest.skip("no checkout's pyproject.toml with [tool.importlinter] beside tests/")
    return PYPROJECT


def _imports(source: str) -> list[str]:
    """The import statements of a .pyx or .pxd file as Python: cimport read as import."""
    found: list[str] = []
    lines = iter(source.splitlines())
    for line in lines:
        if not _IMPORT.match(line):
            continue
        statement = line.split("#")[0].strip()
        while statement.endswith("\\") or statement.count("(") > statement.count(")"):
            statement = statement.rstrip("\\") + " " + next(lines).split("#")[0].strip()
        found.append(re.sub(r"\bcimport\b", "import", statement))
    return found


def _copy_package(destination: Path) -> Path:
    """The package's .py files under ``destination``, and one .py per compiled module made of the
    imports of its .pyx and .pxd files. Returns the copy's ``dicomfast`` directory."""
    source = package_dir()
    root = destination / "dicomfast"
    compiled: dict[Path, list[str]] = {}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if "__pycache__" in relative.parts:
            continue
        if path.suffix == ".py":
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, root / relative)
        elif path.suffix in (".pyx", ".pxd"):
            compiled.setdefault(relative.with_suffix(".py"), []).extend(
                _imports(path.read_text(encoding="utf-8")))
    for relative, imports in compiled.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("".join(f"{s}\n" for s in imports), encoding="utf-8")
    return root


def _lint(copy_root: Path, config: Path) -> subprocess.CompletedProcess:
    """lint-imports with ``config`` over the package copy in ``copy_root`` (its parent on sys.path
    first, ahead of the package under test)."""
    env = {**os.environ, "PYTHONPATH": str(copy_root.parent)}
    command = ("import sys; from importlinter.cli import lint_imports; "
               "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))")
    return subprocess.run(
        [sys.executable, "-c", command, str(config)],
        cwd=copy_root.parent, env=env, capture_output=True, text=True, timeout=300,
    )


def test_the_package_keeps_its_layers(tmp_path):
    config = _contract()
    copy = _copy_package(tmp_path)
    assert (copy / "core" / "_dataset.py").is_file()  # the compiled modules take part
    result = _lint(copy, config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
    assert "dicomfast layers: dependencies point down KEPT" in result.stdout


@pytest.mark.parametrize(
    "module, line, broken",
    [
        # the core imports the command line: an import of the top layer from near the bottom
        ("core/__init__.py", "from dicomfast import cli", "dicomfast.core is not allowed to import dicomfast.cli"),
        # a relative import between use cases, the wrong way round
        ("collection/__init__.py", "from .. import ml", "dicomfast.collection is not allowed to import dicomfast.ml"),
        # in a compiled module: what DataElement's repr did before dump.element_line was lent to it
        ("core/_dataset.pyx", "from dicomfast.dump import element_line",
         "dicomfast.core is not allowed to import dicomfast.dump"),
        # NumPy in the reader: every header read would pay for it
        ("reader.py", "import numpy", "dicomfast.reader is not allowed to import numpy"),
    ],
    ids=["core-imports-cli", "collection-imports-ml", "pyx-imports-dump", "reader-imports-numpy"],
)
def test_an_upward_import_breaks_the_contract(tmp_path, module, line, broken):
    config = _contract()
    source = package_dir() / module
    if not source.exists():
        pytest.skip(f"{module} is not in the installed package (a wheel carries no .pyx)")
    copy = _copy_package(tmp_path)
    # a lazy import, in a function: those count as much as the ones at the top
    text = source.read_text(encoding="utf-8") + f"\n\ndef _upward():\n    {line}\n"
    if module.endswith(".pyx"):
        (copy / module).with_suffix(".py").write_text("\n".join(_imports(text)) + "\n", encoding="utf-8")
    else:
        (copy / module).write_text(text, encoding="utf-8")
    result = _lint(copy, config)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert broken in result.stdout, result.stdout
