"""The index's fast paths (issue 13) give what the general ones give.

* The columns' Arrow arrays built from their buffers (``collection/_arrow.pyx`` behind
  ``indexing._column_array``) equal ``pyarrow.array(cells, type=...)`` for every column type the index
  makes; a cell the kernels do not take sends the column to ``pyarrow.array`` (and its cell-by-cell
  safety net), so the result is ``pyarrow.array``'s there too.
* ``Dataset._values(tags)`` gives each tag's value as ``_value(tag, _find(tag), _vr(...))`` does,
  on every file of the reference corpus.
* A worker's batch comes back as an IPC message and is read into the same batch.
* ``index`` does not import pandas (``pyarrow.array`` would, in every worker).
"""
from __future__ import annotations

import datetime
import pickle

import pytest

pa = pytest.importorskip("pyarrow")

import dicomfast  # noqa: E402
from dicomfast.collection import _arrow, indexing  # noqa: E402

from corpus import corpus_params  # noqa: E402
from package import run_python  # noqa: E402

_TYPES = {
    "string": pa.string(),
    "binary": pa.binary(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "date32": pa.date32(),
    "time64": pa.time64("us"),
    "timestamp": pa.timestamp("us"),
    "timestamp_utc": pa.timestamp("us", tz="UTC"),
}

_CELLS = {
    "string": ["1.2.840", None, "", "Müller^Hans", "山田^太郎", None, "x" * 1000],
    "binary": [b"\x00\x01", None, b"", b"\xff" * 300],
    "int64": [0, None, -(1 << 63), (1 << 63) - 1, 42],
    "float64": [0.0, None, -1.5, float("inf"), 1e300],
    "date32": [0, None, -719162, 2932896, 12345],
    "time64": [0, None, 86_399_999_999, 1_000_000],
    "timestamp": [0, None, -62135596800000000, 253402300799999999],
    "timestamp_utc": [1_700_000_000_000_000, None],
}


def _same(ours, theirs):
    ours.validate(full=True)
    assert ours.type == theirs.type
    assert ours.null_count == theirs.null_count
    assert ours.equals(theirs), (ours, theirs)
    assert ours.to_pylist() == theirs.to_pylist()


@pytest.mark.parametrize("name", sorted(_TYPES))
def test_a_column_from_its_buffers_is_pyarrows(name):
    arrow_type, cells = _TYPES[name], _CELLS[name]
    _same(indexing._from_buffers(pa, cells, arrow_type), pa.array(cells, type=arrow_type))
    _same(indexing._column_array(pa, cells, arrow_type), pa.array(cells, type=arrow_type))
    for column in ([], [None], [None] * 9, cells * 5):  # empty, all null, more than a byte of validity
        _same(indexing._from_buffers(pa, column, arrow_type), pa.array(column, type=arrow_type))


@pytest.mark.parametrize("name", sorted(_TYPES))
def test_a_list_column_from_its_buffers_is_pyarrows(name):
    arrow_type = pa.list_(_TYPES[name])
    items = [cell for cell in _CELLS[name] if cell is not None]
    cells = [items[:2], None, [], [items[0], None, items[-1]], [None], items]
    _same(indexing._from_buffers(pa, cells, arrow_type), pa.array(cells, type=arrow_type))


def test_the_index_schema_is_built_from_buffers():
    # every column type of an index (with every kind of tag column and frames) has a buffer builder
    specs = indexing._columns(["ImagePositionPatient", "Rows", "PixelData", "PatientBirthDate", "AcquisitionDateTime",
                               "ImageType", "SliceThickness", 0x00191002], frames=True)
    for field in indexing._schema(specs, True):
        assert indexing._buffer_kind(field.type) is not None, field


@pytest.mark.parametrize("arrow_type, cells", [
    (pa.int64(), [1, True, None]),            # a bool: pyarrow's rules, not the kernel's
    (pa.int64(), [1, 2.0]),                   # a float in an integer column
    (pa.int64(), [1, 1 << 64]),               # beyond int64: the cell is null
    (pa.date32(), [1, 1 << 40]),              # beyond int32
    (pa.float64(), [1.5, 2]),                 # an int in a float column
    (pa.string(), ["a", "\udc80", None]),     # a lone surrogate is not UTF-8: the cell is null
    (pa.string(), ["a", b"b"]),               # bytes in a string column
    (pa.binary(), [b"a", "b"]),               # str in a binary column
    (pa.list_(pa.int64()), [[1], (2, 3)]),    # a tuple cell
    (pa.list_(pa.string()), [["a", 3]]),      # an int item: the whole cell is null
    (pa.time64("us"), [datetime.time(1, 2), 5]),
])
def test_a_cell_the_kernels_do_not_take_goes_to_pyarrow(arrow_type, cells):
    with pytest.raises((TypeError, OverflowError, ValueError)):
        indexing._from_buffers(pa, cells, arrow_type)
    try:
        expected = pa.array(cells, type=arrow_type)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        expected = indexing._array_cell_by_cell(pa, cells, arrow_type)
    _same(indexing._column_array(pa, cells, arrow_type), expected)


def test_the_kernels_say_what_they_refuse():
    with pytest.raises(TypeError, match="bool in an integer column"):
        _arrow.fixed_column([True], _arrow.INT64)
    with pytest.raises(OverflowError):
        _arrow.fixed_column([1 << 31], _arrow.INT32)
    with pytest.raises(ValueError, match="unknown kind"):
        _arrow.fixed_column([], 7)
    with pytest.raises(TypeError, match="tuple in a list column"):
        _arrow.list_column([(1,)])
    assert _arrow.fixed_column([1, 2], _arrow.INT64)[:2] == (None, 0)  # no nulls: no validity bitmap
    validity, nulls, offsets, data = _arrow.bytes_column(["ab", None, "é"], True)
    assert (bytes(validity), nulls, bytes(data)) == (b"\x05", 1, "abé".encode())
    assert list(memoryview(offsets).cast("i")) == [0, 2, 2, 4]


@pytest.mark.parametrize("path", corpus_params())
def test_values_of_sorted_tags_are_the_values_one_by_one(path):
    try:
        ds = dicomfast.dcmread(path, stop_before_pixels=True)
    except dicomfast.DicomError:
        pytest.skip("not readable as a whole")
    top = sorted({elem.tag for elem in ds} | {0x00100010, 0x7FE00010, 0xFFFEE000 - 1})  # and absent ones
    top = tuple(tag for tag in top if tag < 0xFFFFFFFF)
    fresh = dicomfast.dcmread(path, stop_before_pixels=True)

    def one(tag):
        where = ds._find(tag)
        return None if where < 0 else ds._value(tag, where, ds._vr(tag, where))

    try:
        expected = [one(tag) for tag in top]
    except (ValueError, TypeError, OverflowError) as exc:  # a value that does not decode: the same error
        with pytest.raises(type(exc)):
            fresh._values(top)
        return
    assert fresh._values(top) == expected  # a fresh dataset: decoded without caching
    assert ds._values(top) == expected     # values cached already: the cached ones
    wanted = top[::3]
    assert fresh._values(wanted) == [one(tag) for tag in wanted]


def test_values_take_strictly_ascending_tags_and_see_edits():
    ds = dicomfast.Dataset()
    ds.PatientName = "A^B"
    ds.PatientID = "7"
    with pytest.raises(ValueError, match="strictly ascending"):
        ds._values((0x00100020, 0x00100010))
    with pytest.raises(ValueError, match="strictly ascending"):
        ds._values((0x00100010, 0x00100010))
    assert ds._values(()) == []
    # an edited element is not a record: as _find says (-1), it is not a value of _values either
    assert ds._values((0x00100010, 0x00100020)) == [None, None] == [
        None if ds._find(t) < 0 else 0 for t in (0x00100010, 0x00100020)]


def test_a_chunk_crosses_as_an_ipc_message(dicom_tree):
    root, _ = dicom_tree
    specs = indexing._columns(["Rows", "ImagePositionPatient"], frames=True)
    schema = indexing._schema(specs, True)
    paths = sorted(indexing.iter_files(root))
    batch = indexing._index_chunk(paths, specs, frames=True)
    message = pickle.loads(pickle.dumps(indexing._index_chunk_message(paths, specs, frames=True)))
    assert isinstance(message, bytes)
    again = indexing._batch_of(pa, schema, message)
    again.validate(full=True)
    assert again.equals(batch) and again.schema == schema
    assert indexing._batch_of(pa, schema, batch) is batch  # on_crash's batch, as it is


def test_index_does_not_import_pandas(dicom_tree):
    pytest.importorskip("pandas")  # without pandas there is nothing to show
    root, _ = dicom_tree
    code = ("import sys, dicomfast; "
            f"t = dicomfast.index({str(root)!r}, ['ImagePositionPatient', 'Rows'], workers=1, frames=True); "
            "print(t.num_rows > 0, 'pandas' in sys.modules)")
    out = run_python("-c", code, check=True)
    assert out.stdout.split() == ["True", "False"]


def _freeze_count(chunk):
    import gc

    return gc.get_freeze_count()


def test_a_pool_hides_the_objects_of_the_parent_from_the_collector_while_it_runs():
    import gc

    from dicomfast.collection import executor

    assert gc.get_freeze_count() == 0
    counts = list(executor.map_chunks(_freeze_count, range(8), workers=2, chunksize=2))
    assert gc.get_freeze_count() == 0  # unfrozen when the pool is done
    if executor._pool_context().get_start_method() == "fork":
        assert min(counts) > 0  # a forked worker's collections do not walk (and copy) the parent's objects
    gc.freeze()  # a caller's own freeze (a pre-fork server's) is left as it is
    try:
        frozen = gc.get_freeze_count()
        list(executor.map_chunks(_freeze_count, range(8), workers=2, chunksize=2))
        # still frozen (not unfrozen by the pool); a frozen object freed meanwhile leaves the count
        assert frozen >= gc.get_freeze_count() > frozen // 2
    finally:
        gc.unfreeze()
