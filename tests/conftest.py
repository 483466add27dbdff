"""Session-wide test setup.

* The reference files of other toolkits (tests/make_reference_files.py) are made once, before
  collection, so that ``corpus.corpus_files()`` sees them when test modules parametrize on it.
  The pytest header says how many there are and which tools were missing.
* Any test whose stderr shows "Exception ignored" fails: that is how Cython reports an exception
  it had to swallow (a ``noexcept`` function that raised, an error in ``__dealloc__``). Under pytest
  those reports usually arrive as PytestUnraisableExceptionWarning instead of stderr text, so that
  warning is made an error too.
* ``DICOMFAST_TEST_INSTALLED=1`` (set by ci/wheel.sh) says an installed wheel is under test: the
  session stops at once unless the imported ``dicomfast`` is the one installed in the running
  virtualenv's site-packages (not a source checkout that happens to be on ``sys.path``). The header
  says which package is under test either way.
"""
from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import pytest

import make_reference_files

_REFERENCE_REPORT = None


def _check_installed_package() -> None:
    """Under DICOMFAST_TEST_INSTALLED=1, stop unless the package under test is the wheel installed
    in this virtualenv."""
    if os.environ.get("DICOMFAST_TEST_INSTALLED", "") in ("", "0"):
        return
    from package import is_checkout_package, package_dir

    where = package_dir()
    site = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    problems = []
    if sys.prefix == sys.base_prefix:
        problems.append(f"the tests do not run in a virtualenv ({sys.executable})")
    if where.parent not in site:
        problems.append(f"dicomfast was imported from {where}, not from this environment's "
                        f"site-packages ({', '.join(map(str, sorted(site)))})")
    if is_checkout_package():
        problems.append(f"dicomfast was imported from the source checkout next to tests/ ({where})")
    if problems:
        pytest.exit("DICOMFAST_TEST_INSTALLED=1, but the package under test is not the installed wheel: "
                    + "; ".join(problems), returncode=3)


def pytest_configure(config):
    global _REFERENCE_REPORT
    _check_installed_package()
    config.addinivalue_line("filterwarnings", "error::pytest.PytestUnraisableExceptionWarning")
    if config.option.help or getattr(config.option, "version", False):
        return
    if _REFERENCE_REPORT is None:
        _REFERENCE_REPORT = make_reference_files.generate()


def pytest_report_header(config):
    from package import is_checkout_package, package_dir

    kind = "the source checkout's" if is_checkout_package() else "installed"
    lines = [f"dicomfast under test: {package_dir()} ({kind})"]
    if _REFERENCE_REPORT is not None:
        lines.append(f"reference files: {_REFERENCE_REPORT.summary()}")
    return lines


_CAPTURE_FIXTURES = {"capsys", "capsysbinary", "capfdbinary", "capteesys"}


@pytest.fixture(autouse=True)
def _fail_on_swallowed_exceptions(request):
    """Fail a test whose captured stderr contains Cython's "Exception ignored" report."""
    if _CAPTURE_FIXTURES & set(request.fixturenames):
        # pytest allows one capture fixture per test; such a test checks its own output
        yield
        return
    capfd = request.getfixturevalue("capfd")
    yield
    out, err = capfd.readouterr()
    # give the output back, so that pytest's report of this test still shows it
    sys.stdout.write(out)
    sys.stderr.write(err)
    if "Exception ignored" in err:
        pytest.fail(f"a swallowed exception was reported on stderr:\n{err}", pytrace=False)


@pytest.fixture(scope="session")
def dicom_tree(tmp_path_factory):
    """The collection tests' archive (tests/tree.py), written once per session: ``(root, info)``.

    ``root`` is a ``pathlib.Path``; ``info`` is what ``tree.make_tree`` returns. Read-only: a test
    that changes files makes its own copy (``shutil.copytree``) or its own tree.
    """
    import tree

    root = tmp_path_factory.mktemp("tree")
    return root, tree.make_tree(root)


@pytest.fixture(scope="module")
def dask_cluster():
    """A local ``dask.distributed`` cluster of two worker processes (as a cluster of machines would
    have: tasks and results are pickled), started once per test module that runs on Dask and shut
    down after it (a live cluster's threads would make later process pools start by forkserver)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, worker_dashboard_address=None) as cluster:
        yield cluster
