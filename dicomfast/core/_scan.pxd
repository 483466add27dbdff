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

cdef enum DefectKind:
    # What a scan tolerated (exported to Python by _scan.pyx as DEFECT_KINDS): recorded only on
    # the branches that meet the defect, so a clean scan never touches the defect table.
    D_TRUNCATED = 1        # data ended inside a value: the value is cut short
    D_NO_DELIMITER = 2     # an undefined-length item ended at its sequence's delimiter
    D_ODD_LENGTH = 3       # a value of odd length
    D_UNKNOWN_VR = 4       # two capitals that are no VR of the standard (read with a 2-byte length)
    D_BLANK_VR = 5         # an explicit-VR element whose VR bytes are blank: read as implicit
    D_VR_SWITCH = 6        # an explicit-VR element or item encoded implicitly (or the reverse)
    D_TRAILING = 7         # fewer than 8 bytes after the last element
    D_STRAY_DELIMITER = 8  # an item delimiter outside an undefined-length item: skipped
    D_META_LENGTH = 9      # the meta group's group length is missing or not where it ends
    MAX_DEFECTS = 16       # defects kept per scan; ndefects counts them all

ctypedef struct DefectRec:
    uint32_t tag
    uint8_t kind
    int64_t offset         # where the element (its tag) starts

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
    cdef DefectRec defect_recs[MAX_DEFECTS]
    cdef readonly Py_ssize_t ndefects  # defects the scan tolerated (the first MAX_DEFECTS kept)

    cdef int _check_bounds(self, Elem* e) except -1
    cdef void _note(self, int kind, uint32_t tag, int64_t offset) noexcept
