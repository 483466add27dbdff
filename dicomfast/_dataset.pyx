# The compiled half of the Dataset view: the lookups that run once per attribute access.
#
# `ds.PatientName` is the hottest path of a header read. Here it is one C call chain: a keyword
# descriptor on the class, the dataset's value cache, a walk of the element table, and the value
# decoder. Everything that is not on that path (sequences, ambiguous VRs, character sets,
# iteration, dumps) stays in Python, in dataset.py, which subclasses DatasetBase.

cimport cython
from libc.stdint cimport uint32_t, int32_t
from libc.stdlib cimport malloc, free

from dicomfast._scan cimport Tape, Elem, F_SEQUENCE, F_ENCAPSULATED, F_RAW_DELIMITED, F_BIG, F_UNDEFINED
from dicomfast._values cimport decode_value, VR_UN, VR_CS

from dicomfast import datadict as _datadict
from dicomfast.charset import python_encodings


cdef class _Unset:
    """The value of a dataset's encodings before they are resolved."""

    def __repr__(self):
        return "<unset>"

    def __reduce__(self):
        return (_unset, ())


UNSET = _Unset()


def _unset():
    return UNSET


cdef inline str _vr_text(unsigned int code):
    return chr(code & 0xFF) + chr(code >> 8)


cdef dict _VR_TEXT = {}
cdef dict _ENCODINGS = {}     # raw Specific Character Set value -> Python codecs
cdef dict _STATIC_VR = {}     # public tag -> dictionary VR, for the tags whose VR is unambiguous


def remember_static_vr(uint32_t tag, str vr):
    """Cache the dictionary VR of a public tag whose VR does not depend on the dataset."""
    if len(_STATIC_VR) < 65536:
        _STATIC_VR[tag] = vr


# Datasets form reference cycles (an item's parent caches the sequence holding the item). The
# garbage collector breaks them through the value caches (dicts); the datasets themselves are never
# cleared, so no method can meet a dataset whose tape has been taken away.
@cython.no_gc_clear
cdef class DatasetBase:
    """A range of records in a Tape, with the values decoded so far."""

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
    cdef object __weakref__
    # The records directly in this dataset, in file order, once a second lookup asks for them;
    # `ordered` when their tags ascend (as the standard requires), so a lookup can bisect.
    cdef int32_t* kids
    cdef Py_ssize_t nkids
    cdef bint ordered
    cdef int lookups

    def __cinit__(self):
        self.kids = NULL
        self.nkids = 0
        self.ordered = False
        self.lookups = 0

    def __dealloc__(self):
        free(self.kids)

    def __init__(self, Tape tape, Py_ssize_t start, Py_ssize_t stop, parent=None):
        if start < 0 or stop > len(tape) or start > stop:
            raise IndexError((start, stop))
        self.c_init(tape, start, stop, parent)

    cdef int c_init(self, Tape tape, Py_ssize_t start, Py_ssize_t stop, object parent) except -1:
        self._tape = tape
        self._start = start
        self._stop = stop
        self._parent = parent
        self._index = None
        self._cache = {}
        self._encodings = UNSET
        self.file_meta = None
        self._preamble = None
        self._source = None
        return 0

    cdef Py_ssize_t c_find(self, uint32_t tag) except -2:
        """The record of ``tag`` directly in this dataset, or -1."""
        cdef Py_ssize_t i, lo, hi, mid
        cdef Elem* e = self._tape.elems
        if self.kids == NULL:
            self.lookups += 1
            if self.lookups < 2 or self._stop - self._start < 16 or self.c_index_kids() < 0:
                i = self._start
                while i < self._stop:
                    if e[i].tag == tag:
                        return i
                    i = e[i].end
                return -1
        if self.ordered:
            lo = 0
            hi = self.nkids
            while lo < hi:
                mid = (lo + hi) >> 1
                if e[self.kids[mid]].tag < tag:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < self.nkids and e[self.kids[lo]].tag == tag:
                return self.kids[lo]
            return -1
        for i in range(self.nkids):
            if e[self.kids[i]].tag == tag:
                return self.kids[i]
        return -1

    cdef int c_index_kids(self) except -1:
        cdef Elem* e = self._tape.elems
        cdef Py_ssize_t i = self._start, n = 0
        while i < self._stop:
            n += 1
            i = e[i].end
        self.kids = <int32_t*>malloc(max(n, 1) * sizeof(int32_t))
        if self.kids == NULL:
            raise MemoryError()
        self.ordered = True
        i = self._start
        n = 0
        while i < self._stop:
            self.kids[n] = <int32_t>i
            if n and e[self.kids[n - 1]].tag >= e[i].tag:
                self.ordered = False
            n += 1
            i = e[i].end
        self.nkids = n
        return 0

    cdef str c_vr(self, uint32_t tag, Py_ssize_t index):
        """The VR a value is decoded as: what the file says, else the dictionary's."""
        cdef Elem* e = &self._tape.elems[index]
        cdef object text
        if e.flags & F_SEQUENCE:
            return "SQ"
        if e.vr == 0 or e.vr == VR_UN:
            # Implicit VR, or UN: the dictionary decides for public tags, as in pydicom.
            if tag & 0x10000:
                if 0x0010 <= (tag & 0xFFFF) <= 0x00FF:
                    return "LO"      # a private creator, implicit or UN, as pydicom reads it
                return "UN"
            text = _STATIC_VR.get(tag)
            if text is not None:
                return <str>text
            return self._dictionary_vr(tag, index)
        text = _VR_TEXT.get(e.vr)
        if text is None:
            text = _vr_text(e.vr)
            if len(_VR_TEXT) < 4096:
                _VR_TEXT[e.vr] = text
        return <str>text

    def _dictionary_vr(self, tag, index):
        raise NotImplementedError  # dataset.py

    def _sequence(self, index):
        raise NotImplementedError  # dataset.py

    cdef object c_encodings(self):
        """The Python codecs of this dataset's Specific Character Set, or its parent's."""
        cdef object encodings = self._encodings
        cdef Py_ssize_t index
        cdef Elem* e
        cdef bytes raw
        if encodings is not UNSET:
            return encodings
        index = self.c_find(0x00080005)
        if index >= 0:
            e = &self._tape.elems[index]
            self._tape._check_bounds(e)
            raw = (<const char*>self._tape.data)[e.offset:e.offset + e.length]
            encodings = _ENCODINGS.get(raw, UNSET)
            if encodings is UNSET:
                encodings = python_encodings(decode_value(self._tape.data + e.offset, e.length,
                                                          VR_CS, False, None))
                if len(_ENCODINGS) < 1024:
                    _ENCODINGS[raw] = encodings
        elif self._parent is not None:
            encodings = (<DatasetBase>self._parent).c_encodings()
        else:
            encodings = None
        self._encodings = encodings
        return encodings

    cdef object c_value(self, object key, Py_ssize_t index, str vr):
        """The decoded value of record ``index``, cached by its tag ``key`` (a Python int)."""
        cdef object value = self._cache.get(key, UNSET)
        cdef Elem* e
        cdef unsigned int code
        if value is not UNSET:
            return value
        if vr == "SQ":
            value = self._sequence(index)
        else:
            e = &self._tape.elems[index]
            if e.flags & (F_ENCAPSULATED | F_RAW_DELIMITED):
                value = bytes(self._tape.raw(index))
            else:
                encodings = self.c_encodings()
                self._tape._check_bounds(e)
                code = <unsigned int>(<Py_UCS4>vr[0]) | (<unsigned int>(<Py_UCS4>vr[1]) << 8)
                value = decode_value(self._tape.data + e.offset, e.length, code,
                                     e.flags & F_BIG, encodings)
        # Decoding can run Python code (a sequence's items, a codec), so another thread sharing
        # this dataset may have cached the same value meanwhile: keep the first, so that every
        # caller gets one object (one Sequence whose items cache their own values).
        return self._cache.setdefault(key, value)

    cdef object c_keyword_value(self, uint32_t tag, object key, str name):
        """``ds.Keyword``: the value, or AttributeError when the element is absent. ``key`` is
        ``tag`` as a Python int, made once per keyword rather than on every access."""
        cdef object value = self._cache.get(key, UNSET)
        if value is not UNSET:
            return value
        cdef Py_ssize_t index = self.c_find(tag)
        if index < 0:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        return self.c_value(key, index, self.c_vr(tag, index))

    def __getitem__(self, key):
        """``ds[tag]``, ``ds[(group, element)]`` or ``ds["Keyword"]``: the DataElement."""
        cdef object tag
        if type(key) is str:
            tag = _keyword_tags.get(key)
            if tag is None:
                tag = _to_tag(key)          # raises for a string that is not a keyword
        elif type(key) is int and 0 <= key <= 0xFFFFFFFF:
            tag = key
        else:
            tag = _to_tag(key)
        cdef uint32_t ctag = tag
        cdef Py_ssize_t index = self.c_find(ctag)
        if index < 0:
            raise KeyError(f"({ctag >> 16:04X},{ctag & 0xFFFF:04X})")
        return _make_element(self, index, ctag, self.c_vr(ctag, index))

    def _element(self, Py_ssize_t index):
        """The DataElement of record ``index`` (a record directly in this dataset)."""
        if index < self._start or index >= self._stop:
            raise IndexError(index)
        cdef uint32_t tag = self._tape.elems[index].tag
        return _make_element(self, index, tag, self.c_vr(tag, index))

    # Python entry points of the lookups above (the compiled callers use the c_ methods, which a
    # Python subclass cannot override, so no call pays for an override check).

    def _find(self, tag):
        return self.c_find(tag)

    def _vr(self, tag, index):
        if index < 0 or index >= self._tape.n:
            raise IndexError(index)
        return self.c_vr(tag, index)

    def _value(self, tag, index, vr):
        if index < 0 or index >= self._tape.n:
            raise IndexError(index)
        return self.c_value(tag, index, vr)



cdef dict _keyword_tags = {}           # keyword -> tag, set by dataset.py
cdef object _to_tag = None             # tags.to_tag, for keys other than int and keyword


def _configure(dict keyword_tags, to_tag):
    """Called once by dataset.py: the tables and functions the compiled lookups use."""
    global _keyword_tags, _to_tag
    _keyword_tags = keyword_tags
    _to_tag = to_tag


def new_dataset(cls, Tape tape, parent=None):
    """A dataset of class ``cls`` over all of ``tape`` (the reader's fast constructor)."""
    cdef DatasetBase dataset = <DatasetBase>DatasetBase.__new__(cls)
    dataset.c_init(tape, 0, tape.n, parent)
    return dataset


@cython.freelist(64)
@cython.final
cdef class DataElement:
    """One element: ``tag``, ``VR``, ``VM``, ``value``, ``keyword`` and ``name``.

    Made by a dataset (``ds[tag]``, iteration); the value is decoded on first access and cached by
    the dataset. Compiled, with a free list: ``ds[key].value`` is as common as ``ds.Keyword``.
    """

    cdef DatasetBase _dataset
    cdef Py_ssize_t _index
    cdef uint32_t _tag
    cdef readonly str VR

    def __init__(self, *args, **kwargs):
        raise TypeError("DataElements are made by a dataset: ds[tag], ds['Keyword'], iter(ds)")

    @property
    def tag(self):
        return _tag_class(self._tag)

    @property
    def value(self):
        return self._dataset.c_value(self._tag, self._index, self.VR)

    @property
    def VM(self):
        """Value multiplicity, counted as pydicom counts it (a sequence has VM 1)."""
        if self.VR == "SQ":
            return 1
        value = self.value
        if value is None:
            return 0
        if isinstance(value, (str, bytes, bytearray, memoryview)):
            return 1 if len(value) else 0
        if isinstance(value, list):
            return len(value)
        return 1

    @property
    def keyword(self):
        return _datadict.keyword_for_tag(self._tag)

    @property
    def name(self):
        cdef uint32_t element = self._tag & 0xFFFF
        if self._tag & 0x10000 and element:
            return "Private Creator" if 0x0010 <= element <= 0x00FF else "Private tag data"
        try:
            return _datadict.dictionary_description(self._tag)
        except KeyError:
            return "Unknown"

    @property
    def is_private(self):
        return bool(self._tag & 0x10000)

    @property
    def is_undefined_length(self):
        return bool(self._dataset._tape.elems[self._index].flags & F_UNDEFINED)

    @property
    def file_offset(self):
        """Where the element's tag starts in the (possibly inflated) dataset bytes."""
        return self._dataset._tape.elems[self._index].start

    @property
    def length(self):
        """The value's length in bytes (the content's length for an undefined length)."""
        return self._dataset._tape.elems[self._index].length

    def raw_value(self):
        """The value's bytes as they are in the file, zero-copy and read-only."""
        return self._dataset._tape.raw(self._index)

    def __eq__(self, other):
        if not isinstance(other, DataElement):
            return NotImplemented
        return self.tag == other.tag and self.VR == other.VR and self.value == other.value

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None

    def __repr__(self):
        from dicomfast._dump import element_line

        return element_line(self)


cdef object _tag_class = int


def _set_tag_class(cls):
    global _tag_class
    _tag_class = cls


cdef DataElement _make_element(DatasetBase dataset, Py_ssize_t index, uint32_t tag, str vr):
    cdef DataElement element = DataElement.__new__(DataElement)
    element._dataset = dataset
    element._index = index
    element._tag = tag
    element.VR = vr
    return element


cdef class Keyword:
    """``Dataset.<Keyword>``: one descriptor per dictionary keyword on the Dataset class.

    A class attribute is found through the type's attribute cache; a ``__getattr__`` fallback
    would first raise and discard an AttributeError on every access, at several times the cost.
    """

    cdef readonly uint32_t tag
    cdef readonly object key
    cdef readonly str name

    def __init__(self, uint32_t tag, str name):
        self.tag = tag
        self.key = tag
        self.name = name

    def __get__(self, dataset, owner):
        if dataset is None:
            return self
        return (<DatasetBase>dataset).c_keyword_value(self.tag, self.key, self.name)

    def __set__(self, dataset, value):
        raise AttributeError(
            f"dicomfast datasets are read-only ({self.name}); to_pydicom() gives one you can edit")
