cimport cython
# The element table ("tape"): the internal C API between the scanner and the modules that own it
# (the Dataset view, the pixel decoders, the collection indexers).
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int32_t, int64_t

cdef enum:
    # Element flags (exported to Python by _scan.pyx as FLAG_*).
    F_BIG = 1            # the value's bytes are big endian
    F_IMPLICIT = 2       # encoded without a VR: the VR comes from the dictionary
    F_UNDEFINED = 4      # undefined length in the file (the tape stores the content length)
    F_SEQUENCE = 8       # children are items holding datasets (SQ, or UN/implicit parsed as SQ)
    F_ENCAPSULATED = 16  # children are items holding pixel data fragments
    F_ITEM = 32          # an item (FFFE,E000); its children are a dataset's elements or nothing
    F_RAW_DELIMITED = 64  # undefined-length value found by searching for the delimiter

cdef enum:
    TAG_ITEM = 0xFFFEE000
    TAG_ITEM_DELIM = 0xFFFEE00D
    TAG_SEQ_DELIM = 0xFFFEE0DD
    TAG_PIXEL_DATA = 0x7FE00010
    TAG_FLOAT_PIXEL_DATA = 0x7FE00008
    TAG_DOUBLE_PIXEL_DATA = 0x7FE00009
    UNDEFINED_LENGTH = 0xFFFFFFFF
    MAX_DEPTH = 200      # items and elements each count one level; limits recursion on hostile input

cdef enum ScanStatus:
    SCAN_OK = 0
    SCAN_STOPPED = 1     # stopped on purpose (stop_before_pixels, stop tag): not an error
    SCAN_TRUNCATED = 2   # data ended inside an element, item or sequence
    SCAN_BAD_LENGTH = 3  # a length that its container cannot hold
    SCAN_TOO_DEEP = 4
    SCAN_NO_MEMORY = 5

ctypedef struct Elem:
    uint32_t tag
    uint16_t vr          # the two VR characters, vr[0] | vr[1] << 8; 0 when implicit
    uint8_t flags
    uint8_t depth
    uint32_t length      # value length in bytes; content length for undefined lengths
    int32_t end          # index one past this element's subtree: the next sibling
    int64_t offset       # where the value starts in the buffer
    int64_t start        # where the element (its tag) starts

@cython.no_gc
cdef class Tape:
    cdef Elem* elems
    cdef Py_ssize_t n
    cdef Py_ssize_t cap
    cdef object owner            # keeps the buffer alive
    cdef const uint8_t* data
    cdef Py_ssize_t size
    cdef readonly Py_ssize_t begin     # where the scan started
    cdef readonly Py_ssize_t stop      # where the scan ended (first byte not consumed)
    cdef readonly int status
    cdef readonly Py_ssize_t error_offset
    cdef readonly bint explicit_vr
    cdef readonly bint big_endian
    cdef readonly bint needs_more      # ended at the buffer's end where more bytes may exist

    cdef int _check_bounds(self, Elem* e) except -1
