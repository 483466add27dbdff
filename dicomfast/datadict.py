"""The DICOM data dictionary: VR, VM, name, keyword and retired status of a tag.

Tags are plain ints, ``0xGGGGEEEE``. :func:`entry` resolves a tag in one call to the tuple
``(VR, VM, name, retired, keyword)`` (``retired`` a bool), or ``None``:

* a tag the standard lists is looked up directly;
* a tag of a repeating group, which the standard writes with ``xx`` (``(60xx,3000)``,
  ``(0028,04x0)``, ``(1000,xxx0)``, ...), matches when its other hex digits agree; repeating
  groups are even groups (an odd group is private), so ``(6001,3000)`` is not Overlay Data;
* a group length ``(gggg,0000)`` the standard does not name is ``('UL', '1', 'Group Length',
  True, '')``: retired, as PS3.5 7.2 retires every group length but those of groups 0000 and
  0002, which the table names;
* a private creator, ``(gggg,0010)``-``(gggg,00FF)`` of an odd group gggg other than 0001, 0003,
  0005, 0007 and FFFF (which PS3.5 7.8.1 does not allow for private data), is
  ``('LO', '1', 'Private Creator', False, '')``;
* any other tag (other private tags included) is ``None``.

Private data elements have no public entry; :func:`private_entry` looks one up by its Private
Creator in the private dictionary (see its docstring), as pydicom's ``get_private_entry`` does.

VRs are the standard's text: ``'US or SS'``, ``'OB or OW'``, ``'US or SS or OW'``, and ``'NONE'``
for the item and delimitation tags of group FFFE. The data is generated from the standard's
tables into :mod:`dicomfast._dictionary` (edition :data:`EDITION`) by ``tools/gen_dictionary.py``.
"""
from itertools import compress, product
from operator import itemgetter

from ._generated.dictionary import DICTIONARY, EDITION, REPEATERS
from ._generated.private_dictionary import PRIVATE_DICTIONARY

__all__ = [
    "EDITION",
    "DICTIONARY",
    "KEYWORD_TO_TAG",
    "SQ_TAGS",
    "entry",
    "tag_for_keyword",
    "keyword_for_tag",
    "dictionary_VR",
    "dictionary_VM",
    "dictionary_description",
    "dictionary_is_retired",
    "dictionary_has_tag",
    "dictionary_keyword",
    "PRIVATE_DICTIONARY",
    "private_entry",
    "private_pattern",
    "private_dictionary_VR",
    "private_dictionary_VM",
    "private_dictionary_description",
]

#: keyword -> tag, for every tag the standard lists with a keyword. The keywords of repeating
#: groups (``OverlayData``, ...) are not here: they name a family of tags, not one.
KEYWORD_TO_TAG = dict(zip(map(itemgetter(4), DICTIONARY.values()), DICTIONARY))
KEYWORD_TO_TAG.pop("", None)  # the retired rows that have no keyword


def _expand(value, mask):
    """Every even-group tag matching ``(value, mask)``."""
    free = [shift for shift in range(0, 32, 4) if not (mask >> shift) & 0xF]
    for digits in product(range(16), repeat=len(free)):
        tag = value
        for shift, digit in zip(free, digits):
            tag |= digit << shift
        if not tag & 0x10000:
            yield tag


#: Every public tag whose VR is SQ, repeating-group tags included (expanded over the even groups).
SQ_TAGS = frozenset(
    [
        *compress(DICTIONARY, map("SQ".__eq__, map(itemgetter(0), DICTIONARY.values()))),
        *(t for value, mask, e in REPEATERS if e[0] == "SQ" for t in _expand(value, mask)),
    ]
)

_GROUP_LENGTH = ("UL", "1", "Group Length", True, "")
_PRIVATE_CREATOR = ("LO", "1", "Private Creator", False, "")
# Odd groups that PS3.5 7.8.1 does not allow for private data elements.
_NOT_PRIVATE = frozenset((0x0001, 0x0003, 0x0005, 0x0007, 0xFFFF))


def _resolve(tag):
    """The entry of a tag the standard does not list by itself, or ``None``."""
    if not 0 <= tag <= 0xFFFFFFFF:
        return None
    group = tag >> 16
    element = tag & 0xFFFF
    if element == 0:
        return _GROUP_LENGTH
    if group & 1:
        if 0x0010 <= element <= 0x00FF and group not in _NOT_PRIVATE:
            return _PRIVATE_CREATOR
        return None
    for value, mask, e in REPEATERS:
        if tag & mask == value:
            return e
    return None


# The listed tags, and every other tag resolved so far (to its entry or None): one dict lookup on
# the hot path whatever the tag. The resolved part is bounded, so that a stream of garbage tags
# cannot grow it without limit.
_lookup = dict(DICTIONARY)
_listed = len(_lookup)
_RESOLVED_LIMIT = 16384
_MISSING = object()


def entry(tag):
    """``(VR, VM, name, retired, keyword)`` of ``tag`` (an int), or ``None`` if not public.

    Resolves repeating groups, group lengths and private creators (see the module's docstring).
    """
    e = _lookup.get(tag, _MISSING)
    if e is _MISSING:
        e = _resolve(tag)
        if len(_lookup) - _listed >= _RESOLVED_LIMIT:
            _lookup.clear()
            _lookup.update(DICTIONARY)
        _lookup[tag] = e
    return e


def _known(tag):
    """:func:`entry`, raising ``KeyError`` when it is ``None``."""
    e = entry(tag)
    if e is None:
        raise KeyError(f"tag ({tag >> 16:04X},{tag & 0xFFFF:04X}) is not in the DICOM dictionary")
    return e


def tag_for_keyword(keyword):
    """The tag of ``keyword``, or ``None``: ``tag_for_keyword('PatientName') == 0x00100010``."""
    return KEYWORD_TO_TAG.get(keyword)


def keyword_for_tag(tag):
    """The keyword of ``tag``, or ``''`` if it has none (unknown, private or group length)."""
    e = _lookup.get(tag) or entry(tag)
    return e[4] if e is not None else ""


def dictionary_VR(tag):
    """The VR of ``tag`` as the standard writes it (``'US or SS'``...); ``KeyError`` if unknown."""
    e = _lookup.get(tag) or _known(tag)
    return e[0]


def dictionary_VM(tag):
    """The VM of ``tag`` (e.g. ``'1'``, ``'1-n'``, ``'2-2n'``); ``KeyError`` if unknown."""
    e = _lookup.get(tag) or _known(tag)
    return e[1]


def dictionary_description(tag):
    """The name of ``tag`` (e.g. ``"Patient's Name"``); ``KeyError`` if unknown."""
    e = _lookup.get(tag) or _known(tag)
    return e[2]


def dictionary_is_retired(tag):
    """``True`` if the standard retires ``tag``; ``KeyError`` if unknown."""
    e = _lookup.get(tag) or _known(tag)
    return e[3]


def dictionary_keyword(tag):
    """The keyword of ``tag`` (``''`` if it has none); ``KeyError`` if unknown."""
    e = _lookup.get(tag) or _known(tag)
    return e[4]


def dictionary_has_tag(tag):
    """``True`` if :func:`entry` resolves ``tag``."""
    return (_lookup.get(tag) or entry(tag)) is not None


# -- the private dictionary ------------------------------------------------------------------


def private_pattern(tag):
    """The private dictionary's key of a private element tag: its 8 hex digits with the block
    byte (the high byte of the element number) written ``xx``: ``0x00291010`` -> ``'0029xx10'``."""
    return f"{tag >> 16:04X}xx{tag & 0xFF:02X}"


def private_entry(private_creator, tag):
    """``(VR, VM, name, retired)`` of the private element ``tag`` (an int) reserved by
    ``private_creator`` (the Private Creator value, a ``str``), or ``None`` when the private
    dictionary does not list it.

    As pydicom's ``get_private_entry``, the keys tried are, in order: the tag itself
    (``'00291010'``), the tag with its block byte as ``xx`` (``'0029xx10'``, most rows), and the
    group's low byte and the block byte as ``xx`` (``'00xxxx10'``, a creator's rows that hold
    in a range of groups). The dictionary's VRs are as collected: two letters, except for one
    ``'US or SS'`` and one ``'OB_OW'`` row.
    """
    block = PRIVATE_DICTIONARY.get(private_creator) if type(private_creator) is str else None
    if block is None:
        return None
    group = f"{tag >> 16:04X}"
    low = f"{tag & 0xFF:02X}"
    e = block.get(f"{group}{tag & 0xFFFF:04X}")
    if e is None:
        e = block.get(f"{group}xx{low}")
        if e is None:
            e = block.get(f"{group[:2]}xxxx{low}")
    return e


def _known_private(tag, private_creator):
    e = private_entry(private_creator, tag)
    if e is None:
        raise KeyError(
            f"tag ({tag >> 16:04X},{tag & 0xFFFF:04X}) of private creator {private_creator!r} "
            "is not in the private dictionary")
    return e


def private_dictionary_VR(tag, private_creator):
    """The VR of a private tag under its creator (pydicom's signature); ``KeyError`` if unknown."""
    return _known_private(tag, private_creator)[0]


def private_dictionary_VM(tag, private_creator):
    """The VM of a private tag under its creator; ``KeyError`` if unknown."""
    return _known_private(tag, private_creator)[1]


def private_dictionary_description(tag, private_creator):
    """The name of a private tag under its creator; ``KeyError`` if unknown."""
    return _known_private(tag, private_creator)[2]
