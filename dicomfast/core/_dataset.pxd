# The compiled Dataset view's C-level API: what the layers above `cimport` (the pixel module walk
# in dicomfast/pixels/_module.pyx reads a dataset's records and values through it).
cimport cython
from libc.stdint cimport uint32_t, int32_t

from dicomfast.core._scan cimport Tape


@cython.no_gc_clear
cdef class DatasetBase:
    cdef public Tape _tape
    cdef public Py_ssize_t _start
    cdef public Py_ssize_t _stop
    cdef public object _parent
    cdef public object _index        # {tag: record} once built; None before
    cdef public dict _cache          # {tag: value}
    cdef public object _encodings
    cdef public object file_meta
    cdef public object _preamble       # the 128-byte preamble: bytes, or (source,) to slice it from
    cdef public object _source
    cdef public object _edits          # None, or {tag: DataElement or DELETED}: the edits over the tape
    cdef object __weakref__
    # The records directly in this dataset, in file order, once a second lookup asks for them;
    # `ordered` when their tags ascend (as the standard requires), so a lookup can bisect.
    cdef int32_t* kids
    cdef Py_ssize_t nkids
    cdef bint ordered
    cdef int lookups

    cdef int c_init(self, Tape tape, Py_ssize_t start, Py_ssize_t stop, object parent) except -1
    # the record of `tag` directly in this dataset, or -1
    cdef Py_ssize_t c_find(self, uint32_t tag) except -2
    cdef int c_index_kids(self) except -1
    # the VR a record's value is decoded as
    cdef str c_vr(self, uint32_t tag, Py_ssize_t index)
    cdef object c_encodings(self)
    cdef object c_resolve_encodings(self, Py_ssize_t index)
    # the first record of each of n ascending tags (the last 0xFFFFFFFF) in one pass, -1 if absent
    cdef void c_find_sorted(self, const uint32_t* tags, int n, Py_ssize_t* found) noexcept
    # the value of a record, as ds.Keyword gives it (see the .pyx)
    cdef object c_value_at(self, Py_ssize_t index, bint us)
    # the VR written for a record ("" implicit), its length, whether it is encapsulated
    cdef str c_record(self, Py_ssize_t index, uint32_t* length, bint* encapsulated)
    # the value bytes of a record, zero-copy (Tape.raw)
    cdef object c_raw(self, Py_ssize_t index)
    cdef bint c_big_endian(self) noexcept
    cdef bint c_explicit_vr(self) noexcept
    # whether the Specific Character Set has been resolved (c_resolve_encodings)
    cdef bint c_encodings_resolved(self) noexcept
    # the decoded value of record `index`, cached by its tag `key` (a Python int)
    cdef object c_decode(self, Py_ssize_t index, str vr)
    cdef object c_value(self, object key, Py_ssize_t index, str vr)
    cdef object c_keyword_value(self, uint32_t tag, object key, str name)
