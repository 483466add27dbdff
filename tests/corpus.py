"""The test corpus: every DICOM file that pydicom and pydicom-data ship, plus the reference files
that DCMTK and GDCM wrote (tests/make_reference_files.py, run by conftest at session start).

Use it to run one test over every file, with short readable ids::

    from corpus import corpus_files, corpus_id

    @pytest.mark.parametrize("path", corpus_files(), ids=corpus_id)
    def test_header_matches_pydicom(path): ...

or ``corpus_params()``, which also adds one skipped case per missing converter, so that a run
without dcmtk or gdcm says so in its summary instead of silently testing fewer files.

Ids name the source: ``pd/`` pydicom's test_files, ``cs/`` its charset_files, ``pal/`` its
palettes, ``pdd/`` pydicom-data, ``gen/`` the generated reference files. The corpus holds
deliberately broken files too (MR_truncated.dcm, rtplan_truncated.dcm, badVR.dcm, no_meta.dcm,
the DICOMDIR variants, ...): a test decides what it expects of them, ideally the same outcome as
pydicom.

The directories are found from the installed packages; pydicom.data is never imported, since
its helpers (get_testdata_files) try the network and hang without one.
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import make_reference_files

# Files in those trees that are not DICOM: helpers, dumps, compressed copies.
NOT_DICOM_SUFFIXES = {
    ".json", ".py", ".pyc", ".gz", ".bz2", ".zip", ".xz", ".txt", ".md", ".dump", ".icc", ".tmp",
}


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _is_dicom(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".dcm":
        return True
    if suffix:  # a DICOM file in these trees is either *.dcm or has no extension at all
        return False
    # no extension (DICOMDIRs, dicomdirtests/*/IM..., ...): sniff, so a README is left out
    with path.open("rb") as f:
        head = f.read(132)
    return head[128:132] == b"DICM" or head[:2] in (b"\x02\x00", b"\x08\x00", b"\x00\x08")


def corpus_roots() -> dict[str, Path]:
    """id prefix -> directory; a package that is not installed is left out."""
    roots = {}
    pydicom_dir = _package_dir("pydicom")
    if pydicom_dir is not None:
        roots["pd"] = pydicom_dir / "data" / "test_files"
        roots["cs"] = pydicom_dir / "data" / "charset_files"
        roots["pal"] = pydicom_dir / "data" / "palettes"
    data_store_dir = _package_dir("data_store")  # pydicom-data
    if data_store_dir is not None:
        roots["pdd"] = data_store_dir / "data"
    roots["gen"] = make_reference_files.GENERATED_DIR
    return {prefix: root for prefix, root in roots.items() if root.is_dir()}


@functools.lru_cache(maxsize=None)
def _scan() -> tuple[tuple[str, Path], ...]:
    found = []
    for prefix, root in corpus_roots().items():
        pattern = "*.dcm" if prefix == "gen" else "*"
        for path in root.rglob(pattern):
            if path.is_file() and path.suffix.lower() not in NOT_DICOM_SUFFIXES and _is_dicom(path):
                found.append((f"{prefix}/{path.relative_to(root).as_posix()}", path))
    found.sort()
    return tuple(found)


def corpus_files() -> list[Path]:
    """Every corpus file, sorted by id."""
    return [path for _, path in _scan()]


def corpus_id(path: Path) -> str:
    """The short test id of a corpus file, e.g. ``pd/CT_small.dcm``."""
    for id_, p in _scan():
        if p == path:
            return id_
    return Path(path).name


def corpus_params() -> list:
    """``pytest.param``s of every corpus file with its id, plus one skipped case per missing
    reference tool (DCMTK, GDCM) whose reason says how to install it."""
    import pytest

    params = [pytest.param(path, id=id_) for id_, path in _scan()]
    for tool, reason in sorted(make_reference_files.missing_tools().items()):
        params.append(pytest.param(None, id=f"gen/{tool}-missing", marks=pytest.mark.skip(reason=reason)))
    return params


if __name__ == "__main__":
    for id_, _ in _scan():
        print(id_)
    print(len(_scan()), "files")
