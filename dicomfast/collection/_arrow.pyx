"""The buffers of Arrow columns from lists of Python cells: what ``pyarrow.array`` does for the
index's few column types, without its per-call dispatch and without its lazy import of pandas
(``pyarrow.array`` imports pandas, when it is installed, on its first call in a process: a
quarter of a second in every worker of a pool).

Each function takes a column's cells (a ``list``) and returns the Arrow buffers as ``bytearray``
objects: ``(validity, null_count, values)`` for fixed-width columns, ``(validity, null_count,
offsets, data)`` for variable-width ones, ``(validity, null_count, offsets, items)`` for list
columns (``items``: the cells of the child column, flattened). ``validity`` is None when no cell is
null. A cell of another type than the column's (a ``bool`` or ``float`` in an integer column, a
``bytes`` in a string column) raises ``TypeError``, and an integer out of range ``OverflowError``:
the caller then converts the column with ``pyarrow.array``, whose rules decide. So these kernels
accept a subset of what ``pyarrow.array`` accepts and give the same array for it.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLong
from cpython.float cimport PyFloat_AS_DOUBLE
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.string cimport memcpy


cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL


# kinds of fixed_column
INT64 = 0
INT32 = 1
FLOAT64 = 2

cdef int64_t _INT32_MIN = -(1 << 31)
cdef int64_t _INT32_MAX = (1 << 31) - 1
cdef Py_ssize_t _OFFSET_MAX = (1 << 31) - 1


cdef object _validity(list cells, Py_ssize_t* null_count):
    """The validity bitmap of ``cells`` (None when every cell is set) and the number of nulls."""
    cdef Py_ssize_t n = len(cells), i, nulls = 0
    for i in range(n):
        if cells[i] is None:
            nulls += 1
    null_count[0] = nulls
    if nulls == 0:
        return None
    cdef bytearray bits = bytearray((n + 7) >> 3)
    cdef uint8_t* out = <uint8_t*>PyByteArray_AS_STRING(bits)
    for i in range(n):
        if cells[i] is not None:
            out[i >> 3] |= <uint8_t>(1 << (i & 7))
    return bits


def fixed_column(list cells, int kind):
    """``(validity, null_count, values)`` of an int64 (``INT64``; also times and timestamps in
    their integer unit), int32 (``INT32``; date32, days) or float64 (``FLOAT64``) column."""
    cdef Py_ssize_t n = len(cells), i, nulls
    cdef object cell
    cdef int64_t v
    if kind != INT64 and kind != INT32 and kind != FLOAT64:
        raise ValueError(f"unknown kind {kind}")
    cdef Py_ssize_t width = 4 if kind == INT32 else 8
    cdef bytearray values = bytearray(n * width)
    cdef char* out = PyByteArray_AS_STRING(values)
    cdef int32_t v32
    cdef double d
    for i in range(n):
        cell = cells[i]
        if cell is None:
            continue
        if kind == FLOAT64:
            if type(cell) is not float:
                raise TypeError(f"a {type(cell).__name__} in a float64 column")
            d = PyFloat_AS_DOUBLE(cell)
            memcpy(out + 8 * i, &d, 8)
            continue
        if type(cell) is not int:
            raise TypeError(f"a {type(cell).__name__} in an integer column")
        v = PyLong_AsLongLong(cell)   # OverflowError beyond int64
        if kind == INT32:
            if v < _INT32_MIN or v > _INT32_MAX:
                raise OverflowError(f"{v} does not fit in int32")
            v32 = <int32_t>v
            memcpy(out + 4 * i, &v32, 4)
        else:
            memcpy(out + 8 * i, &v, 8)
    validity = _validity(cells, &nulls)
    return validity, nulls, values


def bytes_column(list cells, bint text):
    """``(validity, null_count, offsets, data)`` of a string (``text``: ``str`` cells, UTF-8) or
    binary (``bytes`` cells) column with int32 offsets."""
    cdef Py_ssize_t n = len(cells), i, total = 0, size, nulls
    cdef object cell
    cdef const char* chars
    # pass 1: types and the total size (a str's UTF-8 form is cached on it, ASCII costs nothing)
    for i in range(n):
        cell = cells[i]
        if cell is None:
            continue
        if text:
            if type(cell) is not str:
                raise TypeError(f"a {type(cell).__name__} in a string column")
            PyUnicode_AsUTF8AndSize(cell, &size)   # UnicodeEncodeError for a lone surrogate
        else:
            if type(cell) is not bytes:
                raise TypeError(f"a {type(cell).__name__} in a binary column")
            size = PyBytes_GET_SIZE(cell)
        total += size
        if total > _OFFSET_MAX:
            raise OverflowError("the column's data exceeds int32 offsets")
    cdef bytearray offsets = bytearray(4 * (n + 1))
    cdef bytearray data = bytearray(total)
    cdef int32_t* offs = <int32_t*>PyByteArray_AS_STRING(offsets)
    cdef char* out = PyByteArray_AS_STRING(data)
    cdef int32_t at = 0
    offs[0] = 0
    for i in range(n):
        cell = cells[i]
        if cell is not None:
            if text:
                chars = PyUnicode_AsUTF8AndSize(cell, &size)
            else:
                chars = PyBytes_AS_STRING(cell)
                size = PyBytes_GET_SIZE(cell)
            memcpy(out + at, chars, size)
            at += <int32_t>size
        offs[i + 1] = at
    validity = _validity(cells, &nulls)
    return validity, nulls, offsets, data


def list_column(list cells):
    """``(validity, null_count, offsets, items)`` of a list column whose cells are ``list`` or None:
    int32 offsets into ``items``, the cells' items in order (the child column's cells)."""
    cdef Py_ssize_t n = len(cells), i, nulls, total = 0
    cdef object cell
    cdef list items = []
    cdef bytearray offsets = bytearray(4 * (n + 1))
    cdef int32_t* offs = <int32_t*>PyByteArray_AS_STRING(offsets)
    offs[0] = 0
    for i in range(n):
        cell = cells[i]
        if cell is not None:
            if type(cell) is not list:
                raise TypeError(f"a {type(cell).__name__} in a list column")
            total += len(<list>cell)
            if total > _OFFSET_MAX:
                raise OverflowError("the column's items exceed int32 offsets")
            items.extend(<list>cell)
        offs[i + 1] = <int32_t>total
    validity = _validity(cells, &nulls)
    return validity, nulls, offsets, items
