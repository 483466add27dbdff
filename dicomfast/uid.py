"""The DICOM UID registry: names, keywords and types of UIDs, and the Transfer Syntax constants.

One constant per Transfer Syntax of the registry, named by its keyword
(``uid.ExplicitVRLittleEndian == '1.2.840.10008.1.2.1'``). The data is generated from the
standard's tables into :mod:`dicomfast._uids` (edition :data:`EDITION`) by
``tools/gen_dictionary.py``. UIDs are str; a value read from a file may carry the trailing NUL
(or, invalidly, space) that pads a UI value to even length: the lookups ignore it.

New UIDs: :func:`generate_uid`. dicomfast has no registered organisational root. Its UIDs are
derived from UUIDs under the ``2.25`` arc (PS3.5 B.2, ISO/IEC 9834-8), which are unique without
any registration; :data:`DICOMFAST_ROOT` is that arc. A caller with a root of its own passes it as
``prefix``.
"""
import hashlib
import re
import secrets
import uuid
from ._generated.uids import *  # noqa: F401,F403  (the Transfer Syntax constants)
from ._generated.uids import EDITION, UID_DICTIONARY
from ._generated.uids import __all__ as _TRANSFER_SYNTAX_KEYWORDS

__all__ = [
    "EDITION",
    "UID_DICTIONARY",
    "TRANSFER_SYNTAXES",
    "UNCOMPRESSED_TRANSFER_SYNTAXES",
    "uid_name",
    "uid_keyword",
    "uid_type",
    "is_transfer_syntax",
    "is_retired",
    "DICOMFAST_ROOT",
    "IMPLEMENTATION_CLASS_UID",
    "generate_uid",
    "uid_from_digest",
    "is_valid_uid",
    *_TRANSFER_SYNTAX_KEYWORDS,
]

#: Every Transfer Syntax UID of the registry.
TRANSFER_SYNTAXES = frozenset(u for u, e in UID_DICTIONARY.items() if e[1] == "Transfer Syntax")

#: The Transfer Syntaxes whose pixel data is not compressed. All but one are native (the pixel
#: data is one value); Encapsulated Uncompressed Explicit VR Little Endian puts uncompressed
#: frames in encapsulated fragments, so a reader must still handle it as encapsulated.
UNCOMPRESSED_TRANSFER_SYNTAXES = frozenset(
    (
        ImplicitVRLittleEndian,  # noqa: F405
        ExplicitVRLittleEndian,  # noqa: F405
        ExplicitVRBigEndian,  # noqa: F405
        DeflatedExplicitVRLittleEndian,  # noqa: F405
        EncapsulatedUncompressedExplicitVRLittleEndian,  # noqa: F405
    )
)


def _entry(uid):
    e = UID_DICTIONARY.get(uid)
    if e is None and uid[-1:] in ("\0", " "):
        e = UID_DICTIONARY.get(uid.rstrip("\0 "))
    return e


def uid_name(uid):
    """The registry's name of ``uid`` (``'Explicit VR Little Endian'``), or ``uid`` if unknown."""
    e = _entry(uid)
    return uid if e is None else e[0]


def uid_keyword(uid):
    """The registry's keyword of ``uid`` (``'ExplicitVRLittleEndian'``), or ``''``."""
    e = _entry(uid)
    return "" if e is None else e[4]


def uid_type(uid):
    """The registry's type of ``uid`` (``'Transfer Syntax'``, ``'SOP Class'``, ...), or ``''``."""
    e = _entry(uid)
    return "" if e is None else e[1]


def is_transfer_syntax(uid):
    """``True`` if ``uid`` is a Transfer Syntax of the registry."""
    e = _entry(uid)
    return e is not None and e[1] == "Transfer Syntax"


def is_retired(uid):
    """``True`` if the registry retires ``uid``; ``False`` if not, or if unknown."""
    e = _entry(uid)
    return e is not None and e[3]


#: The prefix of the UIDs dicomfast makes: the ``2.25`` arc of UUID-derived UIDs (PS3.5 B.2). A UID
#: under it is ``2.25.`` and the decimal integer of a UUID, so it needs no registered root.
DICOMFAST_ROOT = "2.25."

#: dicomfast's Implementation Class UID (PS3.7 D.3.3.2) for the meta group of the files it writes:
#: the name-based UUID (version 5) of ``https://pypi.org/project/dicomfast/`` in the URL namespace,
#: under ``2.25``, so that it is fixed and needs no registration (tests/test_uid.py derives it again).
IMPLEMENTATION_CLASS_UID = "2.25.74252704448872602373297336157590462307"

_UUID_ARC = "2.25."
_MAX_UID_LENGTH = 64
# A prefix leaves at least 10 digits (33 bits) for the random or hashed part, as pydicom's does.
_MAX_PREFIX_LENGTH = 54
# Components of digits without leading zeros, separated by single dots (PS3.5 9.1).
_UID = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")
_PREFIX = re.compile(r"(?:(?:0|[1-9][0-9]*)\.)+")


def is_valid_uid(uid):
    """``True`` if ``uid`` is a str that is a valid UID (PS3.5 9.1): at most 64 characters, of
    components of digits without leading zeros (``0`` itself allowed) separated by single dots.

    A UID padded with its trailing NUL, as read from a file, is not valid here: strip it first.
    """
    return (
        isinstance(uid, str)
        and 0 < len(uid) <= _MAX_UID_LENGTH
        and _UID.fullmatch(uid) is not None
    )


def generate_uid(prefix=DICOMFAST_ROOT, entropy_srcs=None):
    """A new UID: random by default, or the same every time for the same ``entropy_srcs``.

    ``prefix`` is ``None`` or ``"2.25."`` (:data:`DICOMFAST_ROOT`, the default) for a UUID-derived UID
    (``2.25.`` and the integer of a UUID: at most 44 characters), or a root of the caller's ending
    with a dot, at most 54 characters, to which digits are appended up to 64 characters.

    ``entropy_srcs`` (a list of str) makes the result a function of the sources: their SHA-512 hash,
    of the sources concatenated, gives the digits. With a root of the caller's, the result is the
    one pydicom's ``generate_uid(prefix, entropy_srcs)`` gives, so both map a source to the same UID
    (de-identification across tools); join the sources with a separator of your own if their
    boundaries matter (``["ab", "c"]`` and ``["a", "bc"]`` give the same UID). Under ``2.25`` the
    hash makes a name-based UUID (version 8, RFC 9562); pydicom ignores the sources there and
    returns a random UID. Without sources the digits come from :mod:`secrets` (a UUID version 4
    under ``2.25``).

    Raises ``ValueError`` for a prefix that is not a valid UID root followed by a dot, or is longer
    than 54 characters, and ``TypeError`` for sources that are not a list of str.
    """
    digest = None
    if entropy_srcs is not None:
        if isinstance(entropy_srcs, (str, bytes)) or not all(isinstance(s, str) for s in entropy_srcs):
            raise TypeError(f"entropy_srcs must be a list of str, not {entropy_srcs!r}")
        digest = hashlib.sha512("".join(entropy_srcs).encode("utf-8")).digest()
    if prefix is None or prefix == _UUID_ARC:
        if digest is None:
            return f"{_UUID_ARC}{uuid.uuid4().int}"
        return uid_from_digest(digest)
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str or None, not {type(prefix).__name__}")
    if len(prefix) > _MAX_PREFIX_LENGTH:
        raise ValueError(
            f"UID prefix {prefix!r} is {len(prefix)} characters long: at most {_MAX_PREFIX_LENGTH} "
            "leave room for the unique part of a UID of at most 64"
        )
    if _PREFIX.fullmatch(prefix) is None:
        raise ValueError(
            f"UID prefix {prefix!r} is not a valid UID root followed by a dot (components of digits "
            "without leading zeros, PS3.5 9.1)"
        )
    if digest is None:
        suffix = secrets.randbelow(10 ** (_MAX_UID_LENGTH - len(prefix)))
    else:
        suffix = int.from_bytes(digest, "big")
    return f"{prefix}{suffix}"[:_MAX_UID_LENGTH]


def uid_from_digest(digest):
    """The UID ``2.25.`` + the integer of the version 8 (name-based) UUID made of the first 128 bits
    of ``digest`` (bytes, at least 16): a keyed hash of a UID gives a new UID under ``2.25``, at most
    44 characters, with no registered root (de-identification maps UIDs this way)."""
    if len(digest) < 16:
        raise ValueError(f"a digest of at least 16 bytes, not {len(digest)}")
    return f"{_UUID_ARC}{_name_based_uuid(digest)}"


def _name_based_uuid(digest):
    """The integer of a version 8 UUID (RFC 9562) made of the first 128 bits of ``digest``."""
    value = int.from_bytes(digest[:16], "big")
    value &= ~(0xF << 76)  # version: bits 76-79
    value |= 0x8 << 76
    value &= ~(0x3 << 62)  # variant: bits 62-63 are 10 (RFC 4122 / 9562)
    value |= 0x2 << 62
    return value
