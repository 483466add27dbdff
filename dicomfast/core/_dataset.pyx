# The compiled half of the Dataset view: the lookups that run once per attribute access.
#
# `ds.PatientName` is the hottest path of a header read. Here it is one C call chain: a keyword
# descriptor on the class, the dataset's value cache, a walk of the element table, and the value
# decoder. Everything that is not on that path (sequences, ambiguous VRs, character sets,
# iteration, dumps) stays in Python, in dataset.py, which subclasses DatasetBase.

cimport cython
from libc.stdint cimport uint32_t, int32_t, int64_t
from libc.stdlib cimport malloc, free

from dicomfast.core._scan cimport (Tape, Elem, F_SEQUENCE, F_ENCAPSULATED, F_RAW_DELIMITED, F_BIG, F_UNDEFINED,
                              SCAN_STOPPED, UNDEFINED_LENGTH)
from dicomfast.core._cursor cimport df_u16, df_u32
from dicomfast.core._values cimport decode_value, VR_UN, VR_CS, VR_US, VR_OB, VR_OW, VR_OF, VR_OD, VR_OL, VR_OV, \
    VR_UT, VR_UC, VR_UR, VR_SQ

from dicomfast import datadict as _datadict
from dicomfast.core._scan import scan
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


# The value of an edit that deleted an element.
@cython.final
cdef class _Deleted:
    def __repr__(self):
        return "<deleted>"

    def __reduce__(self):
        return (_deleted, ())


DELETED = _Deleted()


def _deleted():
    return DELETED


cdef Tape _EMPTY_TAPE = scan(b"")


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
    """A range of records in a Tape, with the values decoded so far. (Its fields and C methods
    are declared in _dataset.pxd.)"""

    def __cinit__(self):
        self.kids = NULL
        self.nkids = 0
        self.ordered = False
        self.lookups = 0

    def __dealloc__(self):
        free(self.kids)

    def __init__(self, Tape tape=None, Py_ssize_t start=0, Py_ssize_t stop=0, parent=None):
        if tape is None:  # a dataset made from nothing: all of it is edits
            tape = _EMPTY_TAPE
            self.c_init(tape, 0, 0, parent)
            self._edits = {}
            return
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
        self._edits = None
        return 0

    cdef Py_ssize_t c_find(self, uint32_t tag) except -2:
        """The record of ``tag`` directly in this dataset, or -1 (also when an edit replaced or
        deleted it: the edits hold the element then)."""
        cdef Py_ssize_t i, lo, hi, mid
        cdef Elem* e = self._tape.elems
        if self._edits is not None and tag in <dict>self._edits:
            return -1
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
                if tag & 0xFF00:
                    return self._private_vr(tag, index)   # its creator's private dictionary
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

    def _private_vr(self, tag, index):
        raise NotImplementedError  # dataset.py

    cdef void c_find_sorted(self, const uint32_t* tags, int n, Py_ssize_t* found) noexcept:
        """found[k] = the first record of tags[k] directly in this dataset (-1 if none), as c_find
        gives it, for ``n`` ascending tags of which the last is 0xFFFFFFFF (a sentinel), in one
        pass: a cursor over the tags follows the records' ascending tags and restarts where they
        descend (a dataset out of order is still searched whole)."""
        cdef Elem* e = self._tape.elems
        cdef Py_ssize_t i = self._start, stop = self._stop
        cdef int k
        cdef uint32_t tag, prev = 0, wanted = tags[0]
        cdef bint root = self._start == 0 and self._stop == self._tape.n and self._parent is None
        for k in range(n):
            found[k] = -1
        k = 0
        while i < stop:
            if root and e[i].depth != 0:
                # The whole tape: its top-level records are those of depth 0, so the records are
                # read in order rather than by following `end` (a chain of dependent loads, twice
                # as slow).
                i += 1
                continue
            tag = e[i].tag
            if prev <= tag < wanted:
                # the common case, between two wanted tags: two predictable comparisons
                prev = tag
                i = i + 1 if root else e[i].end
                continue
            if tag < prev:
                k = 0
            prev = tag
            while tags[k] < tag:
                k += 1
            wanted = tags[k]
            if wanted == tag:
                if found[k] < 0:
                    found[k] = i
                wanted = tags[k + 1] if k < n - 1 else 0xFFFFFFFF
            i = i + 1 if root else e[i].end

    cdef object c_value_at(self, Py_ssize_t index, bint us):
        """The value of record ``index`` (directly in this dataset), as ``ds.Keyword`` gives it.
        ``us``: its tag is US in the dictionary and the character set is resolved, so that a
        2-byte value written as US or left to the dictionary (implicit VR, UN) is read straight
        from the bytes, as decode_value would give it, without the value cache."""
        cdef Elem* e = &self._tape.elems[index]
        cdef uint32_t tag
        if (us and e.length == 2 and (e.vr == VR_US or e.vr == 0 or e.vr == VR_UN)
                and not (e.flags & (F_SEQUENCE | F_ENCAPSULATED | F_RAW_DELIMITED))
                and e.offset + 2 <= self._tape.size):
            return df_u16(self._tape.data + e.offset, e.flags & F_BIG)
        tag = e.tag
        return self.c_value(tag, index, self.c_vr(tag, index))

    cdef str c_record(self, Py_ssize_t index, uint32_t* length, bint* encapsulated):
        """The VR written for record ``index`` ("" for implicit VR), its value length and whether
        it is encapsulated pixel data."""
        cdef Elem* e = &self._tape.elems[index]
        length[0] = e.length
        encapsulated[0] = (e.flags & F_ENCAPSULATED) != 0
        return self._tape.vr(index)

    cdef object c_raw(self, Py_ssize_t index):
        return self._tape.raw(index)

    def has_group_lengths(self):
        """Whether a record directly in this dataset is a Group Length (gggg,0000) of a group
        other than 0000 and 0002 (retired, but kept true by a writer where present)."""
        cdef Elem* e = self._tape.elems
        cdef Py_ssize_t i = self._start
        while i < self._stop:
            if e[i].tag & 0xFFFF == 0 and e[i].tag >> 16 != 0 and e[i].tag >> 16 != 2:
                return True
            i = e[i].end
        return False

    def write_runs(self, object skip, list breaks, bint each=False, object drop=None):
        """For a writer: the records directly in this dataset, in file order, as ``(tag, index,
        start, end)``: ``index`` -1 for a run of untouched records whose bytes ``[start, end)`` are
        copied as they are (``tag`` its first), else one record to write on its own (its tag is in
        ``skip``; ``start, end`` its bytes). A run ends where the bytes are not contiguous, where
        tags descend, and before each tag of ``breaks`` (ascending: where new elements go). With
        ``each``, every record is on its own. A record whose tag is in ``drop`` (deleted) is left
        out, and ends the run it would have been in."""
        cdef Elem* e = self._tape.elems
        cdef Py_ssize_t i = self._start, stop = self._stop
        cdef Py_ssize_t nbreaks = len(breaks), b = 0
        cdef int64_t run_start = -1, run_end = -1, end
        cdef uint32_t tag, prev = 0, run_tag = 0, next_break = 0xFFFFFFFF
        cdef list out = []
        cdef bint check_skip = len(skip) > 0
        cdef bint check_drop = drop is not None and len(drop) > 0
        if nbreaks:
            next_break = <uint32_t>breaks[0]
        while i < stop:
            tag = e[i].tag
            end = e[i].offset + <int64_t>e[i].length + (8 if e[i].flags & F_UNDEFINED else 0)
            while tag > next_break:
                if run_start >= 0:
                    out.append((run_tag, -1, run_start, run_end))
                    run_start = -1
                b += 1
                next_break = <uint32_t>breaks[b] if b < nbreaks else 0xFFFFFFFF
            if check_drop and tag in drop:
                if run_start >= 0:
                    out.append((run_tag, -1, run_start, run_end))
                    run_start = -1
            elif each or (check_skip and tag in skip):
                if run_start >= 0:
                    out.append((run_tag, -1, run_start, run_end))
                    run_start = -1
                out.append((tag, i, e[i].start, end))
            elif run_start >= 0 and e[i].start == run_end and tag >= prev:
                run_end = end
            else:
                if run_start >= 0:
                    out.append((run_tag, -1, run_start, run_end))
                run_start, run_end, run_tag = e[i].start, end, tag
            prev = tag
            i = e[i].end
        if run_start >= 0:
            out.append((run_tag, -1, run_start, run_end))
        return out

    cdef bint c_big_endian(self) noexcept:
        return self._tape.big_endian

    cdef bint c_explicit_vr(self) noexcept:
        return self._tape.explicit_vr

    cdef bint c_encodings_resolved(self) noexcept:
        return self._encodings is not UNSET

    cdef object c_encodings(self):
        """The Python codecs of this dataset's Specific Character Set, or its parent's."""
        if self._encodings is not UNSET:
            return self._encodings
        return self.c_resolve_encodings(self.c_find(0x00080005))

    cdef object c_resolve_encodings(self, Py_ssize_t index):
        """c_encodings, given the record of Specific Character Set in this dataset (or -1)."""
        cdef object encodings
        cdef Elem* e
        cdef bytes raw
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

    cdef object c_decode(self, Py_ssize_t index, str vr):
        """The value of record ``index`` decoded as ``vr`` (not SQ), not cached."""
        cdef Elem* e = &self._tape.elems[index]
        cdef unsigned int code
        if e.flags & (F_ENCAPSULATED | F_RAW_DELIMITED):
            return bytes(self._tape.raw(index))
        encodings = self.c_encodings()
        self._tape._check_bounds(e)
        code = <unsigned int>(<Py_UCS4>vr[0]) | (<unsigned int>(<Py_UCS4>vr[1]) << 8)
        return decode_value(self._tape.data + e.offset, e.length, code, e.flags & F_BIG, encodings)

    cdef object c_value(self, object key, Py_ssize_t index, str vr):
        """The decoded value of record ``index``, cached by its tag ``key`` (a Python int)."""
        cdef object value = self._cache.get(key, UNSET)
        cdef Elem* e
        cdef unsigned int code
        if value is not UNSET:
            return value
        if index < 0:  # an edited element's value lives in the cache
            raise KeyError(key)
        if vr == "SQ":
            value = self._sequence(index)
        else:
            value = self.c_decode(index, vr)
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
        cdef object edited
        if self._edits is not None:
            edited = (<dict>self._edits).get(tag)
            if edited is not None:
                if edited is DELETED:
                    raise KeyError(f"({ctag >> 16:04X},{ctag & 0xFFFF:04X})")
                return edited
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

    def _values(self, tuple tags):
        """The values of ``tags`` (ints, strictly ascending) directly in this dataset, in a list:
        each as ``_value(tag, _find(tag), _vr(...))`` gives it, None for a tag that is absent. One
        pass over the records finds them all (an indexer's row); the first value that does not
        decode raises its error. The values of a dataset that has cached none are not cached (an
        indexer reads each once)."""
        cdef Py_ssize_t n = len(tags), k, index
        cdef uint32_t* wanted = <uint32_t*>malloc((n + 1) * sizeof(uint32_t))
        cdef Py_ssize_t* found = <Py_ssize_t*>malloc((n + 1) * sizeof(Py_ssize_t))
        cdef list out = [None] * n
        cdef object tag
        cdef dict cache
        cdef str vr
        try:
            if wanted == NULL or found == NULL:
                raise MemoryError()
            for k in range(n):
                tag = tags[k]
                if not 0 <= tag < 0xFFFFFFFF or (k and tag <= wanted[k - 1]):
                    raise ValueError("_values takes strictly ascending tags below FFFFFFFF")
                wanted[k] = <uint32_t>tag
            wanted[n] = 0xFFFFFFFF        # c_find_sorted's sentinel
            if self._edits is not None:   # an edited element is not its record: look each up
                for k in range(n):
                    found[k] = self.c_find(wanted[k])
            else:
                self.c_find_sorted(wanted, <int>(n + 1), found)
            cache = self._cache
            for k in range(n):
                index = found[k]
                if index < 0:
                    continue
                vr = self.c_vr(wanted[k], index)
                if vr == "SQ" or cache:   # a sequence is one object per dataset: the cached one
                    out[k] = self.c_value(tags[k], index, vr)
                else:                     # a fresh dataset (an indexer's): decoded, not cached
                    out[k] = self.c_decode(index, vr)
            return out
        finally:
            free(wanted)
            free(found)



# What the layers above lend the compiled view, set once by dataset.py through configure(): core
# imports nothing above it (docs/design.md, "Layers").
cdef dict _keyword_tags = {}           # keyword -> tag
cdef object _to_tag = None             # tags.to_tag, for keys other than int and keyword
cdef object _tag_class = int           # tags.Tag, what DataElement.tag returns
cdef object _element_repr = None       # dump.element_line, DataElement's repr


cdef object _encode_value = None


def configure(*, dict keyword_tags, to_tag, tag_class, element_repr, encode_value=None):
    """Called once by dataset.py: the tables and functions the compiled lookups use.

    ``keyword_tags`` maps keywords to tags, ``to_tag`` turns any other key into a tag,
    ``tag_class`` is the ``int`` subclass ``DataElement.tag`` returns, and ``element_repr`` formats
    a :class:`DataElement` for its ``repr``, ``encode_value(value, vr, tag=)`` encodes the value
    of an element made by the caller.
    """
    global _keyword_tags, _to_tag, _tag_class, _element_repr, _encode_value
    _encode_value = encode_value
    _keyword_tags = keyword_tags
    _to_tag = to_tag
    _tag_class = tag_class
    _element_repr = element_repr


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

    cdef DatasetBase _dataset      # None for an element made by the caller (or an edit)
    cdef Py_ssize_t _index
    cdef uint32_t _tag
    cdef readonly str VR
    cdef object _value             # the value of an element without a record

    def __init__(self, tag, str VR, value):
        """``DataElement(tag, VR, value)``: an element to add to a dataset (``ds.add(elem)``,
        ``ds[tag] = elem``), as in pydicom; its value is checked against the VR when it is added."""
        if len(VR) != 2 or not VR.isupper() or not VR.isalpha():
            raise ValueError(f"{VR!r} is not a VR")
        self._dataset = None
        self._index = -1
        self._tag = _to_tag(tag)
        self.VR = VR
        self._value = value

    @property
    def tag(self):
        return _tag_class(self._tag)

    @property
    def value(self):
        if self._dataset is None:
            return self._value
        return self._dataset.c_value(self._tag, self._index, self.VR)

    @value.setter
    def value(self, value):
        """Set the value: in the dataset the element belongs to (an edit of it), or of this
        element itself before it is added to one."""
        if self._dataset is None:
            self._value = value
        else:
            self._dataset._set_value(self._tag, self.VR, value)

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
        if self._index < 0:
            return False
        return bool(self._dataset._tape.elems[self._index].flags & F_UNDEFINED)

    @property
    def file_offset(self):
        """Where the element's tag starts in the (possibly inflated) dataset bytes; None for an
        element that was not read from bytes (made by the caller, or an edit)."""
        if self._index < 0:
            return None
        return self._dataset._tape.elems[self._index].start

    @property
    def length(self):
        """The value's length in bytes (the content's length for an undefined length)."""
        if self._index < 0:
            return len(self.raw_value()) if self.VR != "SQ" else 0
        return self._dataset._tape.elems[self._index].length

    def raw_value(self):
        """The value's bytes as they are in the file, zero-copy and read-only; for an element not
        read from bytes (made by the caller, or an edit), its value encoded as the dataset it is
        in would write it (little endian and the default character set outside a dataset)."""
        cdef bint big = False
        cdef object encodings = None
        if self._index < 0:
            if _encode_value is None:
                raise TypeError("no value encoder is configured")
            if self._dataset is not None:
                big = self._dataset._tape.big_endian
                encodings = self._dataset.c_encodings()
            return memoryview(_encode_value(self.value, self.VR, big_endian=big, encodings=encodings,
                                            tag=self._tag)).toreadonly()
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
        if _element_repr is None:
            return f"<DataElement ({self._tag >> 16:04X},{self._tag & 0xFFFF:04X}) {self.VR}>"
        return _element_repr(self)


def bound_element(DatasetBase dataset, uint32_t tag, str vr):
    """The DataElement of an edit of ``dataset``: no record, its value in the dataset's cache."""
    return _make_element(dataset, -1, tag, vr)


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
        dataset._set_keyword(self.tag, self.name, value)

    def __delete__(self, dataset):
        dataset._delete_keyword(self.tag, self.name)


@cython.final
cdef class ElementHeader:
    """Where one element's value is: its ``tag``, ``value_offset`` (in the bytes it was read
    from), value ``length`` and ``vr`` ("" for implicit VR)."""

    cdef readonly uint32_t tag
    cdef readonly Py_ssize_t value_offset
    cdef readonly uint32_t length
    cdef readonly str vr

    def __repr__(self):
        return (f"ElementHeader(tag=0x{self.tag:08X}, value_offset={self.value_offset}, "
                f"length={self.length}, vr={self.vr!r})")


cdef object _element_header(const unsigned char* h, Py_ssize_t pos, bint big, bint explicit_vr,
                            bint undefined=False):
    """The ElementHeader of the element whose header (at least 12 readable bytes) starts at
    ``h``, which is offset ``pos`` of its buffer; None for an undefined length (encapsulated)
    unless ``undefined``, which gives its header with length 0xFFFFFFFF."""
    cdef unsigned int code
    cdef uint32_t length
    cdef Py_ssize_t value
    cdef str vr = ""
    cdef ElementHeader found
    if explicit_vr:
        code = h[4] | (<unsigned int>h[5] << 8)
        if (code == VR_OB or code == VR_OW or code == VR_OF or code == VR_OD or code == VR_OL
                or code == VR_OV or code == VR_UN or code == VR_UT or code == VR_UC or code == VR_UR
                or code == VR_SQ):
            length, value = df_u32(h + 8, big), pos + 12
        else:
            length, value = df_u16(h + 6, big), pos + 8
        vr = chr(h[4]) + chr(h[5])
    else:
        length, value = df_u32(h + 4, big), pos + 8
    if length == UNDEFINED_LENGTH and not undefined:
        return None
    found = ElementHeader.__new__(ElementHeader)
    found.tag = (<uint32_t>df_u16(h, big) << 16) | df_u16(h + 2, big)
    found.value_offset = value
    found.length = length
    found.vr = vr
    return found


def element_at_stop(Tape tape, read_at=None, bint undefined=False):
    """The :class:`ElementHeader` of the top-level element where a header scan stopped
    (``stop_before_pixels``: the pixel data), read from the bytes the scan had, or when they end
    before the element's header and ``read_at`` is given, from ``read_at(offset, 12)`` (the source's
    bytes from ``offset`` on). None when the scan did not stop on purpose, the header cannot be
    read, or its length is undefined (encapsulated) and ``undefined`` is false; with ``undefined``
    such an element's header has length 0xFFFFFFFF."""
    cdef Py_ssize_t pos = tape.stop
    cdef const unsigned char[::1] head
    if tape.status != SCAN_STOPPED or pos < 0:
        return None
    if pos + 12 <= tape.size:
        return _element_header(tape.data + pos, pos, tape.big_endian, tape.explicit_vr, undefined)
    if read_at is None:
        return None
    head = read_at(pos, 12)
    if head.shape[0] < 12:
        return None
    return _element_header(&head[0], pos, tape.big_endian, tape.explicit_vr, undefined)
