"""Values of elements: the bytes of one value, by VR, into a plain Python value.

The results are those of pydicom 3 with its default settings (``pydicom.values.convert_value``
through ``pydicom.dataelem.convert_raw_data_element``), with plain types in place of pydicom's
subclasses: ``str`` for the text VRs (PN, DA, DT, TM and UI too), ``int`` for IS and the integer
VRs, ``float`` for DS, FL and FD, ``int`` tags for AT, ``bytes`` for the O* VRs and UN (as stored,
never byteswapped), and a ``list`` when a value has several items. The enum of text modes below
lists the splitting and stripping rules per VR; the rules worth knowing:

* An empty value is ``''`` for the text VRs and ``None`` for the others, DS and IS included.
* DS and IS items are parsed as Python's ``float()`` and ``int()`` parse them. A blank item
  stays the ``str`` it was. An IS item like ``"1.0"`` becomes ``1``; one like ``"1.5"`` is not an
  integer and becomes the ``float`` ``1.5`` (pydicom's ``ISfloat``).
* A DS or IS value with an item that is not a number is not lost: like pydicom, the whole value
  is then decoded as SH would be (a ``str`` or a list of ``str``). An IS item that is infinite
  (``"inf"``, ``"1e400"``) raises :class:`~dicomfast.errors.InvalidValueError` (pydicom raises
  ``OverflowError``).
* A numeric value whose length is not a multiple of the item size raises
  :class:`~dicomfast.errors.InvalidValueError` (pydicom raises ``BytesLengthException``). AT is
  the exception, as in pydicom: the surplus bytes are dropped and the result is a list, even of
  one tag or none.
* No content of the bytes makes decoding raise anything but
  :class:`~dicomfast.errors.InvalidValueError`; text that its character set cannot decode gets
  U+FFFD and a warning, as in pydicom.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.float cimport PyFloat_FromDouble
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.long cimport (PyLong_FromLong, PyLong_FromLongLong, PyLong_FromUnsignedLong,
                           PyLong_FromUnsignedLongLong)
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.unicode cimport PyUnicode_DecodeLatin1, PyUnicode_DecodeUTF8
from libc.stdint cimport int16_t, int32_t, int64_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memchr, memcpy

from dicomfast.core._cursor cimport df_u16, df_u32, df_u64

import codecs

from dicomfast import charset as _charset
from dicomfast.errors import InvalidValueError

cdef extern from "Python.h":
    double PyOS_string_to_double(const char* s, char** endptr,
                                 PyObject* overflow_exception) except? -1.0


__all__ = ["decode", "pack_vr"]

# How the first encoding decodes text without escape sequences.
cdef enum:
    KIND_LATIN1 = 0   # byte-wise: split and strip bytes, one Latin-1 decode per item
    KIND_UTF8 = 1     # byte-wise too (every delimiter is ASCII), strict UTF-8 per item
    KIND_OTHER = 2    # decode the whole value in Python (charset.decode_text), then split

# How a text VR's value is split and stripped (pydicom's converter for the VR in brackets).
cdef enum:
    T_AE = 0      # split on backslash; strip whitespace around each item   [convert_AE_string]
    T_MULTI = 1   # rstrip spaces/NULs of the whole value; split            [convert_string]
    T_UR = 2      # rstrip whitespace; never split                          [convert_UR_string]
    T_SH = 3      # split; rstrip spaces/NULs of each item                  [convert_text]
    T_SINGLE = 4  # rstrip spaces/NULs; never split                         [convert_single_string]
    T_PN = 5      # rstrip spaces/NULs; split; drop each name's trailing '=' [convert_PN]
    T_UI = 6      # rstrip spaces/NULs; split; strip whitespace around each  [convert_UI, UID()]

# Python's float(), called as an ordinary object: Cython's inlined float(str) copies the text into
# a fixed stack buffer and overflowed it on some inputs (found by AddressSanitizer).
cdef object _py_float = float
cdef object _INVALID = object()   # an item that is not a number (DS, IS)
cdef dict _kinds = {}             # encoding name -> KIND_*
cdef str _EMPTY = ""
cdef Py_ssize_t _MAX_FAST_DS = 63  # longest DS item parsed without building a str


# ---------------------------------------------------------------------------------------------
# The entry points

cdef object decode_value(const unsigned char* p, Py_ssize_t n, unsigned int vr, bint big_endian,
                         object encodings):
    if n < 0:
        raise InvalidValueError(f"negative value length {n}")
    if (vr == VR_US or vr == VR_SS or vr == VR_UL or vr == VR_SL or vr == VR_FL or vr == VR_FD
            or vr == VR_UV or vr == VR_SV):
        if n == 0:
            return None
        return _numbers(p, n, vr, big_endian)
    if (vr == VR_OB or vr == VR_OW or vr == VR_UN or vr == VR_OD or vr == VR_OF or vr == VR_OL
            or vr == VR_OV):
        if n == 0:
            return None
        return PyBytes_FromStringAndSize(<const char*>p, n)
    if vr == VR_DS:
        if n == 0:
            return None
        return _decode_ds(p, n, encodings)
    if vr == VR_IS:
        if n == 0:
            return None
        return _decode_is(p, n, encodings)
    if vr == VR_AT:
        if n == 0:
            return None
        return _decode_at(p, n, big_endian)
    if _text_mode(vr) >= 0:
        if n == 0:
            return _EMPTY
        return _decode_text(p, n, vr, encodings)
    if vr == VR_SQ:
        raise InvalidValueError("an SQ value is a sequence of items, read by the dataset layer")
    raise InvalidValueError(f"unknown VR {_vr_name(vr)}")


def decode(raw, str vr, bint big_endian=False, encodings=None):
    """Decode the value bytes ``raw`` of an element with VR ``vr``.

    ``raw`` is any bytes-like object (bytes, bytearray, a C-contiguous memoryview, read-only or
    not). ``encodings`` is the list from :func:`dicomfast.charset.python_encodings` (``None``:
    the default repertoire). Raises :class:`~dicomfast.errors.InvalidValueError` for a value that
    cannot be decoded, an unknown VR, and SQ.
    """
    cdef const unsigned char[::1] view
    cdef const unsigned char* p = NULL
    cdef unsigned int code = pack_vr(vr)
    if isinstance(encodings, str):
        encodings = [encodings]
    if type(raw) is bytes:  # the common case, without the cost of acquiring a buffer
        return decode_value(<const unsigned char*>PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw),
                            code, big_endian, encodings)
    if not isinstance(raw, bytearray):
        try:
            raw = memoryview(raw).cast("B")
        except TypeError as exc:
            raise TypeError(f"raw must be a C-contiguous bytes-like object: {exc}") from None
    view = raw
    if view.shape[0]:
        p = &view[0]
    return decode_value(p, view.shape[0], code, big_endian, encodings)


cpdef unsigned int pack_vr(str vr) except? 0:
    """Return the VR code of ``vr`` (``ord(vr[0]) | ord(vr[1]) << 8``); raise for a non-VR."""
    if len(vr) != 2 or ord(vr[0]) > 0x7F or ord(vr[1]) > 0x7F:
        raise InvalidValueError(f"unknown VR {vr!r}")
    return ord(vr[0]) | (ord(vr[1]) << 8)


cdef str _vr_name(unsigned int vr):
    cdef unsigned int a = vr & 0xFF, b = (vr >> 8) & 0xFF
    if vr <= 0xFFFF and 0x41 <= a <= 0x5A and 0x41 <= b <= 0x5A:
        return repr(chr(a) + chr(b))
    return f"0x{vr:04X}"


# ---------------------------------------------------------------------------------------------
# Binary numbers, AT

cdef inline void _put(list out, Py_ssize_t i, object item) noexcept:
    Py_INCREF(item)
    PyList_SET_ITEM(out, i, item)


cdef inline double _f32(const unsigned char* p, bint big) noexcept nogil:
    cdef uint32_t u = df_u32(p, big)
    cdef float f
    memcpy(&f, &u, 4)
    return f


cdef inline double _f64(const unsigned char* p, bint big) noexcept nogil:
    cdef uint64_t u = df_u64(p, big)
    cdef double d
    memcpy(&d, &u, 8)
    return d


cdef object _number(const unsigned char* p, unsigned int vr, bint big):
    if vr == VR_US:
        return PyLong_FromLong(df_u16(p, big))
    if vr == VR_SS:
        return PyLong_FromLong(<int16_t>df_u16(p, big))
    if vr == VR_UL:
        return PyLong_FromUnsignedLong(df_u32(p, big))
    if vr == VR_SL:
        return PyLong_FromLong(<int32_t>df_u32(p, big))
    if vr == VR_FL:
        return PyFloat_FromDouble(_f32(p, big))
    if vr == VR_FD:
        return PyFloat_FromDouble(_f64(p, big))
    if vr == VR_UV:
        return PyLong_FromUnsignedLongLong(df_u64(p, big))
    return PyLong_FromLongLong(<int64_t>df_u64(p, big))  # SV


cdef object _numbers(const unsigned char* p, Py_ssize_t n, unsigned int vr, bint big):
    cdef Py_ssize_t size, count, i
    cdef list out
    if vr == VR_US or vr == VR_SS:
        size = 2
    elif vr == VR_UL or vr == VR_SL or vr == VR_FL:
        size = 4
    else:
        size = 8
    if n % size:
        raise InvalidValueError(
            f"a {_vr_name(vr)} value of {n} bytes: not a multiple of the item size, {size}")
    count = n // size
    if count == 1:
        return _number(p, vr, big)
    # One typed loop per VR, so that the loop body is a load and an int/float allocation.
    out = PyList_New(count)
    if vr == VR_US:
        for i in range(count):
            _put(out, i, PyLong_FromLong(df_u16(p + 2 * i, big)))
    elif vr == VR_SS:
        for i in range(count):
            _put(out, i, PyLong_FromLong(<int16_t>df_u16(p + 2 * i, big)))
    elif vr == VR_UL:
        for i in range(count):
            _put(out, i, PyLong_FromUnsignedLong(df_u32(p + 4 * i, big)))
    elif vr == VR_SL:
        for i in range(count):
            _put(out, i, PyLong_FromLong(<int32_t>df_u32(p + 4 * i, big)))
    elif vr == VR_FL:
        for i in range(count):
            _put(out, i, PyFloat_FromDouble(_f32(p + 4 * i, big)))
    elif vr == VR_FD:
        for i in range(count):
            _put(out, i, PyFloat_FromDouble(_f64(p + 8 * i, big)))
    elif vr == VR_UV:
        for i in range(count):
            _put(out, i, PyLong_FromUnsignedLongLong(df_u64(p + 8 * i, big)))
    else:
        for i in range(count):
            _put(out, i, PyLong_FromLongLong(<int64_t>df_u64(p + 8 * i, big)))
    return out


cdef inline unsigned long _tag(const unsigned char* p, bint big) noexcept nogil:
    return (<unsigned long>df_u16(p, big) << 16) | df_u16(p + 2, big)


cdef object _decode_at(const unsigned char* p, Py_ssize_t n, bint big):
    cdef Py_ssize_t count = n // 4, i
    cdef list out
    if n == 4:
        return PyLong_FromUnsignedLong(_tag(p, big))
    # Like pydicom: any other length gives a list, the bytes after the last whole tag dropped.
    out = PyList_New(count)
    for i in range(count):
        _put(out, i, PyLong_FromUnsignedLong(_tag(p + 4 * i, big)))
    return out


# ---------------------------------------------------------------------------------------------
# Text

cdef inline bint _is_space(unsigned char c) noexcept nogil:
    # Python's str.isspace() for the Latin-1 characters: what str.strip() removes.
    return (9 <= c <= 13) or (28 <= c <= 32) or c == 0x85 or c == 0xA0


cdef inline bint _is_pad(unsigned char c) noexcept nogil:
    return c == 32 or c == 0


cdef int _text_mode(unsigned int vr) noexcept:
    if vr == VR_AE:
        return T_AE
    if vr == VR_CS or vr == VR_AS or vr == VR_DA or vr == VR_DT or vr == VR_TM:
        return T_MULTI
    if vr == VR_UI:
        return T_UI
    if vr == VR_UR:
        return T_UR
    if vr == VR_SH or vr == VR_LO or vr == VR_UC:
        return T_SH
    if vr == VR_ST or vr == VR_LT or vr == VR_UT:
        return T_SINGLE
    if vr == VR_PN:
        return T_PN
    return -1


cdef int _encoding_kind(object encodings) except -1:
    if encodings is None or len(encodings) == 0:
        return KIND_LATIN1
    first = encodings[0]
    try:
        kind = _kinds.get(first)
    except TypeError:
        return KIND_OTHER
    if kind is not None:
        return kind
    try:
        name = codecs.lookup(first).name
    except Exception:
        name = None
    kind = KIND_LATIN1 if name == "iso8859-1" else KIND_UTF8 if name == "utf-8" else KIND_OTHER
    if len(_kinds) < 256:
        _kinds[first] = kind
    return kind


cdef inline str _chars(const unsigned char* p, Py_ssize_t n, int kind):
    if kind == KIND_UTF8:
        return PyUnicode_DecodeUTF8(<char*>p, n, NULL)
    return PyUnicode_DecodeLatin1(<char*>p, n, NULL)


cdef str _text_item(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, int mode, int kind):
    if mode == T_AE or mode == T_UI:
        while a < b and _is_space(p[a]):
            a += 1
        while b > a and _is_space(p[b - 1]):
            b -= 1
    elif mode == T_SH:
        while b > a and _is_pad(p[b - 1]):
            b -= 1
    elif mode == T_PN:
        while b > a and p[b - 1] == 0x3D:  # a name's empty trailing groups: 'A^B==' is 'A^B'
            b -= 1
    return _chars(p + a, b - a, kind)


cdef object _text_bytewise(const unsigned char* p, Py_ssize_t n, int mode, int kind):
    """Split and strip at the byte level; right for Latin-1, and for UTF-8 whose delimiters and
    padding are all ASCII (n > 0)."""
    cdef Py_ssize_t b = n, start = 0, i
    cdef list items
    if mode == T_UR:
        while b > 0 and _is_space(p[b - 1]):
            b -= 1
        return _chars(p, b, kind)
    if mode == T_SINGLE or mode == T_MULTI or mode == T_PN or mode == T_UI:
        while b > 0 and _is_pad(p[b - 1]):
            b -= 1
        if mode == T_SINGLE:
            return _chars(p, b, kind)
    if b == 0 or memchr(p, 0x5C, b) == NULL:
        return _text_item(p, 0, b, mode, kind)
    items = []
    for i in range(b):
        if p[i] == 0x5C:
            items.append(_text_item(p, start, i, mode, kind))
            start = i + 1
    items.append(_text_item(p, start, b, mode, kind))
    return items


cdef object _text_by_charset(const unsigned char* p, Py_ssize_t n, unsigned int vr, int mode,
                             object encodings):
    """Decode the whole value with charset.decode_text, then split and strip the str."""
    cdef str s = _charset.decode_text(
        PyBytes_FromStringAndSize(<const char*>p, n), chr(vr & 0xFF) + chr(vr >> 8), encodings)
    if mode == T_SINGLE:
        return s.rstrip("\x00 ")
    parts = s.split("\\")
    if mode == T_SH:
        parts = [part.rstrip("\x00 ") for part in parts]
    else:  # T_PN
        parts = [part.rstrip("=") for part in parts]
    return parts[0] if len(parts) == 1 else parts


cdef object _decode_text(const unsigned char* p, Py_ssize_t n, unsigned int vr,
                         object encodings):
    cdef int mode = _text_mode(vr)
    cdef int kind
    if mode == T_SH or mode == T_SINGLE or mode == T_PN:  # the charset-dependent VRs
        kind = _encoding_kind(encodings)
        if kind != KIND_OTHER and memchr(p, 0x1B, n) == NULL:
            if kind == KIND_LATIN1:
                return _text_bytewise(p, n, mode, KIND_LATIN1)
            try:
                return _text_bytewise(p, n, mode, KIND_UTF8)
            except UnicodeDecodeError:
                pass  # decoded again below, with replacement characters and a warning
        return _text_by_charset(p, n, vr, mode, encodings)
    return _text_bytewise(p, n, mode, KIND_LATIN1)


# ---------------------------------------------------------------------------------------------
# DS and IS

cdef bint _is_blank(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if not _is_space(p[i]):
            return False
    return True


cdef inline bint _is_digit(unsigned char c) noexcept nogil:
    return 0x30 <= c <= 0x39


cdef bint _is_plain_decimal(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    """[+-]? (d+ (. d*)? | . d+) ([eE] [+-]? d+)? : the numbers strtod and float() agree on."""
    cdef Py_ssize_t i = 0, digits = 0
    if i < n and (p[i] == 0x2B or p[i] == 0x2D):
        i += 1
    while i < n and _is_digit(p[i]):
        i += 1
        digits += 1
    if i < n and p[i] == 0x2E:
        i += 1
        while i < n and _is_digit(p[i]):
            i += 1
            digits += 1
    if digits == 0:
        return False
    if i < n and (p[i] == 0x65 or p[i] == 0x45):
        i += 1
        if i < n and (p[i] == 0x2B or p[i] == 0x2D):
            i += 1
        digits = 0
        while i < n and _is_digit(p[i]):
            i += 1
            digits += 1
        if digits == 0:
            return False
    return i == n


cdef object _ds_item(const unsigned char* p, Py_ssize_t n):
    cdef Py_ssize_t a = 0, b = n
    cdef char buf[64]
    if _is_blank(p, n):
        return PyUnicode_DecodeLatin1(<char*>p, n, NULL)
    while a < b and p[a] == 32:
        a += 1
    while b > a and p[b - 1] == 32:
        b -= 1
    if b - a <= _MAX_FAST_DS and _is_plain_decimal(p + a, b - a):
        # Python's own correctly rounded, locale-independent parser: the same as float().
        memcpy(buf, p + a, b - a)
        buf[b - a] = 0
        return PyFloat_FromDouble(PyOS_string_to_double(buf, NULL, NULL))
    # Everything else float() accepts: inf, nan, underscores, other whitespace...
    try:
        return _py_float(PyUnicode_DecodeLatin1(<char*>p, n, NULL))
    except ValueError:
        return _INVALID


cdef object _is_item(const unsigned char* p, Py_ssize_t n):
    cdef Py_ssize_t a = 0, b = n, i
    cdef long long v = 0
    cdef bint negative = False
    if _is_blank(p, n):
        return PyUnicode_DecodeLatin1(<char*>p, n, NULL)
    while a < b and p[a] == 32:
        a += 1
    while b > a and p[b - 1] == 32:
        b -= 1
    if a < b and (p[a] == 0x2B or p[a] == 0x2D):
        negative = p[a] == 0x2D
        a += 1
    if 0 < b - a <= 15:  # up to 15 digits: exact as a float too, so never an ISfloat
        for i in range(a, b):
            if not _is_digit(p[i]):
                break
            v = v * 10 + (p[i] - 0x30)
        else:
            return PyLong_FromLongLong(-v if negative else v)
    return _is_from_str(PyUnicode_DecodeLatin1(<char*>p, n, NULL))


cdef object _is_from_str(str s):
    # pydicom's IS(): int(s), else int(float(s)); a float value that is not integral stays float.
    try:
        value = int(s)
    except ValueError:
        try:
            value = int(_py_float(s))
        except ValueError:
            return _INVALID
        except OverflowError:
            raise InvalidValueError(f"IS value {s!r} is not finite") from None
    as_float = _py_float(s)
    return as_float if value != as_float else value


cdef object _numeric_items(const unsigned char* p, Py_ssize_t a, Py_ssize_t b, bint ds):
    """Parse the backslash-separated items of [a, b); _INVALID if one is not a number."""
    cdef Py_ssize_t start = a, i
    cdef list items
    if memchr(p + a, 0x5C, b - a) == NULL:
        return _ds_item(p + a, b - a) if ds else _is_item(p + a, b - a)
    items = []
    for i in range(a, b + 1):
        if i == b or p[i] == 0x5C:
            item = _ds_item(p + start, i - start) if ds else _is_item(p + start, i - start)
            if item is _INVALID:
                return _INVALID
            items.append(item)
            start = i + 1
    return items


cdef object _decode_ds(const unsigned char* p, Py_ssize_t n, object encodings):
    # pydicom: value.strip(), then .rstrip(' \0'), then split on backslash.
    cdef Py_ssize_t a = 0, b = n
    while a < b and _is_space(p[a]):
        a += 1
    while b > a and _is_space(p[b - 1]):
        b -= 1
    while b > a and _is_pad(p[b - 1]):
        b -= 1
    value = _numeric_items(p, a, b, True)
    if value is _INVALID:  # keep the text: decoded as SH, as pydicom does
        return _decode_text(p, n, VR_SH, encodings)
    return value


cdef object _decode_is(const unsigned char* p, Py_ssize_t n, object encodings):
    # pydicom: value.rstrip(' \0'), then split on backslash.
    cdef Py_ssize_t b = n
    while b > 0 and _is_pad(p[b - 1]):
        b -= 1
    value = _numeric_items(p, 0, b, False)
    if value is _INVALID:
        return _decode_text(p, n, VR_SH, encodings)
    return value
