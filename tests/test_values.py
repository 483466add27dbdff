"""dicomfast.core._values against pydicom's value converters, VR by VR.

The reference is pydicom 3 with its default settings: a RawDataElement turned into a DataElement
by ``pydicom.dataelem.convert_raw_data_element``, its value made plain (MultiValue -> list,
PersonName/UID -> str, DSfloat -> float, IS -> int, BaseTag -> int). Where pydicom raises, we
must raise InvalidValueError; garbage must never raise anything else.
"""

import array
import math
import os
import re
import struct
import warnings

import pydicom
import pydicom.multival
import pydicom.valuerep
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataelem import RawDataElement, convert_raw_data_element
from pydicom.errors import BytesLengthException
from pydicom.tag import Tag

from dicomfast import charset
from dicomfast.core import _values
from dicomfast.errors import InvalidValueError
from reference import normalise

ALL_VRS = ("AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI "
           "UL UN UR US UT UV").split()
NUMBER_FORMATS = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d", "UV": "Q",
                  "SV": "q"}
BYTES_VRS = ["OB", "OD", "OF", "OL", "OV", "OW", "UN"]
TEXT_VRS = ["AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR",
            "UT"]
ENCODINGS = [None, ["iso8859"], ["latin_1"], ["UTF8"], ["GB18030"], ["GBK"], ["iso_ir_126"],
             ["shift_jis", "iso2022_jp"], ["iso8859", "iso2022_jp", "euc_kr"],
             ["iso8859", "iso_ir_126"], ["iso8859", "iso_ir_58"]]


# ---------------------------------------------------------------------------------------------
# The reference and the comparison

_plain = normalise  # pydicom's value as the plain Python types dicomfast returns


def reference(vr, raw, big_endian=False, encodings=None):
    """('value', plain value) or ('error', exception type) from pydicom."""
    elem = RawDataElement(Tag(0x00091010), vr, len(raw), raw, 0, False, not big_endian)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "value", _plain(convert_raw_data_element(elem, encoding=encodings).value)
        except (BytesLengthException, OverflowError) as exc:
            return "error", type(exc)


def ours(vr, raw, big_endian=False, encodings=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "value", _values.decode(raw, vr, big_endian, encodings)
        except InvalidValueError as exc:
            return "error", exc


def same(a, b):
    """Equal values of the same types; NaN equals NaN, and -0.0 differs from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


def check(vr, raw, big_endian=False, encodings=None):
    kind, expected = reference(vr, raw, big_endian, encodings)
    our_kind, got = ours(vr, raw, big_endian, encodings)
    context = f"{vr} {raw!r} big_endian={big_endian} encodings={encodings}"
    assert our_kind == kind, f"{context}: pydicom {kind} {expected!r}, dicomfast {got!r}"
    if kind == "value":
        assert same(got, expected), f"{context}: pydicom {expected!r}, dicomfast {got!r}"


# ---------------------------------------------------------------------------------------------
# Strategies

SPECIAL = [b" ", b"  ", b"\x00", b"\\", b"=", b"^", b"\t", b"\r\n", b"\x0b", b"\x0c", b"\x1c",
           b"\x1f", b"\x85", b"\xa0", b"\x1b", b"\x1b-A", b"\x1b$B", b"\x1b(B", b"\x1b$)C"]
WORDS = [b"ABC", b"Doe^John", b"1.2.840.10008", b"20240131", b"120000.5", b"O", b"\xe9",
         b"\xc3\xa9", b"\xcd\xf5", b";3ED", b"http://x/y z"]
NUMBER_TOKENS = [b"0", b"1", b"-2", b"+3", b"1.0", b"1.5", b"-0", b"-0.0", b".5", b"5.", b".",
                 b"1e3", b"1E-2", b"2.5e+10", b"1e400", b"-1e400", b"inf", b"-Infinity", b"nan",
                 b"NaN", b"1_0", b"0x10", b"0x1p3", b"e", b"-", b"+", b"abc", b"123456789012345",
                 b"1234567890123456", b"99999999999999999999", b"007", b"1 2", b"\xb2"]

text_bytes = st.lists(
    st.one_of(st.sampled_from(SPECIAL), st.sampled_from(WORDS), st.binary(max_size=3)),
    max_size=8).map(b"".join)
number_bytes = st.lists(
    st.one_of(
        st.sampled_from(NUMBER_TOKENS),
        st.sampled_from([b" ", b"\\", b"\x00", b"\t", b"\xa0", b"\x85", b"  "]),
        st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).encode()),
        st.integers(-(2**70), 2**70).map(lambda i: str(i).encode()),
        st.binary(max_size=2),
    ),
    max_size=7).map(b"".join)
encodings_st = st.sampled_from(ENCODINGS)
SLOW = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------
# Every VR against pydicom

@pytest.mark.parametrize("vr", [vr for vr in ALL_VRS if vr != "SQ"])
def test_empty_value(vr):
    check(vr, b"")


@pytest.mark.parametrize("vr", sorted(NUMBER_FORMATS))
@SLOW
@given(raw=st.binary(max_size=40), big_endian=st.booleans())
def test_numbers_match_pydicom(vr, raw, big_endian):
    check(vr, raw, big_endian)


@pytest.mark.parametrize("vr", sorted(NUMBER_FORMATS))
@pytest.mark.parametrize("big_endian", [False, True])
def test_numbers_match_struct(vr, big_endian):
    fmt = NUMBER_FORMATS[vr]
    size = struct.calcsize("<" + fmt)
    raw = bytes((i * 37 + 11) & 0xFF for i in range(size * 9))
    order = ">" if big_endian else "<"
    assert _values.decode(raw, vr, big_endian) == list(struct.unpack(f"{order}9{fmt}", raw))
    single = _values.decode(raw[:size], vr, big_endian)
    assert single == struct.unpack(f"{order}{fmt}", raw[:size])[0]
    assert type(single) is (float if fmt in "fd" else int)


@pytest.mark.parametrize("big_endian", [False, True])
def test_long_lut(big_endian):
    lut = [(i * 7919) & 0xFFFF for i in range(4096)]
    raw = struct.pack((">" if big_endian else "<") + "4096H", *lut)
    assert _values.decode(raw, "US", big_endian) == lut
    check("US", raw, big_endian)


@pytest.mark.parametrize("vr", BYTES_VRS)
@settings(max_examples=50, deadline=None)
@given(raw=st.binary(max_size=20), big_endian=st.booleans())
def test_bytes_vrs_match_pydicom(vr, raw, big_endian):
    check(vr, raw, big_endian)
    if raw:
        value = _values.decode(raw, vr, big_endian)
        assert type(value) is bytes and value == raw  # never byteswapped


@SLOW
@given(raw=st.binary(max_size=13), big_endian=st.booleans())
def test_at_matches_pydicom(raw, big_endian):
    check("AT", raw, big_endian)


@pytest.mark.parametrize("n", range(10))
def test_at_lengths(n):
    for big_endian in (False, True):
        check("AT", bytes(range(1, n + 1)), big_endian)


@pytest.mark.parametrize("vr", TEXT_VRS)
@SLOW
@given(raw=text_bytes, encodings=encodings_st)
def test_text_matches_pydicom(vr, raw, encodings):
    check(vr, raw, False, encodings)


@pytest.mark.parametrize("vr", ["DS", "IS"])
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=number_bytes, encodings=encodings_st)
def test_ds_is_match_pydicom(vr, raw, encodings):
    check(vr, raw, False, encodings)


@pytest.mark.parametrize("vr", ["DS", "IS"])
@pytest.mark.parametrize("raw", NUMBER_TOKENS + [
    b" 1.5 \\ 2 ", b"1\\\\2", b"\\", b"  \\  ", b"1\t", b"1\\\t", b"\t1\\2\t\x00 ", b"\x001",
    b"5\x00", b"\x00\x00", b"  ", b"1.5\\abc", b" abc \\ 1", b"1\\inf", b"1e5\\\\",
    b"\x1c1.0\x1f", b"\xa012", b"\x8512\x85", b"1" * 63, b"1" * 64, b"1" * 5000, b"9" * 400,
])
def test_ds_is_cases(vr, raw):
    check(vr, raw)


@pytest.mark.parametrize("vr,raw,expected", [
    ("DS", b"1.5", 1.5),
    ("DS", b" 1.5 \\ 2 ", [1.5, 2.0]),
    ("DS", b"  ", ""),
    ("DS", b"1.5\\abc", ["1.5", "abc"]),   # not a number: kept as text, as pydicom does
    ("IS", b"1.0", 1),
    ("IS", b"1.5", 1.5),                  # pydicom's ISfloat
    ("IS", b" 12\\\\3 ", [12, "", 3]),
    ("IS", b"x", "x"),
    ("PN", b"Doe^John==", "Doe^John"),
    ("UI", b"1.2.3\x00", "1.2.3"),
    ("AE", b" A \\ B ", ["A", "B"]),
    ("LT", b" a\\b  \x00", " a\\b"),
    ("AT", b"\x10\x00\x20\x00", 0x00100020),
])
def test_documented_examples(vr, raw, expected):
    value = _values.decode(raw, vr)
    assert same(value, expected)
    check(vr, raw)


@pytest.mark.parametrize("raw", [b"inf", b"-inf", b"1e400", b"1\\inf"])
def test_infinite_is_raises(raw):
    # pydicom raises OverflowError; we raise our own error type.
    assert reference("IS", raw)[0] == "error"
    with pytest.raises(InvalidValueError):
        _values.decode(raw, "IS")


def test_wrong_length_raises():
    assert reference("US", b"\x01\x00\x02") == ("error", BytesLengthException)
    with pytest.raises(InvalidValueError, match="multiple"):
        _values.decode(b"\x01\x00\x02", "US")


# ---------------------------------------------------------------------------------------------
# Robustness and the Python wrapper

vr_names = st.one_of(st.sampled_from(ALL_VRS), st.text(min_size=0, max_size=3))


@settings(max_examples=3000, deadline=None)
@given(raw=st.binary(max_size=64), vr=vr_names, big_endian=st.booleans(),
       encodings=encodings_st)
def test_garbage_raises_only_invalid_value_error(raw, vr, big_endian, encodings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _values.decode(raw, vr, big_endian, encodings)
        except InvalidValueError:
            pass


@pytest.mark.parametrize("vr", ["SQ", "XX", "us", "U", "USS", "\u00e9\u00e9"])
def test_sq_and_unknown_vrs_raise(vr):
    with pytest.raises(InvalidValueError):
        _values.decode(b"\x00\x00", vr)


def test_buffer_types():
    raw = struct.pack("<3H", 1, 2, 3)
    expected = [1, 2, 3]
    assert _values.decode(raw, "US") == expected
    assert _values.decode(bytearray(raw), "US") == expected
    assert _values.decode(memoryview(raw), "US") == expected          # read-only
    assert _values.decode(memoryview(b"xx" + raw)[2:], "US") == expected
    assert _values.decode(array.array("H", [1, 2, 3]), "US") == expected
    assert _values.decode(memoryview(b""), "US") is None
    with pytest.raises(TypeError):
        _values.decode(memoryview(raw)[::2], "US")                     # not contiguous


def test_encodings_may_be_one_name():
    assert _values.decode(b"\xc3\xa9", "LO", encodings="UTF8") == "\xe9"


def test_vr_codes_in_pxd():
    # The scanner shares the constants: each must be the packed name.
    path = os.path.join(os.path.dirname(_values.__file__), "_values.pxd")
    with open(path) as f:
        codes = dict(re.findall(r"^\s+VR_([A-Z]{2}) = (0x[0-9A-F]{4})$", f.read(), re.M))
    assert sorted(codes) == sorted(ALL_VRS)
    for name, code in codes.items():
        assert int(code, 16) == _values.pack_vr(name) == ord(name[0]) | (ord(name[1]) << 8)


def test_charset_dependent_vrs_follow_encodings():
    raw = "Müller^Jürgen".encode("latin_1")
    assert _values.decode(raw, "PN", encodings=["latin_1"]) == "Müller^Jürgen"
    # CS is never charset-dependent: Latin-1 whatever the dataset says.
    assert _values.decode("é".encode("utf-8"), "CS", encodings=["UTF8"]) == "Ã©"
    with pytest.warns(UserWarning):
        assert _values.decode(b"\xff", "LO", encodings=["UTF8"]) == "\ufffd"
    assert charset.CHARSET_VRS == {"SH", "LO", "ST", "LT", "UC", "UT", "PN"}
