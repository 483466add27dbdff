"""Text decoding by (0008,0005) *Specific Character Set*.

Only the values of SH, LO, ST, LT, UC, UT and PN depend on the character set (PS3.5 6.1.2.3);
every other text VR uses the default repertoire, which is decoded as Latin-1 here (the default
repertoire is ASCII, and Latin-1 decodes any byte, so a stray high byte is kept, not lost).

The results are the ones pydicom 3 gives with its default settings, on purpose:

* :func:`python_encodings` maps the defined terms to the same Python codec names as
  ``pydicom.charset.convert_encodings``. A misspelled term with a known correction
  (``"ISO IR 100"``, ``"ISO_2022_IR_87"``) is corrected with a warning; a term that is already a
  Python codec name is used as is; any other term falls back to the default repertoire with a
  warning. A stand-alone term (``ISO_IR 192``, ``GB18030``, ``GBK``) in a multi-valued set drops
  the code extensions it cannot take, with a warning. Results are cached, so each distinct value
  of the attribute warns once per process, not once per file.
* :func:`decode_bytes` handles ISO 2022 code extensions (PS3.5 6.1.2.5): the value is cut at each
  ESC; a piece whose escape sequence names one of the dataset's encodings is decoded with it, and
  a delimiter inside a single-byte piece returns to the first encoding. Bytes that the encoding
  cannot decode become U+FFFD, with a warning: a value is never lost to an exception.
* :func:`decode_text` picks the delimiters by VR. pydicom's reader uses the same delimiters for
  every text VR, PN included: CR, LF, TAB and FF (``^`` and ``=`` reset the character set only
  when pydicom decodes a ``PersonName`` built from bytes, which its reader never does), so we do
  the same.

* :func:`encode_text` is the reverse of :func:`decode_text`: str to bytes by VR, with the escape
  sequences that the code extensions need (see its docstring for the rules), so that both this
  module's decoder and pydicom's read the text back.

Known quirk kept for compatibility: for ISO 2022 IR 58 (GB2312), the escape sequence ``ESC $ ) A``
stays in the decoded text, as it does in pydicom.
"""

import codecs
import warnings

__all__ = [
    "DEFAULT_ENCODING",
    "CHARSET_VRS",
    "TEXT_DELIMITERS",
    "python_encodings",
    "decode_bytes",
    "decode_text",
    "encode_text",
]

#: Python codec used for the default character repertoire (ISO-IR 6). It is Latin-1 under
#: pydicom's name for it, kept so that encoding lists compare equal with pydicom's.
DEFAULT_ENCODING = "iso8859"

#: The VRs whose values are decoded with the Specific Character Set.
CHARSET_VRS = frozenset({"SH", "LO", "ST", "LT", "UC", "UT", "PN"})

#: Control characters that end a code extension in text values (PS3.5 6.1.2.5.3).
TEXT_DELIMITERS = frozenset({0x09, 0x0A, 0x0C, 0x0D})

_ESC = 0x1B

# Defined terms of (0008,0005) (PS3.3 C.12.1.1.2) -> Python codec names (the names pydicom uses,
# so that lists of encodings are interchangeable with pydicom's).
_TERM_TO_CODEC = {
    "": DEFAULT_ENCODING,
    "ISO_IR 6": DEFAULT_ENCODING,
    "ISO 2022 IR 6": DEFAULT_ENCODING,
    # single-byte, without and with code extensions
    "ISO_IR 13": "shift_jis",
    "ISO 2022 IR 13": "shift_jis",
    "ISO_IR 100": "latin_1",
    "ISO 2022 IR 100": "latin_1",
    "ISO_IR 101": "iso8859_2",
    "ISO 2022 IR 101": "iso8859_2",
    "ISO_IR 109": "iso8859_3",
    "ISO 2022 IR 109": "iso8859_3",
    "ISO_IR 110": "iso8859_4",
    "ISO 2022 IR 110": "iso8859_4",
    "ISO_IR 126": "iso_ir_126",
    "ISO 2022 IR 126": "iso_ir_126",
    "ISO_IR 127": "iso_ir_127",
    "ISO 2022 IR 127": "iso_ir_127",
    "ISO_IR 138": "iso_ir_138",
    "ISO 2022 IR 138": "iso_ir_138",
    "ISO_IR 144": "iso_ir_144",
    "ISO 2022 IR 144": "iso_ir_144",
    "ISO_IR 148": "iso_ir_148",
    "ISO 2022 IR 148": "iso_ir_148",
    "ISO_IR 166": "iso_ir_166",
    "ISO 2022 IR 166": "iso_ir_166",
    # multi-byte with code extensions
    "ISO 2022 IR 87": "iso2022_jp",
    "ISO 2022 IR 159": "iso2022_jp_2",
    "ISO 2022 IR 149": "euc_kr",
    "ISO 2022 IR 58": "iso_ir_58",
    # multi-byte without code extensions (CP1234 adds the GB terms)
    "ISO_IR 192": "UTF8",
    "GB18030": "GB18030",
    "GBK": "GBK",
    "ISO 2022 GBK": "GBK",
    "ISO 2022 58": "GB2312",
}

# Terms that allow no code extensions (PS3.5 6.1.2.5.4 d).
_STAND_ALONE_TERMS = frozenset({"ISO_IR 192", "GB18030", "GBK"})

# Escape sequences of PS3.3 Tables C.12-3 and C.12-4 -> codec of the designated character set.
_ESCAPE_TO_CODEC = {
    b"\x1b(B": DEFAULT_ENCODING,  # ISO-IR 6 to G0
    b"\x1b-A": "latin_1",
    b"\x1b-B": "iso8859_2",
    b"\x1b-C": "iso8859_3",
    b"\x1b-D": "iso8859_4",
    b"\x1b-F": "iso_ir_126",
    b"\x1b-G": "iso_ir_127",
    b"\x1b-H": "iso_ir_138",
    b"\x1b-L": "iso_ir_144",
    b"\x1b-M": "iso_ir_148",
    b"\x1b-T": "iso_ir_166",
    b"\x1b)I": "shift_jis",  # ISO-IR 13 (katakana) to G1
    b"\x1b(J": "shift_jis",  # ISO-IR 14 (romaji) to G0
    b"\x1b$B": "iso2022_jp",
    b"\x1b$(D": "iso2022_jp_2",
    b"\x1b$)C": "euc_kr",
    b"\x1b$)A": "iso_ir_58",
}

# Codecs that read the escape sequences themselves: the piece is passed to them unchanged.
_CODECS_READING_ESCAPES = frozenset({"iso2022_jp", "iso2022_jp_2", "iso_ir_58"})

_cache = {}
_CACHE_LIMIT = 1024


def python_encodings(specific_character_set=None):
    """Return the Python codec names for a value of (0008,0005) *Specific Character Set*.

    ``specific_character_set`` is the element's value: ``None`` or ``""`` (default repertoire),
    one defined term, or a list of them (code extensions). The result is a new list, first the
    encoding in force at the start of each value, then those that escape sequences may select.
    """
    if not specific_character_set:
        terms = ("",)
    elif isinstance(specific_character_set, str):
        terms = (specific_character_set,)
    else:
        terms = tuple(specific_character_set) or ("",)
    try:
        found = _cache.get(terms)
    except TypeError:  # an unhashable item: resolve it without caching
        return _resolve(terms)
    if found is None:
        found = _resolve(terms)
        if len(_cache) < _CACHE_LIMIT:
            _cache[terms] = found
    return list(found)


def _resolve(terms):
    codec_names = [_codec_for_term(term) for term in terms]
    if len(terms) > 1:
        if terms[0] in _STAND_ALONE_TERMS:
            _warn(
                f"Value '{terms[0]}' for Specific Character Set does not allow code "
                f"extensions, ignoring: {', '.join(map(str, terms[1:]))}"
            )
            return codec_names[:1]
        # an extension that is stand-alone cannot be used: drop it, keep the rest in order
        kept = codec_names[:1]
        for term, name in zip(terms[1:], codec_names[1:]):
            if term in _STAND_ALONE_TERMS:
                _warn(f"Value '{term}' cannot be used as code extension, ignoring it")
            else:
                kept.append(name)
        return kept
    return codec_names


def _codec_for_term(term):
    if not isinstance(term, str):
        _warn(f"Unknown encoding '{term}' - using default encoding instead")
        return DEFAULT_ENCODING
    name = _TERM_TO_CODEC.get(term)
    if name is not None:
        return name
    corrected = _corrected_term(term)
    if corrected is not None:
        name = _TERM_TO_CODEC.get(corrected)
        if name is not None:
            _warn(f"Incorrect value for Specific Character Set '{term}' - assuming '{corrected}'")
            return name
        _warn(f"Unknown encoding '{term}' - using default encoding instead")
        return DEFAULT_ENCODING
    # A Python codec name is accepted as it is.
    try:
        codecs.lookup(term)
    except (LookupError, ValueError):
        _warn(f"Unknown encoding '{term}' - using default encoding instead")
        return DEFAULT_ENCODING
    return term


def _corrected_term(term):
    """The defined term that a common misspelling stands for, or None.

    ``ISO?IR nnn`` (any separator but ``_``) becomes ``ISO_IR nnn``, and ``ISO?2022?IR?nnn`` with
    separators other than spaces becomes ``ISO 2022 IR nnn``.
    """
    if len(term) >= 6 and term.startswith("ISO") and term[3] != "_" and term[4:6] == "IR":
        return "ISO_IR" + term[6:]
    if (
        len(term) >= 12
        and term.startswith("ISO")
        and term[4:8] == "2022"
        and term[9:11] == "IR"
        and "\n" not in (term[3], term[8], term[11])
        and not term.startswith("ISO 2022 IR ")
    ):
        return "ISO 2022 IR " + term[12:]
    return None


def _warn(message):
    warnings.warn(message, UserWarning, stacklevel=4)


def decode_bytes(raw, encodings, delimiters=TEXT_DELIMITERS):
    """Decode one text value, following ISO 2022 escape sequences.

    ``encodings`` is a list from :func:`python_encodings` (``None`` or empty: default
    repertoire); ``delimiters`` are the byte values that end a single-byte code extension.
    Bytes that cannot be decoded become U+FFFD and a warning is issued.
    """
    raw = bytes(raw)
    if not encodings:
        encodings = [DEFAULT_ENCODING]
    first = encodings[0]
    if _ESC not in raw:
        try:
            return raw.decode(first)
        except LookupError:
            _warn(f"Unknown encoding '{first}' - using default encoding instead")
            return raw.decode(DEFAULT_ENCODING)
        except UnicodeError:
            _warn(
                f"Failed to decode byte string with encoding '{first}' - using replacement "
                "characters in decoded string"
            )
            return raw.decode(first, errors="replace")

    # One piece before the first ESC (if any), then one piece per ESC.
    pieces = raw.split(b"\x1b")
    out = []
    if pieces[0]:
        out.append(_decode_piece(pieces[0], encodings, delimiters))
    for piece in pieces[1:]:
        out.append(_decode_piece(b"\x1b" + piece, encodings, delimiters))
    return "".join(out)


def _decode_piece(piece, encodings, delimiters):
    try:
        if piece[0] == _ESC:
            return _decode_escaped_piece(piece, encodings, delimiters)
        return piece.decode(encodings[0])
    except UnicodeError:
        _warn(
            f"Failed to decode byte string with encodings: {', '.join(encodings)} - using "
            "replacement characters in decoded string"
        )
        return piece.decode(encodings[0], errors="replace")


def _decode_escaped_piece(piece, encodings, delimiters):
    size = 4 if piece[1:3] in (b"$(", b"$)") else 3
    codec = _ESCAPE_TO_CODEC.get(piece[:size])
    if codec is None or (codec not in encodings and codec != DEFAULT_ENCODING):
        _warn(
            "Found unknown escape sequence in encoded string value - using encoding "
            f"{encodings[0]}"
        )
        return piece.decode(encodings[0], errors="replace")
    if codec in _CODECS_READING_ESCAPES:
        return piece.decode(codec)
    body = piece[size:]
    # The designation lasts until the first delimiter; the first encoding is back after it.
    for i, byte in enumerate(body):
        if byte in delimiters:
            return body[:i].decode(codec) + body[i:].decode(encodings[0])
    return body.decode(codec)


def decode_text(raw, vr, encodings=None):
    """Decode the whole value of a text element of VR ``vr`` (before splitting on ``\\``).

    Values of VRs outside :data:`CHARSET_VRS` are decoded as Latin-1. A PN value first loses its
    trailing spaces and NULs, byte-wise, as in pydicom (so that padding is never read as part of
    a multi-byte character).
    """
    raw = bytes(raw)
    if vr not in CHARSET_VRS:
        return raw.decode("latin_1")
    if vr == "PN":
        raw = raw.rstrip(b"\x00 ")
    return decode_bytes(raw, encodings, TEXT_DELIMITERS)


# ---------------------------------------------------------------------------------------------
# Encoding

_G0_ASCII = b"\x1b(B"
_G0_ROMAJI = b"\x1b(J"  # ISO-IR 14, the G0 of ISO 2022 IR 13
_G1_KATAKANA = b"\x1b)I"  # ISO-IR 13
# Designations of multi-byte sets to G0: the initial G0 must be designated again before a delimiter.
_MULTIBYTE_G0 = {"iso2022_jp": b"\x1b$B", "iso2022_jp_2": b"\x1b$(D"}
# The G1 designation of each code extension that has one (ESC - F and ESC $ ) F).
_G1_OF_CODEC = {
    codec: escape
    for escape, codec in _ESCAPE_TO_CODEC.items()
    if escape[1:2] == b"-" or escape[1:3] == b"$)"
}
_G1_OF_CODEC["shift_jis"] = _G1_KATAKANA
# The codecs of the defined terms, for which ASCII text encodes as itself.
_DICOM_CODECS = frozenset(_TERM_TO_CODEC.values())
_PN_DELIMITERS = "^="


def encode_text(text, vr, encodings=None):
    """Encode the whole value of a text element of VR ``vr`` (several items joined by ``\\``).

    The reverse of :func:`decode_text`. Values of VRs outside :data:`CHARSET_VRS` are encoded as
    Latin-1 (their callers allow only ASCII). With one encoding the text is encoded with it (the
    default repertoire as Latin-1, as pydicom does). With code extensions (PS3.5 6.1.2.5), each
    character is written in the set in force if that set holds it, else in the first of
    ``encodings`` that holds it (the default repertoire holding ASCII only, then, as a last
    resort, Latin-1 as pydicom writes it), after the escape sequence that designates that set.
    The initial sets are in force again at the start of each item, after CR, LF, TAB and FF, and
    in PN after ``^`` and ``=``: a multi-byte G0 set (ISO 2022 IR 87, 159) is followed by the escape
    sequence back to the initial G0 before each of those points and at the end. Escape sequences
    are also written wherever a decoder that does not reset at ``\\``, ``^`` or ``=`` (this
    module's and pydicom's) would otherwise read the bytes with another set.

    Raises :class:`UnicodeEncodeError` when a character is in none of the sets.
    """
    if vr not in CHARSET_VRS:
        return text.encode("latin_1")
    if not encodings:
        encodings = [DEFAULT_ENCODING]
    elif isinstance(encodings, str):
        encodings = [encodings]
    first = encodings[0]
    if text.isascii() and first in _DICOM_CODECS:
        return text.encode("ascii")
    if len(encodings) == 1 and first != "shift_jis":  # ISO 2022 IR 13 alone holds single bytes only
        return text.encode(first)
    return _encode_iso2022(text, vr, encodings)


def _code(codec, char):
    """``(bytes, designation)`` of ``char`` in the set(s) of ``codec``, or None if it holds none.

    The designation is the escape sequence that makes those bytes mean ``char``; it is None for a
    non-ASCII character of the default repertoire, which has no designation (Latin-1, as pydicom).
    """
    if codec == DEFAULT_ENCODING:
        if char.isascii():
            return char.encode("ascii"), _G0_ASCII
        try:
            return char.encode("latin_1"), None
        except UnicodeEncodeError:
            return None
    try:
        data = char.encode(codec)
    except (UnicodeEncodeError, LookupError):
        return None
    escape = _MULTIBYTE_G0.get(codec)
    if escape is not None:  # the codec designates the set itself, and returns to ASCII at the end
        if data.startswith(escape) and data.endswith(_G0_ASCII):
            body = data[len(escape) : -len(_G0_ASCII)]
            if len(body) == 2:
                return body, escape
        return None
    if codec == "shift_jis":
        if len(data) != 1:
            return None  # a Shift JIS double byte: not in JIS X 0201
        return data, (_G1_KATAKANA if data[0] >= 0x80 else _G0_ROMAJI)
    designation = _G1_OF_CODEC.get(codec)
    if designation is None:
        return None  # a stand-alone character set: no code extension holds it
    if data[0] < 0x80:
        return (data, _G0_ASCII) if len(data) == 1 else None
    return data, designation


def _encode_iso2022(text, vr, encodings):
    first = encodings[0]
    g0_initial = _G0_ROMAJI if first == "shift_jis" else _G0_ASCII
    g1_initial = _G1_OF_CODEC.get(first)
    g0, g1 = g0_initial, g1_initial
    # The codecs that a decoder may be reading with here: ours and pydicom's differ on whether
    # ``\\``, ``^`` and ``=`` return to the first encoding, so both readings must give the text.
    readers = {first}
    value_delimiter = "\\" if vr not in ("LT", "ST", "UT") else ""
    soft_delimiters = value_delimiter + (_PN_DELIMITERS if vr == "PN" else "")
    out = bytearray()
    for i, char in enumerate(text):
        if char in soft_delimiters or ord(char) in TEXT_DELIMITERS:
            if g0 != g0_initial:
                out += g0_initial
                readers = {_ESCAPE_TO_CODEC[g0_initial]}
            out += char.encode("ascii")
            g0, g1 = g0_initial, g1_initial
            if char in soft_delimiters:
                readers.add(first)
            else:  # CR, LF, TAB, FF: the decoders return to the first encoding, except inside
                # the pieces that a codec reads whole with its own escape sequences
                readers = {first} | (readers & _CODECS_READING_ESCAPES)
            continue
        code = _read_alike(readers, char)
        if code is not None and code[1] is not None and code[1] in (g0, g1):
            out += code[0]  # the set in force holds it
            continue
        code = _first_code(encodings, char)
        if code is None:
            raise UnicodeEncodeError(
                encodings[0], text, i, i + 1, f"in none of the character sets {', '.join(encodings)}"
            )
        data, designation = code
        if designation is None:
            designation = _G0_ASCII  # read as Latin-1 by the decoders after ESC ( B
        is_g0 = designation[1:2] == b"(" or designation[1:3] == b"$(" or designation == b"\x1b$B"
        if g0 != g0_initial and not is_g0:
            out += g0_initial  # leave the multi-byte G0 before designating a G1 set
            g0 = g0_initial
            readers = {_ESCAPE_TO_CODEC[g0_initial]}
        alike = _read_alike(readers, char)
        if alike is None or alike[0] != data or designation not in (g0, g1):
            out += designation
            readers = {_ESCAPE_TO_CODEC[designation]}
            if is_g0:
                g0 = designation
            else:
                g1 = designation
        out += data
    if g0 != g0_initial:
        out += g0_initial
    return bytes(out)


def _read_alike(readers, char):
    """The code of ``char`` if every codec in ``readers`` reads the same bytes as it, else None."""
    found = None
    for codec in readers:
        code = _code(codec, char)
        if code is None or (found is not None and code[0] != found[0]):
            return None
        found = code
    return found


def _first_code(encodings, char):
    """The code of ``char`` in the first encoding that holds it with a designation; failing that,
    the default repertoire's Latin-1 byte (no designation), or None."""
    fallback = None
    for codec in encodings:
        code = _code(codec, char)
        if code is not None:
            if code[1] is not None:
                return code
            fallback = fallback or code
    return fallback
