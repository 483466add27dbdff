# The element scanner: one pass over a dataset's bytes into the element table ("tape").
#
# The scan runs without the GIL and creates no Python object per element. Each element, item and
# fragment becomes one fixed-size record (see Elem in _scan.pxd); a record's `end` is the index of
# its next sibling, so a whole sequence is skipped in O(1). Every read is checked once against the
# bytes that exist, and no allocation depends on a length read from the file: the table grows by
# doubling, and each record consumes at least 8 bytes of input, so it never outgrows the data.
#
# Tolerated defects follow pydicom: explicit-to-implicit switches (per element, and per sequence
# item), undefined-length UN parsed as an implicit sequence, fewer than 8 trailing bytes ignored.

cimport cython
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcmp, memcpy

from dicomfast.core._cursor cimport df_u16, df_u32, DF_ASSERT
from dicomfast.core._values cimport VR_SQ, VR_UN

from dicomfast.errors import (
    DicomError, InvalidLengthError, TruncatedError,
)

cdef extern from "<fcntl.h>" nogil:
    int open(const char* path, int flags)
    int O_RDONLY
    int O_CLOEXEC
cdef extern from "<unistd.h>" nogil:
    ssize_t read(int fd, void* buf, size_t n)
    ssize_t pread(int fd, void* buf, size_t n, long offset)
    int close(int fd)
cdef extern from "<sys/stat.h>" nogil:
    cdef struct stat:
        long st_size
        unsigned int st_mode
    int fstat(int fd, stat* st)
    bint S_ISREG(unsigned int mode)
cdef extern from "<errno.h>" nogil:
    int errno


# ---------------------------------------------------------------------------------------------
# VR helpers

cdef inline uint16_t vr_code(char a, char b) noexcept nogil:
    return <uint16_t>(<uint8_t>a) | (<uint16_t>(<uint8_t>b) << 8)


# Every VR of the current standard, as a 26x26 bit table indexed by its two letters.
cdef uint32_t _KNOWN_VR[26]
cdef uint32_t _LONG_VR[26]


cdef void _fill_vr_table(uint32_t* table, const char* names) noexcept:
    cdef Py_ssize_t i
    for i in range(26):
        table[i] = 0
    i = 0
    while names[i] != 0:
        table[names[i] - 65] |= (1u << (names[i + 1] - 65))
        i += 2


_fill_vr_table(_KNOWN_VR, b"AEASATCSDADSDTFLFDISLOLTOBODOFOLOVOWPNSHSLSQSSSTSVTMUCUIULUNURUSUTUV")
_fill_vr_table(_LONG_VR, b"OBODOFOLOVOWSQSVUCUNURUTUV")


# Interned VR strings by packed code, so that the Dataset view compares and hashes them cheaply.
cdef dict _VR_STRINGS = {}


cdef inline str _vr_str(uint16_t code):
    cdef object s = _VR_STRINGS.get(code)
    if s is None:
        s = chr(code & 0xFF) + chr(code >> 8)
        if len(_VR_STRINGS) < 4096:
            _VR_STRINGS[code] = s
    return <str>s


cdef inline bint is_long_vr(uint16_t vr) noexcept nogil:
    """VRs whose explicit encoding has 2 reserved bytes and a 4-byte length."""
    cdef uint8_t a = vr & 0xFF, b = vr >> 8
    if a < 65 or a > 90 or b < 65 or b > 90:
        return False
    return (_LONG_VR[a - 65] >> (b - 65)) & 1


cdef inline bint is_known_vr(uint8_t a, uint8_t b) noexcept nogil:
    if a < 65 or a > 90 or b < 65 or b > 90:
        return False
    return (_KNOWN_VR[a - 65] >> (b - 65)) & 1


cdef inline bint is_vr_shaped(uint8_t a, uint8_t b) noexcept nogil:
    """Two capital letters: pydicom's test for 'this is a VR, even one it does not know'."""
    return 65 <= a <= 90 and 65 <= b <= 90


cdef inline bint is_pixel_tag(uint32_t tag) noexcept nogil:
    return tag == TAG_PIXEL_DATA or tag == TAG_FLOAT_PIXEL_DATA or tag == TAG_DOUBLE_PIXEL_DATA


# ---------------------------------------------------------------------------------------------
# The scanner

ctypedef struct Scanner:
    const uint8_t* data
    Py_ssize_t size
    Elem* elems
    Py_ssize_t n
    Py_ssize_t cap
    bint stop_before_pixels
    uint32_t stop_after          # top level: stop at the first tag greater than this
    uint32_t stop_below          # top level: stop at the first tag less than this
    const uint32_t* wanted       # top level: keep only these tags (sorted), NULL for all
    Py_ssize_t nwanted
    Py_ssize_t next_wanted       # cursor into wanted: elements usually ascend
    uint32_t last_tag
    int status
    Py_ssize_t error_offset
    Py_ssize_t stop              # first byte not consumed at the top level
    bint needs_more
    DefectRec defects[MAX_DEFECTS]
    Py_ssize_t ndefects


cdef inline bint sorted_contains(const uint32_t* arr, Py_ssize_t n, uint32_t key) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if arr[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo < n and arr[lo] == key


cdef inline bint wanted_contains(Scanner* s, uint32_t tag) noexcept nogil:
    """Whether a top-level tag was asked for. Tags ascend in a valid dataset, so a cursor that
    only moves forward answers in O(1); a tag out of order falls back to bisection."""
    cdef Py_ssize_t lo = 0, hi = s.nwanted, mid
    if tag < s.last_tag:
        # Out of order: move the cursor back to where this tag would be.
        while lo < hi:
            mid = (lo + hi) >> 1
            if s.wanted[mid] < tag:
                lo = mid + 1
            else:
                hi = mid
        s.next_wanted = lo
    s.last_tag = tag
    while s.next_wanted < s.nwanted and s.wanted[s.next_wanted] < tag:
        s.next_wanted += 1
    return s.next_wanted < s.nwanted and s.wanted[s.next_wanted] == tag


cdef void note(Scanner* s, int kind, uint32_t tag, Py_ssize_t offset) noexcept nogil:
    """Record a tolerated defect (called only on the branches that meet one)."""
    if s.ndefects < MAX_DEFECTS:
        s.defects[s.ndefects].kind = <uint8_t>kind
        s.defects[s.ndefects].tag = tag
        s.defects[s.ndefects].offset = offset
    s.ndefects += 1


cdef inline int fail(Scanner* s, int status, Py_ssize_t offset) noexcept nogil:
    if s.status == SCAN_OK:
        s.status = status
        s.error_offset = offset
    return -1


cdef inline Py_ssize_t push(Scanner* s, uint32_t tag, uint16_t vr, uint8_t flags, int depth,
                            Py_ssize_t start, Py_ssize_t offset, uint32_t length) noexcept nogil:
    """Append a record; return its index, or -1 when memory runs out."""
    cdef Elem* grown
    cdef Py_ssize_t newcap
    if s.n == s.cap:
        newcap = s.cap * 2 if s.cap else 64
        grown = <Elem*>realloc(s.elems, newcap * sizeof(Elem))
        if grown == NULL:
            fail(s, SCAN_NO_MEMORY, start)
            return -1
        s.elems = grown
        s.cap = newcap
    DF_ASSERT(s.n < s.cap and start <= offset and offset <= s.size)
    cdef Elem* e = &s.elems[s.n]
    e.tag = tag
    e.vr = vr
    e.flags = flags
    e.depth = <uint8_t>depth
    e.length = length
    e.end = <int32_t>(s.n + 1)
    e.offset = offset
    e.start = start
    s.n += 1
    return s.n - 1


cdef bint item_is_implicit(Scanner* s, Py_ssize_t pos, Py_ssize_t limit, bint implicit) noexcept nogil:
    """An item of an explicit-VR sequence may be encoded implicitly (PS3.5 6.2.2): peek at it."""
    if implicit or limit - pos < 6:
        return implicit
    return not is_vr_shaped(s.data[pos + 4], s.data[pos + 5])


cdef Py_ssize_t find_delimiter(Scanner* s, Py_ssize_t pos, bint big) noexcept nogil:
    """Position of the next Sequence Delimitation Item tag at or after pos, or -1."""
    cdef const uint8_t* d = s.data
    cdef Py_ssize_t last = s.size - 8
    while pos <= last:
        if df_u16(d + pos, big) == 0xFFFE and df_u16(d + pos + 2, big) == 0xE0DD:
            return pos
        pos += 1
    return -1


cdef int scan_fragments(Scanner* s, Py_ssize_t pos, int depth, bint big,
                        Py_ssize_t* content_end, Py_ssize_t* after) noexcept nogil:
    """Items of encapsulated pixel data up to the Sequence Delimitation Item."""
    cdef uint32_t tag, length
    cdef Py_ssize_t idx
    if depth > MAX_DEPTH:
        return fail(s, SCAN_TOO_DEEP, pos)
    while True:
        if s.size - pos < 8:
            s.needs_more = True
            return fail(s, SCAN_TRUNCATED, pos)
        tag = (<uint32_t>df_u16(s.data + pos, big) << 16) | df_u16(s.data + pos + 2, big)
        length = df_u32(s.data + pos + 4, big)
        if tag == TAG_SEQ_DELIM:
            content_end[0] = pos
            after[0] = pos + 8
            return 0
        if tag != TAG_ITEM or length == UNDEFINED_LENGTH:
            return fail(s, SCAN_BAD_LENGTH, pos)
        if length > <uint64_t>(s.size - pos - 8):
            s.needs_more = True
            return fail(s, SCAN_TRUNCATED, pos)
        idx = push(s, TAG_ITEM, 0, F_ITEM | (F_BIG if big else 0), depth, pos, pos + 8, length)
        if idx < 0:
            return -1
        pos += 8 + length


cdef int scan_items(Scanner* s, Py_ssize_t pos, Py_ssize_t limit, bint undefined, int depth,
                    bint implicit, bint big, Py_ssize_t* content_end, Py_ssize_t* after) noexcept nogil:
    """The items of a sequence. A defined-length sequence ends at limit; an undefined one at its
    delimiter (limit is then the end of the enclosing container)."""
    cdef uint32_t tag, length
    cdef Py_ssize_t idx, item_end, item_after, body
    cdef bint item_implicit
    if depth > MAX_DEPTH:
        return fail(s, SCAN_TOO_DEEP, pos)
    while True:
        if not undefined and pos >= limit:
            content_end[0] = limit
            after[0] = limit
            return 0
        if limit - pos < 8:
            if limit == s.size:
                s.needs_more = True
                return fail(s, SCAN_TRUNCATED, pos)
            return fail(s, SCAN_BAD_LENGTH, pos)
        tag = (<uint32_t>df_u16(s.data + pos, big) << 16) | df_u16(s.data + pos + 2, big)
        length = df_u32(s.data + pos + 4, big)
        if tag == TAG_SEQ_DELIM:
            content_end[0] = pos
            after[0] = pos + 8
            if not undefined:
                # A delimiter inside a defined-length sequence: the sequence ends here.
                after[0] = limit
            return 0
        body = pos + 8
        # pydicom reads any other tag here as an item; so do we.
        idx = push(s, TAG_ITEM, 0, F_ITEM | (F_BIG if big else 0), depth, pos, body, 0)
        if idx < 0:
            return -1
        item_implicit = item_is_implicit(s, body, limit, implicit)
        if item_implicit:
            s.elems[idx].flags |= F_IMPLICIT
            if not implicit:
                note(s, D_VR_SWITCH, TAG_ITEM, pos)
        if length == UNDEFINED_LENGTH:
            s.elems[idx].flags |= F_UNDEFINED
            if scan_elements(s, body, limit, True, depth + 1, item_implicit, big,
                             &item_end, &item_after) < 0:
                s.elems[idx].end = <int32_t>s.n
                return -1
            s.elems[idx].length = <uint32_t>(item_end - body)
            pos = item_after
        else:
            if length > <uint64_t>(limit - body):
                if limit == s.size:
                    # Cut short by the end of the data: keep the elements that are there (as
                    # pydicom reads them), then fail as truncated.
                    s.elems[idx].length = length
                    s.needs_more = True
                    scan_elements(s, body, limit, False, depth + 1, item_implicit, big,
                                  &item_end, &item_after)
                    s.elems[idx].end = <int32_t>s.n
                    return fail(s, SCAN_TRUNCATED, pos)
                s.elems[idx].end = <int32_t>s.n
                return fail(s, SCAN_BAD_LENGTH, pos)
            s.elems[idx].length = length
            if scan_elements(s, body, body + length, False, depth + 1, item_implicit, big,
                             &item_end, &item_after) < 0:
                s.elems[idx].end = <int32_t>s.n
                return -1
            pos = body + length
        s.elems[idx].end = <int32_t>s.n


cdef int scan_elements(Scanner* s, Py_ssize_t pos, Py_ssize_t limit, bint in_undefined_item,
                       int depth, bint implicit, bint big,
                       Py_ssize_t* content_end, Py_ssize_t* after) noexcept nogil:
    """The elements of one dataset: the top level (depth 0) or an item's."""
    cdef const uint8_t* d = s.data
    cdef uint32_t tag, length
    cdef uint16_t vr
    cdef uint8_t flags
    cdef Py_ssize_t idx, value, header, sub_end, sub_after, found
    cdef bint elem_implicit, as_sequence, keep, top = depth == 0
    if depth > MAX_DEPTH:
        return fail(s, SCAN_TOO_DEEP, pos)
    while True:
        DF_ASSERT(pos <= limit and limit <= s.size)
        if limit - pos < 8:
            if pos == limit and not in_undefined_item:
                break
            if top:
                # Fewer than 8 bytes cannot hold an element: trailing padding, as pydicom reads it.
                if limit == s.size:
                    s.needs_more = pos < limit
                if pos < limit:
                    note(s, D_TRAILING, 0, pos)
                break
            if limit == s.size:
                s.needs_more = True
                return fail(s, SCAN_TRUNCATED, pos)
            return fail(s, SCAN_BAD_LENGTH, pos)
        tag = (<uint32_t>df_u16(d + pos, big) << 16) | df_u16(d + pos + 2, big)
        if tag == TAG_ITEM_DELIM:
            if in_undefined_item:
                content_end[0] = pos
                after[0] = pos + 8
                return 0
            note(s, D_STRAY_DELIMITER, tag, pos)
            pos += 8   # stray delimiter: nothing to keep
            continue
        if tag == TAG_SEQ_DELIM and in_undefined_item:
            # An item that lacks its delimiter ends with its sequence; leave the delimiter for it.
            note(s, D_NO_DELIMITER, TAG_ITEM, pos)
            content_end[0] = pos
            after[0] = pos
            return 0
        if top:
            if (tag > s.stop_after or tag < s.stop_below or
                    (s.stop_before_pixels and is_pixel_tag(tag))):
                s.stop = pos
                s.status = SCAN_STOPPED
                content_end[0] = pos
                after[0] = pos
                return 0
        flags = F_BIG if big else 0
        elem_implicit = implicit
        vr = 0
        if not implicit:
            # Any two capitals are a VR, as pydicom reads them (an unknown one has a 2-byte length).
            if is_vr_shaped(d[pos + 4], d[pos + 5]):
                vr = vr_code(d[pos + 4], d[pos + 5])
                if not is_known_vr(d[pos + 4], d[pos + 5]):
                    note(s, D_UNKNOWN_VR, tag, pos)
            else:
                elem_implicit = True    # an explicit-to-implicit switch, as pydicom tolerates
                if (tag >> 16) != 0xFFFE:
                    note(s, D_BLANK_VR if d[pos + 4] == d[pos + 5] and (d[pos + 4] == 32 or d[pos + 4] == 0)
                         else D_VR_SWITCH, tag, pos)
        if (tag >> 16) == 0xFFFE:
            elem_implicit = True        # items and delimiters never carry a VR
            vr = 0
        if elem_implicit:
            flags |= F_IMPLICIT
            length = df_u32(d + pos + 4, big)
            header = 8
        elif is_long_vr(vr):
            if limit - pos < 12:
                if limit == s.size:
                    s.needs_more = True
                    return fail(s, SCAN_TRUNCATED, pos)
                return fail(s, SCAN_BAD_LENGTH, pos)
            length = df_u32(d + pos + 8, big)
            header = 12
        else:
            length = df_u16(d + pos + 6, big)
            header = 8
        value = pos + header
        if length & 1 and length != UNDEFINED_LENGTH:
            note(s, D_ODD_LENGTH, tag, pos)
        keep = True
        if top and s.wanted != NULL:
            keep = wanted_contains(s, tag)
            if not keep and length != UNDEFINED_LENGTH:
                # Not asked for: step over it (a sequence too) by its length, unrecorded.
                if length > <uint64_t>(limit - value):
                    if limit == s.size:
                        s.needs_more = True
                        return fail(s, SCAN_TRUNCATED, pos)
                    return fail(s, SCAN_BAD_LENGTH, pos)
                pos = value + length
                continue
        idx = push(s, tag, vr, flags, depth, pos, value, length)
        if idx < 0:
            return -1

        if length == UNDEFINED_LENGTH:
            s.elems[idx].flags |= F_UNDEFINED
            as_sequence = vr == VR_SQ or vr == VR_UN
            if vr == 0 and limit - value >= 4:
                # Implicit: a sequence if the dictionary says so or if an item follows.
                as_sequence = (is_sequence_tag(tag) or
                               (not is_pixel_tag(tag) and
                                df_u16(d + value, big) == 0xFFFE and df_u16(d + value + 2, big) == 0xE000))
            if as_sequence:
                s.elems[idx].flags |= F_SEQUENCE
                if scan_items(s, value, limit, True, depth + 1, elem_implicit or vr == VR_UN,
                              big, &sub_end, &sub_after) < 0:
                    s.elems[idx].end = <int32_t>s.n
                    return -1
            elif is_pixel_tag(tag):
                s.elems[idx].flags |= F_ENCAPSULATED
                if scan_fragments(s, value, depth + 1, big, &sub_end, &sub_after) < 0:
                    s.elems[idx].end = <int32_t>s.n
                    return -1
            else:
                found = find_delimiter(s, value, big)
                if found < 0 or found + 8 > limit:
                    s.elems[idx].end = <int32_t>s.n
                    if limit == s.size:
                        s.needs_more = True
                        return fail(s, SCAN_TRUNCATED, pos)
                    return fail(s, SCAN_BAD_LENGTH, pos)
                s.elems[idx].flags |= F_RAW_DELIMITED
                sub_end = found
                sub_after = found + 8
            if sub_after > limit:
                s.elems[idx].end = <int32_t>s.n
                return fail(s, SCAN_BAD_LENGTH, pos)
            s.elems[idx].length = <uint32_t>(sub_end - value)
            pos = sub_after
        else:
            as_sequence = vr == VR_SQ
            if (vr == 0 or vr == VR_UN) and length > 0 and is_sequence_tag(tag):
                as_sequence = True      # implicit, or UN that the dictionary knows as SQ
            if length > <uint64_t>(limit - value):
                if limit == s.size:
                    s.needs_more = True
                    if as_sequence:
                        # Cut short by the end of the data: keep the items that are there.
                        s.elems[idx].flags |= F_SEQUENCE
                        scan_items(s, value, limit, False, depth + 1, elem_implicit or vr == VR_UN,
                                   big, &sub_end, &sub_after)
                    s.elems[idx].end = <int32_t>s.n
                    return fail(s, SCAN_TRUNCATED, pos)
                s.elems[idx].end = <int32_t>s.n
                return fail(s, SCAN_BAD_LENGTH, pos)
            if as_sequence:
                s.elems[idx].flags |= F_SEQUENCE
                if scan_items(s, value, value + length, False, depth + 1,
                              elem_implicit or vr == VR_UN, big, &sub_end, &sub_after) < 0:
                    s.elems[idx].end = <int32_t>s.n
                    return -1
            pos = value + length
        # a recorded value lies inside the data it was found in
        DF_ASSERT(s.elems[idx].offset + <int64_t>s.elems[idx].length <= limit and pos <= limit)
        s.elems[idx].end = <int32_t>s.n
        if not keep:
            s.n = idx               # not asked for: drop it and anything nested in it
    content_end[0] = pos
    after[0] = pos
    return 0


# ---------------------------------------------------------------------------------------------
# Python side

FLAG_BIG = F_BIG
FLAG_IMPLICIT = F_IMPLICIT
FLAG_UNDEFINED = F_UNDEFINED
FLAG_SEQUENCE = F_SEQUENCE
FLAG_ENCAPSULATED = F_ENCAPSULATED
FLAG_ITEM = F_ITEM
FLAG_RAW_DELIMITED = F_RAW_DELIMITED

# Defect kinds the scanner records, by code (Tape.defects gives the codes).
DEFECT_KINDS = {
    D_TRUNCATED: "value_truncated", D_NO_DELIMITER: "missing_delimiter", D_ODD_LENGTH: "odd_length",
    D_UNKNOWN_VR: "unknown_vr", D_BLANK_VR: "blank_vr", D_VR_SWITCH: "vr_switch",
    D_TRAILING: "trailing_bytes", D_STRAY_DELIMITER: "stray_delimiter",
    D_META_LENGTH: "meta_group_length",
}

cdef object _as_sorted_u32(object tags, uint32_t** out, Py_ssize_t* n):
    """Copy an iterable of ints into a sorted C array; the returned bytes object owns it."""
    cdef list values = sorted(set(int(t) for t in tags))
    cdef bytes holder = PyBytes_FromStringAndSize(NULL, max(len(values), 1) * 4)
    cdef uint32_t* arr = <uint32_t*>PyBytes_AS_STRING(holder)
    cdef Py_ssize_t i
    for i in range(len(values)):
        arr[i] = <uint32_t>values[i]
    out[0] = arr
    n[0] = len(values)
    return holder


cdef dict _WANTED_ARRAYS = {}
# The tags the dictionary defines as SQ, for implicit VR: an open-addressing hash set, since the
# scanner asks about every implicit element (0 marks an empty slot; tag 0 is never a sequence).
cdef enum:
    SQ_SLOTS = 8192
cdef uint32_t _SQ_SET[SQ_SLOTS]


cdef inline Py_ssize_t _sq_slot(uint32_t tag) noexcept nogil:
    return ((tag * 2654435761u) >> 19) & (SQ_SLOTS - 1)


cdef inline bint is_sequence_tag(uint32_t tag) noexcept nogil:
    cdef Py_ssize_t i = _sq_slot(tag)
    while _SQ_SET[i] != 0:
        if _SQ_SET[i] == tag:
            return True
        i = (i + 1) & (SQ_SLOTS - 1)
    return False


def set_sequence_tags(tags):
    """Give the scanner the tags the dictionary defines as SQ (used for implicit VR)."""
    cdef list values = sorted({int(t) for t in tags} - {0})
    cdef Py_ssize_t i
    if len(values) > SQ_SLOTS // 2:
        raise ValueError(f"{len(values)} sequence tags: more than the table holds")
    for i in range(SQ_SLOTS):
        _SQ_SET[i] = 0
    for tag in values:
        i = _sq_slot(tag)
        while _SQ_SET[i] != 0:
            i = (i + 1) & (SQ_SLOTS - 1)
        _SQ_SET[i] = tag


@cython.no_gc
cdef class _Buffer:
    """Holds a Py_buffer for the lifetime of a Tape."""
    cdef Py_buffer view
    cdef bint held
    cdef object obj

    def __cinit__(self, obj):
        PyObject_GetBuffer(obj, &self.view, PyBUF_SIMPLE)
        self.held = True
        self.obj = obj

    def __dealloc__(self):
        if self.held:
            PyBuffer_Release(&self.view)


@cython.no_gc
cdef class Tape:
    """The element table of one scanned dataset, and the buffer it points into.

    Records are addressed by index. Datasets are ranges of records: the top level is
    ``[0, len(tape))``; an item ``i`` holds ``[i + 1, tape.end(i))``.
    """

    def __cinit__(self):
        self.elems = NULL
        self.n = 0
        self.cap = 0

    def __dealloc__(self):
        free(self.elems)

    def __len__(self):
        return self.n

    @property
    def buffer(self):
        return (<_Buffer>self.owner).obj

    @property
    def error(self):
        """The exception class and message for a failed scan, or None."""
        if self.status == SCAN_OK or self.status == SCAN_STOPPED:
            return None
        at = f"at byte offset {self.error_offset}"
        if self.status == SCAN_TRUNCATED:
            return TruncatedError, f"data ends inside an element {at}"
        if self.status == SCAN_BAD_LENGTH:
            return InvalidLengthError, f"an element, item or sequence length exceeds its container {at}"
        if self.status == SCAN_TOO_DEEP:
            return InvalidLengthError, f"sequences nested deeper than {MAX_DEPTH // 2} levels {at}"
        return DicomError, f"out of memory while scanning {at}"

    def tag(self, Py_ssize_t i):
        if i < 0 or i >= self.n: raise IndexError(i)
        return self.elems[i].tag

    def vr(self, Py_ssize_t i):
        """The VR the scan knows: 'SQ' for a sequence, the VR written in the file, or '' when
        the dictionary must decide (implicit VR, and UN, which pydicom replaces by the
        dictionary's VR for public tags)."""
        if i < 0 or i >= self.n: raise IndexError(i)
        cdef Elem* e = &self.elems[i]
        if e.flags & F_SEQUENCE:
            return "SQ"
        if e.vr == 0 or e.vr == VR_UN:
            return ""
        return _vr_str(e.vr)


    def flags(self, Py_ssize_t i):
        if i < 0 or i >= self.n: raise IndexError(i)
        return self.elems[i].flags

    def depth(self, Py_ssize_t i):
        if i < 0 or i >= self.n: raise IndexError(i)
        return self.elems[i].depth

    def length(self, Py_ssize_t i):
        if i < 0 or i >= self.n: raise IndexError(i)
        return self.elems[i].length

    def offset(self, Py_ssize_t i):
        if i < 0 or i >= self.n: raise IndexError(i)
        return self.elems[i].offset

    def start(self, Py_ssize_t i):
        if i < 0 or i >= self.n: raise IndexError(i)
        return self.elems[i].start

    def end(self, Py_ssize_t i):
        if i < 0 or i >= self.n: raise IndexError(i)
        return self.elems[i].end


    def children(self, Py_ssize_t start, Py_ssize_t stop):
        """The indices of the records directly in [start, stop): a dataset's elements or a
        sequence's items."""
        if start < 0 or stop > self.n or start > stop:
            raise IndexError((start, stop))
        cdef list out = []
        cdef Py_ssize_t i = start
        while i < stop:
            out.append(i)
            i = self.elems[i].end
        return out

    def tags(self, Py_ssize_t start, Py_ssize_t stop):
        """{tag: index} of the records directly in [start, stop); the first wins on duplicates."""
        if start < 0 or stop > self.n or start > stop:
            raise IndexError((start, stop))
        cdef dict out = {}
        cdef Py_ssize_t i = start
        while i < stop:
            out.setdefault(self.elems[i].tag, i)
            i = self.elems[i].end
        return out

    def find(self, Py_ssize_t start, Py_ssize_t stop, uint32_t tag):
        """Index of the first element with this tag directly in [start, stop), or -1."""
        if start < 0 or stop > self.n or start > stop:
            raise IndexError((start, stop))
        cdef Py_ssize_t i = start
        cdef Elem* e = self.elems
        while i < stop:
            if e[i].tag == tag:
                return i
            i = e[i].end
        return -1

    cdef void _note(self, int kind, uint32_t tag, int64_t offset) noexcept:
        if self.ndefects < MAX_DEFECTS:
            self.defect_recs[self.ndefects].kind = <uint8_t>kind
            self.defect_recs[self.ndefects].tag = tag
            self.defect_recs[self.ndefects].offset = offset
        self.ndefects += 1

    @property
    def defects(self):
        """``[(kind code, tag, offset), ...]``: what the scan tolerated, in the order met (the
        first MAX_DEFECTS; ``ndefects`` counts them all). Kinds by code: ``DEFECT_KINDS``."""
        cdef Py_ssize_t i
        return [(self.defect_recs[i].kind, self.defect_recs[i].tag, self.defect_recs[i].offset)
                for i in range(min(self.ndefects, MAX_DEFECTS))]

    def cut_short(self):
        """Tolerate a scan that ended inside a value (status truncated), as pydicom reads such
        a file: every value that runs past the end of the data is cut at it, the defect is
        recorded at the damaged element, and the status becomes complete. Returns whether it
        did anything."""
        cdef Py_ssize_t i, damaged = -1
        cdef Elem* e
        if self.status != SCAN_TRUNCATED:
            return False
        for i in range(self.n):
            e = &self.elems[i]
            if e.offset > self.size:
                e.offset = self.size
            if e.offset + <int64_t>e.length > self.size:
                e.length = <uint32_t>(self.size - e.offset)
                damaged = i
        i = damaged if damaged >= 0 else self.n - 1
        self._note(D_TRUNCATED, self.elems[i].tag if i >= 0 else 0,
                   self.elems[i].start if damaged >= 0 else self.error_offset)
        self.status = SCAN_OK
        self.stop = self.size
        return True

    cdef int _check_bounds(self, Elem* e) except -1:
        # Only the damaged element of a failed scan can point past the data: it stays in the
        # table so that a partial dataset shows where the fault is.
        if e.offset + <int64_t>e.length > self.size:
            raise TruncatedError(
                f"the value at byte offset {e.offset} declares {e.length} bytes; "
                f"{max(self.size - e.offset, 0)} remain", offset=e.start)
        return 0

    def raw(self, Py_ssize_t i):
        """The value's bytes, zero-copy, as a read-only memoryview on the buffer."""
        if i < 0 or i >= self.n: raise IndexError(i)
        cdef Elem* e = &self.elems[i]
        self._check_bounds(e)
        return memoryview((<_Buffer>self.owner).obj)[e.offset:e.offset + e.length].toreadonly()


    def __reduce__(self):
        raise TypeError("a Tape is pickled through its Dataset")


def scan(buffer, Py_ssize_t begin=0, *, bint explicit_vr=True, bint big_endian=False,
         bint stop_before_pixels=False, stop_after=None, uint32_t stop_below=0, wanted=None,
         bint detect=True):
    """Scan one dataset of ``buffer`` from ``begin``; return its Tape.

    ``stop_after`` / ``stop_below``: stop at the first top-level tag greater / less than this
    (the meta group is the range of group 0002). ``wanted``: keep only these
    top-level tags. ``detect``: let the first element decide between explicit and implicit VR, as
    pydicom does when a file's transfer syntax does not match its encoding. The scan never
    raises for bad data: ``Tape.status`` and ``Tape.error`` say what stopped it.
    """
    cdef _Buffer holder = _Buffer(buffer)
    if begin < 0 or begin > holder.view.len:
        raise ValueError(f"begin={begin} is outside the buffer of {holder.view.len} bytes")
    return _scan_holder(holder, begin, explicit_vr, big_endian, stop_before_pixels,
                        0xFFFFFFFF if stop_after is None else <uint32_t>stop_after,
                        stop_below, wanted, detect)


cdef Tape _scan_holder(_Buffer holder, Py_ssize_t begin, bint explicit_vr, bint big_endian,
                       bint stop_before_pixels, uint32_t stop_after, uint32_t stop_below,
                       object wanted, bint detect):
    cdef Tape tape = Tape.__new__(Tape)
    cdef Scanner s
    cdef Py_ssize_t content_end = 0, after = 0
    cdef uint32_t* wanted_arr = NULL
    cdef Py_ssize_t nwanted = 0
    cdef object wanted_holder = None
    cdef const uint8_t* d = <const uint8_t*>holder.view.buf
    cdef Py_ssize_t size = holder.view.len
    if wanted is not None:
        # Readers pass the same tuple for every file: keep its C array.
        wanted_holder = _WANTED_ARRAYS.get(wanted) if isinstance(wanted, tuple) else None
        if wanted_holder is None:
            wanted_holder = _as_sorted_u32(wanted, &wanted_arr, &nwanted)
            if isinstance(wanted, tuple):
                if len(_WANTED_ARRAYS) > 256:
                    _WANTED_ARRAYS.clear()
                _WANTED_ARRAYS[wanted] = (wanted_holder, nwanted)
        else:
            wanted_holder, nwanted = wanted_holder
            wanted_arr = <uint32_t*>PyBytes_AS_STRING(wanted_holder)
    cdef bint given_explicit = explicit_vr
    if detect and size - begin >= 6:
        explicit_vr = is_vr_shaped(d[begin + 4], d[begin + 5])

    s.data = d
    s.size = size
    # Every record consumes at least 8 bytes of input; start with room for a typical header
    # so that the table rarely grows, without trusting anything the data says.
    s.cap = min(max((size - begin) // 24, 64), 1 << 16)
    s.elems = <Elem*>malloc(s.cap * sizeof(Elem))
    if s.elems == NULL:
        raise MemoryError()
    s.n = 0
    s.stop_before_pixels = stop_before_pixels
    s.stop_after = stop_after
    s.stop_below = stop_below
    s.wanted = wanted_arr
    s.nwanted = nwanted
    s.next_wanted = 0
    s.last_tag = 0
    s.status = SCAN_OK
    s.error_offset = -1
    s.stop = -1
    s.needs_more = False
    s.ndefects = 0
    with nogil:
        scan_elements(&s, begin, size, False, 0, not explicit_vr, big_endian,
                      &content_end, &after)
    tape.elems = s.elems
    tape.n = s.n
    tape.cap = s.cap
    tape.owner = holder
    tape.data = d
    tape.size = size
    tape.begin = begin
    tape.stop = s.stop if s.stop >= 0 else after
    tape.status = s.status
    tape.error_offset = s.error_offset
    tape.explicit_vr = explicit_vr
    tape.big_endian = big_endian
    tape.needs_more = s.needs_more
    tape.ndefects = s.ndefects
    memcpy(tape.defect_recs, s.defects, min(s.ndefects, MAX_DEFECTS) * sizeof(DefectRec))
    if detect and explicit_vr != given_explicit and tape.n > 0:
        tape._note(D_VR_SWITCH, tape.elems[0].tag, begin)
    return tape


cdef enum:
    # What read_part10 found (the reader turns each into the right action).
    FRAME_OK = 0          # meta (if any) and dataset scanned; see the tapes' status
    FRAME_NO_PREFIX = 1   # no DICM at byte 128 and force was not given
    FRAME_SHORT = 2       # fewer than 132 bytes: too short to tell (read more, or not DICOM)
    FRAME_INFLATE = 3     # a deflated dataset starts at `begin`: inflate, then scan it


FRAMING = {"OK": FRAME_OK, "NO_PREFIX": FRAME_NO_PREFIX, "SHORT": FRAME_SHORT,
           "INFLATE": FRAME_INFLATE}


cdef bint _uid_is(const uint8_t* p, Py_ssize_t n, const char* uid) noexcept nogil:
    """A UI value equals ``uid``, ignoring the trailing NUL or space padding."""
    cdef Py_ssize_t m = 0
    while n > 0 and (p[n - 1] == 0 or p[n - 1] == 32):
        n -= 1
    while uid[m] != 0:
        m += 1
    return n == m and memcmp(p, uid, n) == 0


def read_part10(buffer, bint force, bint stop_before_pixels, wanted):
    """Frame and scan a Part 10 file (or, with ``force``, a bare dataset) in one call.

    Returns ``(framing, prefix_end, meta_tape, tape, begin)``: ``meta_tape`` is None without a
    meta group; ``tape`` is None unless ``framing`` is FRAME_OK; ``begin`` is where the dataset
    starts. The transfer syntax chooses the dataset's encoding; the scan's first element still
    decides between explicit and implicit VR, as pydicom does.
    """
    cdef _Buffer holder = _Buffer(buffer)
    cdef const uint8_t* d = <const uint8_t*>holder.view.buf
    cdef Py_ssize_t size = holder.view.len, pos = 0, prefix_end = 0, i
    cdef Tape meta = None
    cdef bint explicit_vr = True, big = False
    cdef uint16_t group
    cdef Elem* e
    if size >= 132 and memcmp(d + 128, b"DICM", 4) == 0:
        pos = prefix_end = 132
    elif not force:
        return (FRAME_SHORT if size < 132 else FRAME_NO_PREFIX), 0, None, None, 0
    if size - pos >= 6 and d[pos] == 2 and d[pos + 1] == 0:
        # The meta group: explicit VR little endian, up to the first tag outside group 0002,
        # whatever its group length says.
        meta = _scan_holder(holder, pos, True, False, False, 0x0002FFFF, 0x00020000, None, True)
        if meta.status != SCAN_OK and meta.status != SCAN_STOPPED:
            return FRAME_OK, prefix_end, meta, None, pos
        pos = meta.stop
        if meta.n > 0:
            # pydicom reads up to the first tag outside group 0002 whatever the group length
            # says (so do we); a missing or wrong one is recorded.
            e = &meta.elems[0]
            if (e.tag != 0x00020000 or e.length != 4 or
                    df_u32(d + e.offset, False) != <uint64_t>(pos - e.offset - 4)):
                meta._note(D_META_LENGTH, 0x00020000, e.start if e.tag == 0x00020000 else -1)
        for i in range(meta.n):
            e = &meta.elems[i]
            if e.tag == 0x00020010 and e.depth == 0 and e.offset + <int64_t>e.length <= size:
                if _uid_is(d + e.offset, e.length, b"1.2.840.10008.1.2"):
                    explicit_vr = False
                elif _uid_is(d + e.offset, e.length, b"1.2.840.10008.1.2.2"):
                    big = True
                elif (_uid_is(d + e.offset, e.length, b"1.2.840.10008.1.2.1.99") or
                      _uid_is(d + e.offset, e.length, b"1.2.840.10008.1.2.4.95")):
                    # Deflated Explicit VR Little Endian, and JPIP Referenced Deflate.
                    return FRAME_INFLATE, prefix_end, meta, None, pos
                break
        else:
            big = _guess_big_endian(d, pos, size)
    else:
        big = _guess_big_endian(d, pos, size)
    return (FRAME_OK, prefix_end, meta,
            _scan_holder(holder, pos, explicit_vr, big, stop_before_pixels,
                         0xFFFFFFFF if wanted is None else <uint32_t>wanted[len(wanted) - 1], 0, wanted, True),
            pos)


cdef bint _guess_big_endian(const uint8_t* d, Py_ssize_t pos, Py_ssize_t size) noexcept:
    """With no transfer syntax: big endian if the first element has a VR and its group, read
    little endian, is implausibly large (as pydicom guesses; big endian is always explicit)."""
    if size - pos < 6:
        return False
    return is_vr_shaped(d[pos + 4], d[pos + 5]) and (d[pos] | (d[pos + 1] << 8)) >= 1024


# ---------------------------------------------------------------------------------------------
# File reading: one open, one read of a first block, no Python file object.

def read_file(path, Py_ssize_t limit=-1):
    """Read a file, or its first ``limit`` bytes; return (bytes, file size).

    The read releases the GIL. A limited read does not ask for the file's size (one system call
    fewer on the hot path of header reads): its size is the bytes read when there were fewer than
    ``limit``, and -1 (unknown, at least ``limit``) otherwise. The caller asks again, for more,
    when a scan needs it.
    """
    cdef bytes bpath = path if isinstance(path, bytes) else str(path).encode("utf-8", "surrogateescape")
    cdef const char* cpath = bpath
    cdef int fd, err = 0
    cdef stat st
    cdef Py_ssize_t size = -1, want, got = 0, r = 0
    cdef bytes out
    cdef char* dst
    with nogil:
        fd = open(cpath, O_RDONLY | O_CLOEXEC)
    if fd < 0:
        _raise_os_error(path)
    try:
        if limit < 0:
            if fstat(fd, &st) != 0:
                _raise_os_error(path)
            if not S_ISREG(st.st_mode):
                raise IsADirectoryError(21, "not a regular file", str(path))
            size = want = st.st_size
        else:
            want = limit
        out = PyBytes_FromStringAndSize(NULL, want)
        dst = PyBytes_AS_STRING(out)
        with nogil:
            while got < want:
                r = pread(fd, dst + got, want - got, got)
                if r <= 0:
                    err = errno if r < 0 else 0
                    break
                got += r
        if r < 0:
            _raise_os_error(path, err)   # a directory: EISDIR
        if got < want:
            out = out[:got]
            if limit >= 0:
                size = got
        return out, size
    finally:
        close(fd)


def pread_into(int fd, buffer, Py_ssize_t offset):
    """Read ``fd`` from ``offset`` into the writable ``buffer`` until it is full or the file ends;
    return the bytes read. One ``pread`` loop without the GIL (``os.preadv`` costs a list, a
    memoryview and a call per read)."""
    cdef Py_buffer view
    cdef Py_ssize_t got = 0, r = 0
    cdef int err = 0
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, not {offset}")
    PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE)
    try:
        with nogil:
            while got < view.len:
                r = pread(fd, <char*>view.buf + got, view.len - got, offset + got)
                if r <= 0:
                    err = errno if r < 0 else 0
                    break
                got += r
    finally:
        PyBuffer_Release(&view)
    if r < 0:
        _raise_os_error(f"file descriptor {fd}", err)
    return got


cdef int _raise_os_error(path, int err=0) except -1:
    import os
    err = err or errno
    raise OSError(err, os.strerror(err), str(path))
