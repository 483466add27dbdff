# The compiled half of the Dataset view: the lookups that run once per attribute access.
#
# `ds.PatientName` is the hottest path of a header read. Here it is one C call chain: a keyword
# descriptor on the class, the dataset's value cache, a walk of the element table, and the value
# decoder. Everything that is not on that path (sequences, ambiguous VRs, character sets,
# iteration, dumps) stays in Python, in dataset.py, which subclasses DatasetBase.

cimport cython
from libc.stdint cimport uint32_t, int32_t
from libc.stdlib cimport malloc, free

from dicomfast.core._scan cimport (Tape, Elem, F_SEQUENCE, F_ENCAPSULATED, F_RAW_DELIMITED, F_BIG, F_UNDEFINED,
                              SCAN_STOPPED, UNDEFINED_LENGTH)
from dicomfast.core._cursor cimport df_u16, df_u32
from dicomfast.core._values cimport decode_value, VR_UN, VR_CS, VR_US, VR_OB, VR_OW, VR_OF, VR_OD, VR_OL, VR_OV, \
    VR_UT, VR_UC, VR_UR, VR_SQ

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



# What the layers above lend the compiled view, set once by dataset.py through configure(): core
# imports nothing above it (docs/design.md, "Layers").
cdef dict _keyword_tags = {}           # keyword -> tag
cdef object _to_tag = None             # tags.to_tag, for keys other than int and keyword
cdef object _tag_class = int           # tags.Tag, what DataElement.tag returns
cdef object _element_repr = None       # dump.element_line, DataElement's repr


def configure(*, dict keyword_tags, to_tag, tag_class, element_repr):
    """Called once by dataset.py: the tables and functions the compiled lookups use.

    ``keyword_tags`` maps keywords to tags, ``to_tag`` turns any other key into a tag,
    ``tag_class`` is the ``int`` subclass ``DataElement.tag`` returns, and ``element_repr`` formats
    a :class:`DataElement` for its ``repr``.
    """
    global _keyword_tags, _to_tag, _tag_class, _element_repr
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
        if _element_repr is None:
            return f"<DataElement ({self._tag >> 16:04X},{self._tag & 0xFFFF:04X}) {self.VR}>"
        return _element_repr(self)


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
        raise _read_only(self.name)

    def __delete__(self, dataset):
        raise _read_only(self.name)


cdef object _read_only(str name):
    return AttributeError(
        f"dicomfast datasets are read-only ({name}); to_pydicom() gives one you can edit")


# -- the Image Pixel module in one call ---------------------------------------------------------
#
# pixel_info (pixels.py) checks a dozen attributes and read_pixels reads a few more: as Python
# attribute reads of a fresh dataset they cost ~1 us each (each lookup walks the records, the first
# value resolves the character set, the second lookup builds the dataset's index), more than the
# rest of a header read. Here one walk of the dataset's records finds them all, and the values are
# decoded in the same call. Values are exactly what `ds.Keyword` gives (the same decoder, cached the
# same way); the checks stay in Python.

cdef enum:
    N_MODULE = 26
    # positions in _MODULE_TAGS (ascending, for the walk's merge)
    M_CHARSET = 0
    M_SAMPLES = 1
    M_PHOTOMETRIC = 2
    M_PLANAR = 3
    M_FRAMES = 4
    M_ROWS = 5
    M_COLUMNS = 6
    M_BITS_ALLOCATED = 7
    M_BITS_STORED = 8
    M_HIGH_BIT = 9
    M_PIXEL_REPRESENTATION = 10
    M_WINDOW_CENTER = 11
    M_WINDOW_WIDTH = 12
    M_RESCALE_INTERCEPT = 13
    M_RESCALE_SLOPE = 14
    M_RESCALE_TYPE = 15
    M_VOI_FUNCTION = 16
    M_PALETTE = 17
    M_MODALITY_LUT = 18
    M_VOI_LUT = 19
    M_SHARED_GROUPS = 20
    M_PER_FRAME_GROUPS = 21
    M_FLOAT_PIXELS = 22
    M_DOUBLE_PIXELS = 23
    M_PIXELS = 24
    M_END = 25           # a sentinel above every tag

cdef uint32_t _MODULE_TAGS[N_MODULE]
_MODULE_TAGS[:] = [
    0x00080005,                                      # Specific Character Set
    0x00280002, 0x00280004, 0x00280006, 0x00280008,  # Samples per Pixel, Photometric, Planar, Frames
    0x00280010, 0x00280011,                          # Rows, Columns
    0x00280100, 0x00280101, 0x00280102, 0x00280103,  # Bits Allocated, Stored, High Bit, Pixel Representation
    0x00281050, 0x00281051,                          # Window Center, Window Width
    0x00281052, 0x00281053, 0x00281054,              # Rescale Intercept, Slope, Type
    0x00281056,                                      # VOI LUT Function
    0x00281101,                                      # Red Palette Color Lookup Table Descriptor
    0x00283000, 0x00283010,                          # Modality LUT Sequence, VOI LUT Sequence
    0x52009229, 0x52009230,                          # Shared, Per-Frame Functional Groups Sequence
    0x7FE00008, 0x7FE00009, 0x7FE00010,              # Float, Double Float Pixel Data, Pixel Data
    0xFFFFFFFF,
]


cdef void _walk_module(DatasetBase ds, Py_ssize_t* found) noexcept:
    """found[k] = the first record of _MODULE_TAGS[k] directly in ``ds`` (-1 if none), as c_find
    gives it, in one pass: a cursor over the sorted tags follows the records' ascending tags and
    restarts where they descend (a dataset out of order is still searched whole)."""
    cdef Elem* e = ds._tape.elems
    cdef Py_ssize_t i = ds._start, stop = ds._stop
    cdef int k
    cdef uint32_t tag, prev = 0, wanted = _MODULE_TAGS[0]
    cdef bint root = ds._start == 0 and ds._stop == ds._tape.n and ds._parent is None
    for k in range(N_MODULE):
        found[k] = -1
    k = 0
    while i < stop:
        if root and e[i].depth != 0:
            # The whole tape: its top-level records are those of depth 0, so the records are read
            # in order rather than by following `end` (a chain of dependent loads, twice as slow).
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
        while _MODULE_TAGS[k] < tag:
            k += 1
        wanted = _MODULE_TAGS[k]
        if wanted == tag:
            if found[k] < 0:
                found[k] = i
            wanted = _MODULE_TAGS[k + 1] if k < M_END else 0xFFFFFFFF
        i = i + 1 if root else e[i].end


cdef object _module_value(DatasetBase ds, Py_ssize_t index, bint us, bint fast):
    """``getattr(ds, keyword, None)`` of the element at record ``index`` (-1: absent), except that
    a value that fails to decode is returned as its exception, which the caller raises only if it
    uses the value: errors then come in the order of the Python checks."""
    cdef Elem* e
    cdef uint32_t tag
    if index < 0:
        return None
    e = &ds._tape.elems[index]
    # The common case without the value cache: a 2-byte value of a tag that is US in the dictionary
    # (``us``), written as US or left to the dictionary (implicit VR, UN), as decode_value gives
    # it. ``fast``: the character set is resolved (decoding would resolve it first, and raise if
    # it is damaged).
    if (us and fast and e.length == 2 and (e.vr == VR_US or e.vr == 0 or e.vr == VR_UN)
            and not (e.flags & (F_SEQUENCE | F_ENCAPSULATED | F_RAW_DELIMITED))
            and e.offset + 2 <= ds._tape.size):
        return df_u16(ds._tape.data + e.offset, e.flags & F_BIG)
    tag = e.tag
    try:
        return ds.c_value(tag, index, ds.c_vr(tag, index))
    except Exception as exc:  # handed to the caller, who raises it where the Python path would
        return exc


def pixel_module(DatasetBase ds, bint transform_values=True):
    """The Image Pixel module of ``ds`` and what the pixel paths need besides, in one call.

    Returns ``(syntax, big_endian, explicit_vr, npixel, pixel_tag, pixel_index, encapsulated,
    pixel_length, pixel_vr, presence, v0, ..., v15, key)``:

    * ``syntax``: the root's file meta Transfer Syntax UID (None without one);
    * ``big_endian``, ``explicit_vr``: how the dataset's tape was scanned;
    * ``npixel``: how many of Pixel Data, Float Pixel Data and Double Float Pixel Data are present;
      ``pixel_tag`` ... ``pixel_vr``: the first of them in that order (its tag, record, whether it
      is encapsulated, its length and ``Tape.vr``), or 0, -1, False, 0, "" when there is none;
    * ``presence``: bits for Modality LUT Sequence (1), VOI LUT Sequence (2), Shared (4) and
      Per-Frame (8) Functional Groups Sequences, Red Palette Color LUT Descriptor (16); and 32
      when the values pixel_info checks have exact types (``syntax``, Planar Configuration and
      Number of Frames a str / an int or None; Bits Allocated, Bits Stored, Pixel Representation,
      Rows, Columns and Samples per Pixel an int; Photometric Interpretation a str), so that equal
      values give equal checks (pixels.py caches them);
    * ``v0 ... v15``: Bits Allocated, Bits Stored, High Bit, Pixel Representation, Rows, Columns,
      Samples per Pixel, Planar Configuration, Photometric Interpretation, Number of Frames,
      Rescale Slope, Rescale Intercept, Rescale Type, Window Center, Window Width, VOI LUT
      Function, each as ``getattr(ds, keyword, None)`` gives it. Without ``transform_values``
      the last six (Rescale and Window) are not read: None whatever the dataset holds;
    * ``key``: with the exact types above, a tuple of every value pixel_info checks (the syntax,
      the byte order and VR encoding, and the module's values but High Bit), else None.

    A value that fails to decode (``syntax`` too) is returned as the exception it raised.
    """
    cdef DatasetBase root = ds
    cdef object meta, syntax = None
    cdef Py_ssize_t found[N_MODULE]
    cdef Py_ssize_t index, pixel_index = -1
    cdef int k, npixel = 0, presence = 0
    cdef uint32_t pixel_tag = 0
    cdef Elem* e
    cdef Tape tape = ds._tape
    cdef bint encapsulated = False, fast = True
    cdef uint32_t length = 0
    cdef str vr = ""
    while root._parent is not None:
        root = <DatasetBase>root._parent
    meta = root.file_meta
    if meta is not None:
        if isinstance(meta, DatasetBase):
            index = (<DatasetBase>meta).c_find(0x00020010)
            syntax = _module_value(<DatasetBase>meta, index, False, False)
        else:
            syntax = meta.get("TransferSyntaxUID")
    _walk_module(ds, found)
    if ds._encodings is UNSET:
        try:
            ds.c_resolve_encodings(found[M_CHARSET])
        except Exception:
            fast = False  # left unresolved: each value's decode raises it, as ds.Keyword would
    for k in (M_PIXELS, M_FLOAT_PIXELS, M_DOUBLE_PIXELS):
        if found[k] >= 0:
            npixel += 1
            if pixel_index < 0:
                pixel_index = found[k]
                pixel_tag = _MODULE_TAGS[k]
    if pixel_index >= 0:
        e = &tape.elems[pixel_index]
        encapsulated = (e.flags & F_ENCAPSULATED) != 0
        length = e.length
        vr = tape.vr(pixel_index)
    for k, index in enumerate((found[M_MODALITY_LUT], found[M_VOI_LUT], found[M_SHARED_GROUPS],
                               found[M_PER_FRAME_GROUPS], found[M_PALETTE])):
        if index >= 0:
            presence |= 1 << k
    values = (_module_value(ds, found[M_BITS_ALLOCATED], True, fast),
              _module_value(ds, found[M_BITS_STORED], True, fast),
              _module_value(ds, found[M_HIGH_BIT], True, fast),
              _module_value(ds, found[M_PIXEL_REPRESENTATION], True, fast),
              _module_value(ds, found[M_ROWS], True, fast),
              _module_value(ds, found[M_COLUMNS], True, fast),
              _module_value(ds, found[M_SAMPLES], True, fast),
              _module_value(ds, found[M_PLANAR], True, fast),
              _module_value(ds, found[M_PHOTOMETRIC], False, fast),
              _module_value(ds, found[M_FRAMES], False, fast))
    if transform_values:
        values += (_module_value(ds, found[M_RESCALE_SLOPE], False, fast),
                   _module_value(ds, found[M_RESCALE_INTERCEPT], False, fast),
                   _module_value(ds, found[M_RESCALE_TYPE], False, fast),
                   _module_value(ds, found[M_WINDOW_CENTER], False, fast),
                   _module_value(ds, found[M_WINDOW_WIDTH], False, fast),
                   _module_value(ds, found[M_VOI_FUNCTION], False, fast))
    else:
        values += (None, None, None, None, None, None)
    key = None
    if (_exact_or_none(syntax, str) and type(values[0]) is int and type(values[1]) is int
            and type(values[3]) is int and type(values[4]) is int and type(values[5]) is int
            and type(values[6]) is int and _exact_or_none(values[7], int) and type(values[8]) is str
            and _exact_or_none(values[9], int)):
        presence |= 32
        key = (syntax, tape.big_endian, tape.explicit_vr, values[0], values[1], values[3], values[4],
               values[5], values[6], values[7], values[8], values[9])
    return (syntax, tape.big_endian, tape.explicit_vr, npixel, pixel_tag, pixel_index, encapsulated,
            length, vr, presence) + values + (key,)


cdef inline bint _exact_or_none(object value, type kind):
    return value is None or type(value) is kind


def element_at_stop(Tape tape):
    """``(tag, value offset, value length, VR)`` of the top-level element where a header scan
    stopped (``stop_before_pixels``: the pixel data), read from the bytes the scan had; None when
    the scan did not stop on purpose, those bytes end before the element's header, or its length
    is undefined (encapsulated). The VR is "" for implicit VR."""
    cdef Py_ssize_t pos = tape.stop
    cdef const unsigned char* h
    cdef bint big = tape.big_endian
    cdef unsigned int code
    cdef uint32_t tag, length
    cdef Py_ssize_t value
    cdef str vr = ""
    if tape.status != SCAN_STOPPED or pos < 0 or pos + 12 > tape.size:
        return None
    h = tape.data + pos
    tag = (<uint32_t>df_u16(h, big) << 16) | df_u16(h + 2, big)
    if tape.explicit_vr:
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
    if length == UNDEFINED_LENGTH:
        return None
    return tag, value, length, vr
