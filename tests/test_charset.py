"""dicomfast.charset against pydicom.charset, and text values of pydicom's charset test files.

pydicom is the reference: every result here is compared with what pydicom 3 gives, never with a
hand-written expectation (except where a test says why).
"""

import glob
import os
import warnings

import pydicom
import pydicom.charset
import pydicom.multival
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataelem import RawDataElement, convert_raw_data_element
from pydicom.filereader import _read_file_meta_info, data_element_generator, read_preamble
from pydicom.tag import Tag
from pydicom.valuerep import PN_DELIMS, TEXT_VR_DELIMS

from dicomfast import charset
from dicomfast.core import _values
from reference import normalise

CHARSET_DIR = os.path.join(os.path.dirname(pydicom.__file__), "data", "charset_files")
CHARSET_FILES = sorted(glob.glob(os.path.join(CHARSET_DIR, "*.dcm")))

TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC",
            "UI", "UR", "UT"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    """python_encodings warns once per distinct value: start each test with an empty cache."""
    charset._cache.clear()
    yield
    charset._cache.clear()


_plain = normalise  # pydicom's value as the plain Python types dicomfast returns


def _pydicom_calls(func, *args):
    """Call a pydicom function; return (result or exception type, warned?)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = func(*args)
        except Exception as exc:  # noqa: BLE001 - the reference's exception is the result
            result = type(exc)
    return result, bool(caught)


def _our_calls(func, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = func(*args)
    return result, bool(caught)


# ---------------------------------------------------------------------------------------------
# The charset test files: every element, decoded from its raw bytes, equals pydicom's value.

def _top_level_raw_elements(path):
    with open(path, "rb") as fp:
        read_preamble(fp, False)
        meta = _read_file_meta_info(fp)
        syntax = pydicom.uid.UID(meta.TransferSyntaxUID)
        return {
            raw.tag: raw
            for raw in data_element_generator(fp, syntax.is_implicit_VR, syntax.is_little_endian)
        }


def _compare_dataset(ds, raws, parent_encodings, where, results):
    encodings = parent_encodings
    if 0x00080005 in ds and ds[0x00080005].value:
        encodings = charset.python_encodings(ds[0x00080005].value)
    reference = ds._character_set
    assert encodings == ([reference] if isinstance(reference, str) else list(reference)), where
    for tag, raw in raws.items():
        elem = ds[tag]
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                _compare_dataset(item, dict(item._dict), encodings, f"{where} {tag}[{i}]", results)
            continue
        assert isinstance(raw, RawDataElement)
        ours = _values.decode(raw.value or b"", elem.VR, not raw.is_little_endian, encodings)
        results.append((f"{where} {tag} {elem.VR}", elem.VR, _plain(elem.value), ours))


@pytest.mark.parametrize("path", CHARSET_FILES, ids=os.path.basename)
def test_charset_file_matches_pydicom(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        results = []
        _compare_dataset(ds, _top_level_raw_elements(path), ["iso8859"],
                         os.path.basename(path), results)
    text = [r for r in results if r[1] in TEXT_VRS]
    assert text, "no text elements found"
    for where, _, expected, ours in results:
        assert ours == expected, where
        assert type(ours) is type(expected), where


def test_charset_files_present():
    # The corpus is pydicom's own: if it moves, the test above must not pass vacuously.
    assert len(CHARSET_FILES) >= 17


# ---------------------------------------------------------------------------------------------
# python_encodings

DEFINED_TERMS = sorted(k for k in pydicom.charset.python_encoding)
TERMS = DEFINED_TERMS + [
    "ISO IR 100", "ISO-IR 192", "ISO_IR_100", "ISO-IR 999", "ISO 2022-IR 87", "ISO_2022_IR_149",
    "ISO 2022_IR 999", "ISO 2022 IR 999", "utf-8", "latin1", "cp1252", "nonsense", "ISO_IR 100 ",
    "ISO\nIR 100", "ISO\n2022 IR 87", "ISO\x00IR", "a\x00b",
]


@pytest.mark.parametrize("term", TERMS)
def test_single_term_matches_pydicom(term):
    expected, expected_warned = _pydicom_calls(pydicom.charset.convert_encodings, term)
    ours, warned = _our_calls(charset.python_encodings, term)
    if expected is ValueError:  # pydicom lets codecs.lookup's ValueError escape
        assert ours == ["iso8859"] and warned
        return
    assert ours == expected
    assert warned == expected_warned


@pytest.mark.parametrize("value", [
    None, "", [], [""], ["", "ISO 2022 IR 87"], ["ISO 2022 IR 13", "ISO 2022 IR 87"],
    ["ISO 2022 IR 6", "ISO 2022 IR 159", "ISO 2022 IR 87"], ["", "ISO 2022 IR 149"],
    ["ISO_IR 192", "ISO 2022 IR 87"], ["GBK", "ISO 2022 IR 58"],
    ["ISO 2022 IR 100", "ISO_IR 192", "ISO 2022 IR 126", "GB18030"],
    ["ISO 2022 IR 6", "ISO 2022 IR 58"], ["ISO IR 100", "nonsense"], ("ISO_IR 100",),
])
def test_term_lists_match_pydicom(value):
    expected, expected_warned = _pydicom_calls(
        pydicom.charset.convert_encodings, list(value) if isinstance(value, tuple) else value)
    ours, warned = _our_calls(charset.python_encodings, value)
    assert ours == expected
    assert warned == expected_warned


def test_python_encodings_warns_once_and_returns_copies():
    with pytest.warns(UserWarning):
        first = charset.python_encodings("ISO IR 100")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = charset.python_encodings("ISO IR 100")
    assert first == second == ["latin_1"]
    first.append("x")
    assert charset.python_encodings("ISO IR 100") == ["latin_1"]


def test_python_encodings_no_warning_for_valid_terms():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for term in DEFINED_TERMS:
            charset.python_encodings(term)
        charset.python_encodings(["", "ISO 2022 IR 87", "ISO 2022 IR 159"])


# ---------------------------------------------------------------------------------------------
# decode_bytes against pydicom.charset.decode_bytes

ESCAPES = [b"\x1b(B", b"\x1b-A", b"\x1b)I", b"\x1b(J", b"\x1b$B", b"\x1b-B", b"\x1b-C", b"\x1b-D",
           b"\x1b-F", b"\x1b-G", b"\x1b-H", b"\x1b-L", b"\x1b-M", b"\x1b-T", b"\x1b$)C",
           b"\x1b$(D", b"\x1b$)A", b"\x1b$(Z", b"\x1b", b"\x1b$", b"\x1b-"]
FIRST = ["iso8859", "latin_1", "shift_jis", "UTF8", "GB18030", "GBK", "GB2312", "iso8859_2",
         "iso_ir_126", "iso_ir_127", "iso_ir_138", "iso_ir_144", "iso_ir_148", "iso_ir_166",
         "euc_kr", "iso2022_jp"]
EXTENSIONS = ["latin_1", "shift_jis", "iso2022_jp", "iso2022_jp_2", "euc_kr", "iso_ir_58",
              "iso8859_2", "iso_ir_126", "iso_ir_144", "iso_ir_166"]

chunks = st.one_of(
    st.sampled_from(ESCAPES),
    st.binary(max_size=6),
    st.sampled_from([b"^", b"=", b"\\", b"\r\n", b"\t", b"\x0c", b" ", b"\x00", b"Yamada",
                     b";3ED", b"$d$^$@", b"\xd4\xcf\xc0\xde", b"\xfb\xf3", b"\xc8\xab",
                     b"\xe7\x8e\x8b", b"\xcd\xf5", b"\xd6\xd0\xb9\xfa"]),
)
byte_values = st.lists(chunks, max_size=10).map(b"".join)
encoding_lists = st.builds(
    lambda first, rest: [first] + rest,
    st.sampled_from(FIRST),
    st.lists(st.sampled_from(EXTENSIONS), max_size=3, unique=True),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=byte_values, encodings=encoding_lists,
       delimiters=st.sampled_from([TEXT_VR_DELIMS, PN_DELIMS, set()]))
def test_decode_bytes_matches_pydicom(raw, encodings, delimiters):
    expected, expected_warned = _pydicom_calls(
        pydicom.charset.decode_bytes, raw, encodings, delimiters)
    ours, warned = _our_calls(charset.decode_bytes, raw, encodings, frozenset(delimiters))
    assert ours == expected
    assert warned == expected_warned


@pytest.mark.parametrize("raw,encodings", [
    (b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
     ["iso8859", "iso2022_jp"]),
    (b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J", ["shift_jis", "iso2022_jp"]),
    (b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7", ["iso8859", "euc_kr"]),
    (b"Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1=", ["UTF8"]),
    (b"Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", ["GB18030"]),
    (b"abc\x1b$)A\xd6\xd0\xb9\xfa^\x1b(Bx", ["iso8859", "iso_ir_58"]),
    (b"\x1b-F\xc1\r\xc1", ["iso8859", "iso_ir_126"]),
    (b"caf\xe9", ["UTF8"]),
    (b"abc", ["no-such-codec"]),
])
def test_decode_bytes_known_values(raw, encodings):
    expected, expected_warned = _pydicom_calls(
        pydicom.charset.decode_bytes, raw, encodings, TEXT_VR_DELIMS)
    ours, warned = _our_calls(charset.decode_bytes, raw, encodings, TEXT_VR_DELIMS)
    assert ours == expected
    assert warned == expected_warned


# ---------------------------------------------------------------------------------------------
# decode_text: the delimiters pydicom's reader uses, per VR

def _reader_value(vr, raw, encodings):
    elem = RawDataElement(Tag(0x00091010), vr, len(raw), raw, 0, False, True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _plain(convert_raw_data_element(elem, encoding=encodings).value)


def test_pn_uses_text_delimiters_like_pydicom_reader():
    # After '^' pydicom's reader stays in the escaped character set (Greek here): '^' is not a
    # delimiter for PN in pydicom.values.convert_PN, whatever PS3.5 6.1.2.5.3 suggests.
    raw, encodings = b"\x1b-F\xc1^\xc1", ["iso8859", "iso_ir_126"]
    assert _reader_value("PN", raw, encodings) == "\u0391^\u0391"
    assert charset.decode_text(raw, "PN", encodings) == "\u0391^\u0391"
    # A control character does end the extension: the first encoding (Latin-1) is back.
    raw = b"\x1b-F\xc1\r\xc1"
    assert charset.decode_text(raw, "LO", encodings) == _reader_value("LO", raw, encodings)
    assert charset.decode_text(raw, "LO", encodings) == "\u0391\r\xc1"


@pytest.mark.filterwarnings("ignore:Found unknown escape sequence")
@pytest.mark.parametrize("vr", sorted(TEXT_VRS - {"DS", "IS"}))
def test_decode_text_default_vrs_are_latin1(vr):
    raw = bytes(range(1, 256))
    text = charset.decode_text(raw, vr, ["UTF8"])
    if vr in charset.CHARSET_VRS:
        assert text == charset.decode_bytes(raw if vr != "PN" else raw.rstrip(b"\x00 "),
                                            ["UTF8"], TEXT_VR_DELIMS)
    else:
        assert text == raw.decode("latin_1")


def test_decode_text_pn_strips_bytes_before_decoding():
    # The padding of a JIS value would otherwise be read as part of a two-byte character.
    raw = b"\x1b$B;3ED\x1b(B  \x00"
    assert charset.decode_text(raw, "PN", ["iso8859", "iso2022_jp"]) == _reader_value(
        "PN", raw, ["iso8859", "iso2022_jp"])
