"""Values out: one Python value, by VR, into the value bytes of an element (the mirror of _values).

:func:`encode_value` accepts what :func:`dicomfast.core._values.decode` gives, and the usual
Python spellings of it, and checks the value against its VR (PS3.5 6.2) before it encodes
anything: a value that breaks a rule raises :class:`~dicomfast.errors.InvalidValueError` naming
the tag (when given), the VR and the rule, and nothing is returned half done. What each VR takes:

=================================  ================================================================
VR                                 value
=================================  ================================================================
AE AS CS DA DT TM LO SH UC UI PN   ``str``, or a list/tuple of them; a ``str`` with ``\\`` is
                                   several values, as in pydicom
LT ST UT UR                        one ``str`` (these VRs hold one value: a list is refused)
DA / DT / TM                       also ``datetime.date`` / ``datetime.datetime`` (or ``date``) /
                                   ``datetime.time`` (without a time zone), in lists too
PN                                 also an object with a ``family_name`` (pydicom's
                                   ``PersonName``): its ``str()`` is written
DS                                 ``float``, ``int``, ``Decimal`` or a ``str`` of a decimal; a list,
                                   tuple or NumPy array of them; a float is formatted into 16
                                   characters (:func:`format_number_as_ds`); a blank ``str`` is an
                                   empty item
IS                                 ``int`` (or a float that is one) or a ``str`` of one; lists,
                                   arrays; blank ``str`` items
US SS UL SL UV SV                  ``int``, a list/tuple of them, a NumPy integer array, or bytes
                                   already in the target byte order
FL FD                              ``float`` or ``int``, lists, NumPy numeric arrays, bytes
AT                                 a tag: an ``int``, a ``(group, element)`` tuple or a keyword;
                                   several tags as a list
OB OD OF OL OV OW UN               bytes, bytearray, memoryview (written as they are), or a NumPy
                                   array, whose items are written in the target byte order
SQ                                 refused: the writer writes items
=================================  ================================================================

``None``, ``""`` and an empty list are the empty value (``b""``) of every VR. NumPy is never
imported here: an array can only come from a caller that imported it.

The checks, per value: the maximum length of the VR (characters for the text VRs with a character
set, PN per component group: at most 3 groups of at most 5 components), the character repertoire
(CS upper case, digits, space and ``_``; AE, DA, DS, DT, IS, TM, UI, UR, AS their own; no control
characters but TAB, LF, FF and CR in LT, ST and UT, and TAB in PN; no ``\\`` inside a value; ESC
never, because the encoder writes the escape sequences), dates and times that exist, IS within
32 bits, DS within 16 characters, integers within their VR's range, FL within float32, UIDs by
:func:`dicomfast.uid.is_valid_uid`, a length of at most 2**32 - 2 bytes. Text is padded to even
length with a space, UI and the binary VRs with NUL.

Where dicomfast is stricter than pydicom 3 (whose writer warns where we refuse): calendar dates are
checked (``20230230`` is refused), a ``tuple`` for AT is one ``(group, element)`` pair (pydicom reads
it as several tags: use a list), control characters are refused in SH, LO and UC, and a time zone on
a TM is refused. Where it encodes differently: a float DS that does not fit 16 characters gets the
closest 16-character decimal (pydicom's ``format_number_as_ds`` gives one that is never closer), and
dates before the year 1000 keep their four digits.
"""
from __future__ import annotations

import datetime
import functools
import math
import numbers
import operator
import re
import struct
import sys
from decimal import Decimal, InvalidOperation

from .. import charset, datadict, tags
from ..errors import InvalidValueError
from ..uid import is_valid_uid

__all__ = ["encode_value", "encode_value_cached", "clear_encoded", "format_number_as_ds", "MAX_CHARACTERS"]

#: Maximum length of one value, in characters (bytes for the VRs without a character set); PN is
#: per component group. UC, UR and UT are limited only by the element's length, 2**32 - 2 bytes.
MAX_CHARACTERS = {
    "AE": 16, "AS": 4, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64, "LT": 10240,
    "PN": 64, "SH": 16, "ST": 1024, "TM": 14, "UI": 64,
}
_MAX_RANGE = {"DA": 18, "DT": 54, "TM": 28}  # a range of two values, for a query (PS3.4 C.2.2.2.5)
_MAX_VALUE_LENGTH = 0xFFFFFFFE

_SINGLE = frozenset({"LT", "ST", "UT", "UR"})  # VM 1 only: ``\\`` is text in them (not in UR)
_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "TM", "LO", "LT", "SH", "ST", "UC", "UT",
                       "UR", "UI", "PN"})
_INTEGERS = {  # VR -> (struct code, minimum, maximum)
    "US": ("H", 0, 0xFFFF),
    "SS": ("h", -0x8000, 0x7FFF),
    "UL": ("L", 0, 0xFFFFFFFF),
    "SL": ("l", -0x80000000, 0x7FFFFFFF),
    "UV": ("Q", 0, 0xFFFFFFFFFFFFFFFF),
    "SV": ("q", -0x8000000000000000, 0x7FFFFFFFFFFFFFFF),
}
_FLOATS = {"FL": "f", "FD": "d"}
_NUMPY_TYPES = {"US": "u2", "SS": "i2", "UL": "u4", "SL": "i4", "UV": "u8", "SV": "i8", "FL": "f4",
                "FD": "f8"}
_WORD = {"OB": 1, "UN": 1, "OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}  # item size of the O* VRs
_WORD_KINDS = {"OW": "iu", "OF": "f", "OL": "iu", "OD": "f", "OV": "iu"}
_IS_MIN, _IS_MAX = -(2**31), 2**31 - 1

# Character repertoires and formats (PS3.5 Table 6.2-1).
_CS = re.compile(r"[A-Z0-9 _]*")
_AE = re.compile(r"[\x20-\x5b\x5d-\x7e]*")  # printable ASCII without the backslash
_AS = re.compile(r"[0-9]{3}[DWMY]")
_DS = re.compile(r" *[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)? *")
_IS = re.compile(r" *[+-]?[0-9]+ *")
_UR = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]* *")
_DA_ONE = r"[0-9]{8}"
_TM_ONE = r"(?:[01][0-9]|2[0-3])(?:[0-5][0-9](?:(?:[0-5][0-9]|60)(?:\.[0-9]{1,6})?)?)?"
_DT_ONE = (r"[0-9]{4}(?:(?:0[1-9]|1[0-2])(?:(?:0[1-9]|[12][0-9]|3[01])(?:(?:[01][0-9]|2[0-3])"
           r"(?:[0-5][0-9](?:(?:[0-5][0-9]|60)(?:\.[0-9]{1,6})?)?)?)?)?)?(?:[+-](?:0[0-9]|1[0-4])[0-5][0-9])?")


def _with_ranges(one):
    return re.compile(rf"(?P<a>{one})|-(?P<b>{one})|(?P<c>{one})-|(?P<d>{one})-(?P<e>{one})")


_DATE_TIME = {"DA": _with_ranges(_DA_ONE), "DT": _with_ranges(_DT_ONE), "TM": _with_ranges(_TM_ONE)}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # TAB, LF, FF, CR allowed
_CONTROL_BUT_TAB = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class _Refused(Exception):
    """Why a value cannot be encoded; encode_value adds the tag and VR."""


def encode_value(value, vr, *, big_endian=False, encodings=None, tag=None):
    """The value bytes of an element of VR ``vr`` holding ``value``, padded to even length.

    ``big_endian`` selects the byte order of the binary VRs; ``encodings`` is the list from
    :func:`dicomfast.charset.python_encodings` for the dataset's Specific Character Set (``None``:
    the default repertoire); ``tag`` only names the element in errors. Raises
    :class:`~dicomfast.errors.InvalidValueError` for a value that the VR cannot hold, an unknown or
    ambiguous VR, and SQ.
    """
    try:
        data = _encode(value, vr, big_endian, encodings)
        if len(data) > _MAX_VALUE_LENGTH:
            raise _Refused(f"the value is {len(data)} bytes long: more than an element holds (2**32 - 2)")
    except _Refused as exc:
        raise InvalidValueError(f"{_where(tag, vr)}: {exc}") from None
    return data


#: The longest text (characters) or bytes value :func:`encode_value_cached` remembers, and how many.
_MEMO_VALUE_LIMIT = 256
_MEMO_SIZE = 4096


def encode_value_cached(value, vr, *, big_endian=False, encodings=None, tag=None):
    """:func:`encode_value`, remembered for small immutable values: the same bytes, the same errors.

    A value of exactly ``str``, ``int``, ``bytes`` or ``None``, or a ``list`` of ``str`` (short
    ones: :data:`_MEMO_VALUE_LIMIT`), is encoded once per VR, byte order and character set, and its
    bytes are kept in a bounded LRU (:data:`_MEMO_SIZE` entries) shared by the edits and the
    writer: the same dummy values, UIDs and dates set over and over (de-identification, a series
    rewritten) are checked and encoded once. Anything else, and every refusal (whose message names
    ``tag``), goes through :func:`encode_value` itself. ``encode_value`` is a pure function of
    its arguments (``tag`` only names the element in errors), so a remembered result is exactly
    what it would give again.
    """
    kind = type(value)
    if kind is str or kind is bytes:
        key = value if len(value) <= _MEMO_VALUE_LIMIT else None
    elif kind is int or value is None:
        key = value
    elif kind is list and len(value) <= 16 and all(type(v) is str and len(v) <= 64 for v in value):
        key = tuple(value)
    else:
        key = None
    if key is None and value is not None:
        return encode_value(value, vr, big_endian=big_endian, encodings=encodings, tag=tag)
    try:
        return _encode_memo(kind, key, vr, bool(big_endian),
                            encodings if encodings is None or type(encodings) is str else tuple(encodings))
    except (InvalidValueError, TypeError):  # refused: again, for the message that names the tag
        return encode_value(value, vr, big_endian=big_endian, encodings=encodings, tag=tag)


def clear_encoded():
    """Forget the values :func:`encode_value_cached` remembers."""
    _encode_memo.cache_clear()


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _encode_memo(kind, key, vr, big_endian, encodings):
    value = list(key) if kind is list else key
    return encode_value(value, vr, big_endian=big_endian,
                        encodings=list(encodings) if type(encodings) is tuple else encodings)


def _where(tag, vr):
    vr_text = f"VR {vr}" if isinstance(vr, str) else f"VR {vr!r}"
    if tag is None:
        return f"a value of {vr_text}"
    keyword = datadict.keyword_for_tag(tag) if isinstance(tag, int) else ""
    return f"{tags.tag_repr(tag)}{' ' + keyword if keyword else ''} ({vr_text})"


def _encode(value, vr, big_endian, encodings):
    if not isinstance(vr, str):
        raise _Refused("a VR is a str of two letters")
    if vr in _TEXT_VRS:
        return _text(value, vr, encodings)
    if vr == "DS" or vr == "IS":
        return _number_strings(value, vr)
    if vr in _INTEGERS or vr in _FLOATS:
        return _binary_numbers(value, vr, big_endian)
    if vr in _WORD:
        return _other(value, vr, big_endian)
    if vr == "AT":
        return _tags(value, big_endian)
    if vr == "SQ":
        raise _Refused("an SQ value is a sequence of items, written item by item by the writer")
    if isinstance(vr, str) and " or " in vr:
        raise _Refused("the VR is ambiguous: choose one of its VRs before encoding")
    raise _Refused("unknown VR")


def _kind(value):
    return type(value).__name__


def _is_array(value):
    numpy = sys.modules.get("numpy")  # never imported here: an array means the caller has it
    return numpy is not None and isinstance(value, numpy.ndarray)


def _is_empty(value):
    return value is None or (isinstance(value, (str, bytes, bytearray, list, tuple)) and len(value) == 0)


# ---------------------------------------------------------------------------------------------
# Text

def _items(value, vr, scalar_types):
    """The values of a multi-valued VR as a list (a str with backslashes split, as pydicom does)."""
    if isinstance(value, str):
        return value.split("\\")
    if isinstance(value, (list, tuple)):
        return list(value)
    if _is_array(value):
        return value.tolist() if value.ndim else [value.item()]
    if isinstance(value, scalar_types):
        return [value]
    raise _Refused(f"a {_kind(value)} is not a value of this VR")


def _text(value, vr, encodings):
    if _is_empty(value):
        return b""
    if vr in _SINGLE:
        if not isinstance(value, str):
            raise _Refused(f"{vr} holds one str, not a {_kind(value)}")
        items = [value]
    elif vr == "PN":
        if hasattr(value, "family_name") and not isinstance(value, str):
            value = str(value)
        items = _items(value, vr, ())
    elif vr in _DATE_TIME:
        items = _items(value, vr, (datetime.date, datetime.time))
    else:
        items = _items(value, vr, ())
    check = _CHECKS[vr]
    texts = []
    for i, item in enumerate(items):
        try:
            texts.append(check(item, vr))
        except _Refused as exc:
            raise _Refused(f"{_nth(i, items)}{exc}") from None
    text = "\\".join(texts)
    if vr in charset.CHARSET_VRS:
        try:
            data = charset.encode_text(text, vr, encodings)
        except UnicodeEncodeError as exc:
            char = exc.object[exc.start]
            names = ", ".join(encodings) if encodings else charset.DEFAULT_ENCODING
            raise _Refused(
                f"character {char!r} (U+{ord(char):04X}) cannot be encoded in the Specific "
                f"Character Set (Python codecs {names})"
            ) from None
    else:
        data = text.encode("ascii")
    if len(data) % 2:
        data += b"\x00" if vr == "UI" else b" "
    return data


def _nth(i, items):
    return f"value {i + 1} of {len(items)}: " if len(items) > 1 else ""


def _str_item(item, vr):
    if not isinstance(item, str):
        if vr == "PN" and hasattr(item, "family_name"):
            return str(item)
        raise _Refused(f"a {vr} value is a str, not a {_kind(item)}")
    if "\\" in item and vr not in _SINGLE:
        raise _Refused(f"{item!r} holds a backslash, the delimiter of values")
    return item


def _check_length(item, vr):
    limit = MAX_CHARACTERS.get(vr)
    if limit is not None and len(item) > limit:
        raise _Refused(f"{item!r} is {len(item)} characters long, more than the {limit} of {vr}")


def _check_pattern(item, vr, pattern, what):
    if pattern.fullmatch(item) is None:
        raise _Refused(f"{item!r} is not {what}")


def _check_control(item, pattern, allowed):
    found = pattern.search(item)
    if found is not None:
        char = found.group()
        raise _Refused(f"{item!r} holds the control character {char!r}" + (
            f" (only {allowed} are allowed)" if allowed else ""
        ) + (" (escape sequences are written by the encoder)" if char == "\x1b" else ""))


def _check_ae(item, vr):
    item = _str_item(item, vr)
    _check_length(item, vr)
    _check_pattern(item, vr, _AE, "an AE title (printable ASCII without backslash)")
    return item


def _check_as(item, vr):
    item = _str_item(item, vr)
    if item:
        _check_pattern(item, vr, _AS, "an age string nnnD, nnnW, nnnM or nnnY")
    return item


def _check_cs(item, vr):
    item = _str_item(item, vr)
    _check_length(item, vr)
    _check_pattern(item, vr, _CS, "a code string (upper case letters, digits, space and underscore)")
    return item


def _check_ui(item, vr):
    item = _str_item(item, vr)
    if item and not is_valid_uid(item):
        _check_length(item, vr)
        raise _Refused(f"{item!r} is not a UID (digits and dots, components without leading zeros)")
    return item


def _check_ur(item, vr):
    _check_pattern(item, vr, _UR, "a URI (RFC 3986 characters, no leading space)")
    return item


def _check_text(item, vr):
    item = _str_item(item, vr)
    _check_length(item, vr)
    if vr in ("LT", "ST", "UT"):
        _check_control(item, _CONTROL_BUT_TEXT, "TAB, LF, FF and CR")
    else:
        _check_control(item, _CONTROL, "")
    return item


def _check_pn(item, vr):
    item = _str_item(item, vr)
    _check_control(item, _CONTROL_BUT_TAB, "TAB")
    groups = item.split("=")
    if len(groups) > 3:
        raise _Refused(f"{item!r} has {len(groups)} component groups, more than 3")
    for group in groups:
        if len(group) > 64:
            raise _Refused(f"component group {group!r} is {len(group)} characters long, more than 64")
        if group.count("^") > 4:
            raise _Refused(f"component group {group!r} has more than 5 components")
    while groups and not groups[-1]:  # 'A^B==' is 'A^B', as pydicom writes and reads it
        groups.pop()
    return "=".join(groups)


def _check_date_time(item, vr):
    if not isinstance(item, str):
        item = _format_date_time(item, vr)
        return item
    item = _str_item(item, vr)
    if not item:
        return item
    found = _DATE_TIME[vr].fullmatch(item)
    what = {"DA": "a date YYYYMMDD", "TM": "a time HHMMSS.FFFFFF",
            "DT": "a date-time YYYYMMDDHHMMSS.FFFFFF&ZZXX"}[vr]
    if found is None:
        raise _Refused(f"{item!r} is not {what} (or a range of them)")
    ends = [v for v in found.groupdict().values() if v]
    limit = MAX_CHARACTERS[vr] if len(ends) == 1 and found["a"] else _MAX_RANGE[vr]
    if len(item) > limit:
        raise _Refused(f"{item!r} is {len(item)} characters long, more than the {limit} of {vr}")
    if vr != "TM":
        for end in ends:
            _check_calendar(end, item)
    return item


def _check_calendar(text, item):
    if len(text) >= 8:
        try:
            datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            raise _Refused(f"{item!r} is not a date of the calendar") from None


def _format_date_time(item, vr):
    if vr == "DA":
        if not isinstance(item, datetime.date):
            raise _Refused(f"a DA value is a str or a datetime.date, not a {_kind(item)}")
        return f"{item.year:04d}{item.month:02d}{item.day:02d}"
    if vr == "TM":
        if not isinstance(item, datetime.time):
            raise _Refused(f"a TM value is a str or a datetime.time, not a {_kind(item)}")
        if item.tzinfo is not None:
            raise _Refused(f"{item!r} has a time zone, which TM cannot hold (use DT)")
        return _format_time(item)
    if not isinstance(item, datetime.date):
        raise _Refused(f"a DT value is a str or a datetime.datetime, not a {_kind(item)}")
    text = f"{item.year:04d}{item.month:02d}{item.day:02d}"
    if not isinstance(item, datetime.datetime):
        return text
    text += _format_time(item)
    offset = item.utcoffset()
    if offset is not None:
        minutes, rest = divmod(offset, datetime.timedelta(minutes=1))
        if rest or not -12 * 60 <= minutes <= 14 * 60:
            raise _Refused(f"the UTC offset {offset} of {item!r} is not whole minutes between -12:00 "
                           "and +14:00")
        sign = "-" if minutes < 0 else "+"
        text += f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return text


def _format_time(item):
    text = f"{item.hour:02d}{item.minute:02d}{item.second:02d}"
    return f"{text}.{item.microsecond:06d}" if item.microsecond else text


_CHECKS = {
    "AE": _check_ae, "AS": _check_as, "CS": _check_cs, "UI": _check_ui, "UR": _check_ur,
    "DA": _check_date_time, "DT": _check_date_time, "TM": _check_date_time, "PN": _check_pn,
    "LO": _check_text, "SH": _check_text, "UC": _check_text, "LT": _check_text, "ST": _check_text,
    "UT": _check_text,
}


# ---------------------------------------------------------------------------------------------
# DS and IS

def format_number_as_ds(value):
    """The decimal string of at most 16 characters closest to the float ``value``.

    Python's shortest round-trip form when it fits; else the closer of the longest fixed-point
    and scientific forms that fit, with trailing zeros removed (``0.1 + 0.2`` is ``'0.3'``).
    Raises ``ValueError`` for NaN and the infinities, which DS cannot hold.
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not finite: a DS holds only finite numbers")
    text = repr(value)
    if len(text) <= 16:
        return text
    candidates = []
    for digits in range(15, -1, -1):  # scientific: d.ddd...e-XX, exponent without padding
        mantissa, _, exponent = f"{value:.{digits}e}".partition("e")
        candidate = f"{_trim(mantissa)}e{int(exponent)}"
        if len(candidate) <= 16 and math.isfinite(float(candidate)):  # rounding up may overflow
            candidates.append(candidate)
            break
    for decimals in range(16, -1, -1):  # fixed point
        candidate = _trim(f"{value:.{decimals}f}")
        if len(candidate) <= 16:
            candidates.append(candidate)
            break
    return min(candidates, key=lambda c: (abs(float(c) - value), len(c)))


def _trim(text):
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _number_strings(value, vr):
    if _is_empty(value):
        return b""
    items = _items(value, vr, (numbers.Number, Decimal))
    form = _ds_item if vr == "DS" else _is_item
    texts = []
    for i, item in enumerate(items):
        try:
            texts.append(form(item))
        except _Refused as exc:
            raise _Refused(f"{_nth(i, items)}{exc}") from None
    data = "\\".join(texts).encode("ascii")
    return data + b" " if len(data) % 2 else data


def _ds_item(item):
    if isinstance(item, str):
        if "\\" in item:
            raise _Refused(f"{item!r} holds a backslash, the delimiter of values")
        if item.strip(" "):
            _check_pattern(item, "DS", _DS, "a decimal string")
            if len(item) > 16:
                raise _Refused(f"{item!r} is {len(item)} characters long, more than the 16 of DS")
        return item
    if isinstance(item, bool) or not isinstance(item, (numbers.Real, Decimal)):
        raise _Refused(f"a DS value is a number or a str, not a {_kind(item)}")
    if isinstance(item, (int, Decimal)) and not isinstance(item, float):
        text = str(item)
        if len(text) <= 16 and _DS.fullmatch(text):
            return text
    try:
        return format_number_as_ds(item)
    except (ValueError, OverflowError, InvalidOperation) as exc:
        raise _Refused(str(exc) if isinstance(exc, ValueError) else f"{item!r} is not a finite float") from None


def _is_item(item):
    if isinstance(item, str):
        if not item.strip(" "):
            return item
        _check_pattern(item, "IS", _IS, "an integer string")
        if len(item) > 12:
            raise _Refused(f"{item!r} is {len(item)} characters long, more than the 12 of IS")
        number = int(item)
    elif isinstance(item, bool):
        raise _Refused("a bool is not an IS value")
    elif isinstance(item, numbers.Integral):
        number = int(item)
    elif isinstance(item, (numbers.Real, Decimal)):
        if not (math.isfinite(item) and item == int(item)):
            raise _Refused(f"{item!r} is not an integer")
        number = int(item)
    else:
        raise _Refused(f"an IS value is an int or a str, not a {_kind(item)}")
    if not _IS_MIN <= number <= _IS_MAX:
        raise _Refused(f"{number} is outside the range of IS, -2**31 to 2**31 - 1")
    return item if isinstance(item, str) else str(number)


# ---------------------------------------------------------------------------------------------
# Binary numbers, AT, O* VRs

def _binary_numbers(value, vr, big_endian):
    if _is_empty(value):
        return b""
    floats = vr in _FLOATS
    code = _FLOATS[vr] if floats else _INTEGERS[vr][0]
    size = struct.calcsize(code)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = memoryview(value).tobytes()
        if len(data) % size:
            raise _Refused(f"{len(data)} bytes are not a whole number of {size}-byte values")
        return data
    order = ">" if big_endian else "<"
    if _is_array(value) and value.dtype.kind != "O":
        return _array_numbers(value, vr, order + _NUMPY_TYPES[vr])
    items = _items(value, vr, (numbers.Number,))
    if floats:
        items = [_float(item) for item in items]
    else:
        if not all(type(item) is int for item in items):
            items = [_integer(item, vr) for item in items]
        _, low, high = _INTEGERS[vr]
        if min(items) < low or max(items) > high:
            bad = next(item for item in items if not low <= item <= high)
            raise _Refused(f"{bad} is outside the range of {vr}, {low} to {high}")
    try:
        return struct.pack(f"{order}{len(items)}{code}", *items)
    except OverflowError:
        bad = next(item for item in items if math.isfinite(item) and abs(item) > 3.4028234663852886e38)
        raise _Refused(f"{bad!r} is too large for a 32-bit float") from None


def _float(item):
    if isinstance(item, bool) or not isinstance(item, numbers.Real):
        raise _Refused(f"a float value is a number, not a {_kind(item)}")
    return float(item)


def _integer(item, vr):
    if isinstance(item, bool):
        raise _Refused(f"a bool is not a {vr} value")
    try:
        return operator.index(item)
    except TypeError:
        raise _Refused(f"an {vr} value is an int, not a {_kind(item)} ({item!r})") from None


def _array_numbers(array, vr, dtype):
    kind = array.dtype.kind
    if vr in _FLOATS:
        if kind not in "iuf":
            raise _Refused(f"an array of dtype {array.dtype} is not numbers for {vr}")
        with sys.modules["numpy"].errstate(over="ignore", invalid="ignore"):  # overflow checked below
            out = array.astype(dtype)
        infinite = float("inf")
        if vr == "FL" and ((abs(out) == infinite) & (abs(array) != infinite)).any():
            raise _Refused("the array holds values too large for 32-bit floats")
        return out.tobytes()
    if kind not in "iu":
        raise _Refused(f"an array of dtype {array.dtype} is not integers for {vr}")
    _, low, high = _INTEGERS[vr]
    if array.size and (int(array.min()) < low or int(array.max()) > high):
        raise _Refused(f"the array holds values outside the range of {vr}, {low} to {high}")
    return array.astype(dtype).tobytes()


def _tags(value, big_endian):
    if _is_empty(value):
        return b""
    items = value if isinstance(value, list) else list(value.tolist()) if _is_array(value) else [value]
    values = []
    for item in items:
        if isinstance(item, bool):
            raise _Refused("a bool is not a tag")
        try:
            values.append(tags.to_tag(item))
        except (TypeError, ValueError) as exc:
            hint = ("; several tags are a list, a tuple is one (group, element) pair"
                    if isinstance(item, tuple) else "")
            raise _Refused(f"{item!r} is not a tag: {exc}{hint}") from None
    order = ">" if big_endian else "<"
    pairs = [part for tag in values for part in (tag >> 16, tag & 0xFFFF)]
    return struct.pack(f"{order}{len(pairs)}H", *pairs)


def _other(value, vr, big_endian):
    if value is None:
        return b""
    word = _WORD[vr]
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = memoryview(value).tobytes()
    elif _is_array(value):
        itemsize = value.dtype.itemsize
        if value.dtype.kind in "OUMm":
            raise _Refused(f"an array of dtype {value.dtype} is not binary data")
        if vr in _WORD_KINDS and itemsize != 1 and (
            itemsize != word or value.dtype.kind not in _WORD_KINDS[vr]
        ):
            raise _Refused(f"an array of dtype {value.dtype} is not {vr} data (items of {word} bytes "
                           "of the VR's kind, or bytes)")
        if value.dtype.kind not in "biuf" or itemsize == 1:
            data = value.tobytes()
        else:
            data = value.astype(value.dtype.newbyteorder(">" if big_endian else "<")).tobytes()
    else:
        raise _Refused(f"a {vr} value is bytes or a NumPy array, not a {_kind(value)}")
    if len(data) % word:
        raise _Refused(f"{len(data)} bytes are not a whole number of {word}-byte values")
    return data + b"\x00" if len(data) % 2 else data
