"""The DICOM UID registry: names, keywords and types of UIDs, and the Transfer Syntax constants.

One constant per Transfer Syntax of the registry, named by its keyword
(``uid.ExplicitVRLittleEndian == '1.2.840.10008.1.2.1'``). The data is generated from the
standard's tables into :mod:`dicomfast._uids` (edition :data:`EDITION`) by
``tools/gen_dictionary.py``. UIDs are str; a value read from a file may carry the trailing NUL
(or, invalidly, space) that pads a UI value to even length: the lookups ignore it.
"""
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
