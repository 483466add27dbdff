"""The Python view of a scanned dataset: Dataset, DataElement and Sequence.

A Dataset is a range of records in an element table (a ``Tape``) plus a cache of the values
decoded so far. Nothing here parses bytes: the scanner found every element, ``_values`` decodes
them, and this module decides which VR a value is decoded as and wraps the results in the
names a pydicom user knows.
"""

from __future__ import annotations

import copy as _copy
import operator
from typing import Any, Iterable, Iterator, NamedTuple

from . import datadict
from .core import _values
from .core._dataset import (DELETED, UNSET, DataElement, DatasetBase, ElementHeader, Keyword, bound_element, configure,
                             element_at_stop, remember_static_vr)
from .core.encode import encode_value, encode_value_cached
from .core._scan import FLAG_IMPLICIT as F_IMPLICIT
from .core._scan import FLAG_ENCAPSULATED as F_ENCAPSULATED
from .core._scan import FLAG_ITEM as F_ITEM
from .core._scan import FLAG_SEQUENCE as F_SEQUENCE
from .core._scan import FLAG_UNDEFINED as F_UNDEFINED
from .defects import Defect
from .dump import element_line
from .charset import python_encodings
from .errors import DicomError
from .tags import Tag, to_tag

__all__ = ["Dataset", "DataElement", "Sequence", "FileMetaDataset", "Fragments", "ElementHeader", "PrivateBlock",
           "element_after_header", "register_writer", "layout", "DatasetLayout", "Entry", "ElementRecord",
           "Encapsulated", "ListFragments"]

_KEYWORD_TO_TAG = datadict.KEYWORD_TO_TAG

_TAG_PIXEL_REPRESENTATION = 0x00280103
_TAG_CHARSET = 0x00080005
# VRs whose set values read back as the bytes written (not decoded into numbers)
_BINARY_AS_BYTES = frozenset(("OB", "OW", "OF", "OD", "OL", "OV", "UN"))



class Sequence(list):
    """A sequence's items, each a :class:`Dataset`. It can be edited as a list (append, insert,
    remove, assign) and its items as datasets; a write re-encodes what changed."""

    __slots__ = ("_original",)

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__(items)
        for item in self:
            _check_item(item)
        self._original: tuple = tuple(self)  # the items as read: an edit is anything else

    def __repr__(self) -> str:
        return f"<Sequence of {len(self)} item{'s' if len(self) != 1 else ''}>"

    def is_modified(self) -> bool:
        """Whether items were added, removed or replaced, or an item (at any depth) edited."""
        original = self._original
        if len(self) != len(original) or any(a is not b for a, b in zip(self, original)):
            return True
        return any(item.is_modified() for item in self)

    def __copy__(self) -> "Sequence":
        return Sequence(list(self))

    def __deepcopy__(self, memo: dict) -> "Sequence":
        return Sequence(_copy.deepcopy(item, memo) for item in self)


class Encapsulated:
    """The value of encapsulated (compressed) pixel data set by an edit: one or more ``fragments``
    per frame (``frame_fragments``, a list of lists of bytes), written after a Basic Offset Table
    (of the frames' offsets when ``offset_table``) with undefined length, as PS3.5 A.4 says."""

    __slots__ = ("frame_fragments", "offset_table")

    def __init__(self, frames: Iterable[Any], *, offset_table: bool = True) -> None:
        self.frame_fragments = [[bytes(f)] if isinstance(f, (bytes, bytearray, memoryview)) else [bytes(x) for x in f]
                                for f in frames]
        for fragments in self.frame_fragments:
            for fragment in fragments:
                if len(fragment) % 2:
                    raise ValueError("an encapsulated fragment must have an even length (pad it)")
        self.offset_table = offset_table

    def fragments(self) -> "ListFragments":
        flat = [f for fragments in self.frame_fragments for f in fragments]
        positions, pos = [], 0
        for fragment in flat:
            positions.append(pos)
            pos += 8 + len(fragment)
        table = b""
        if self.offset_table:
            import struct

            offsets, pos = [], 0
            for fragments in self.frame_fragments:
                offsets.append(pos)
                pos += sum(8 + len(f) for f in fragments)
            table = struct.pack(f"<{len(offsets)}L", *offsets)
        return ListFragments(table, flat, positions)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Encapsulated) and other.frame_fragments == self.frame_fragments

    def __repr__(self) -> str:
        return f"<Encapsulated: {len(self.frame_fragments)} frame(s)>"


class ListFragments:
    """:class:`Fragments` of an :class:`Encapsulated` edit (the same interface)."""

    __slots__ = ("offset_table", "_fragments", "_positions")

    def __init__(self, offset_table: bytes, fragments: list[bytes], positions: list[int]) -> None:
        self.offset_table = memoryview(offset_table)
        self._fragments = fragments
        self._positions = positions

    def __len__(self) -> int:
        return len(self._fragments)

    def __getitem__(self, k: int) -> memoryview:
        return memoryview(self._fragments[k])

    @property
    def offset_table_length(self) -> int:
        return len(self.offset_table)

    def length(self, k: int) -> int:
        return len(self._fragments[k])

    def position(self, k: int) -> int:
        return self._positions[k]


def _check_item(item: Any) -> None:
    if not isinstance(item, Dataset):
        raise TypeError(f"a sequence holds dicomfast Datasets, not {type(item).__name__}")


# ``ds.PatientName``: one descriptor per dictionary keyword, on a base class made in one call (setting
# five thousand attributes on a finished class one by one costs far more). Dataset's own names win.
_KeywordAttributes = type(
    "_KeywordAttributes",
    (DatasetBase,),
    {"__slots__": (), **{name: Keyword(tag, name) for name, tag in _KEYWORD_TO_TAG.items()}},
)


class Dataset(_KeywordAttributes):
    """A DICOM dataset: the top level of a file, or one item of a sequence.

    Look elements up by keyword (``ds.PatientName`` gives the value), by tag (``ds[0x00100010]``,
    ``ds[(0x0010, 0x0010)]``) or by keyword string (``ds["PatientName"]``), which give a
    :class:`DataElement`. Iteration is in tag order.
    """

    __slots__ = ("_defects",)

    # DatasetBase (compiled) holds the tape range, the caches, file_meta and preamble, and does
    # the hot lookups: _find, _vr, _value, ds.Keyword and ds[key].

    def _tags(self) -> dict[int, int]:
        """{tag: record} of the elements of this dataset; -1 for an element an edit holds."""
        index = self._index
        if index is None:
            index = self._tape.tags(self._start, self._stop)
            edits = self._edits
            if edits:
                for tag, element in edits.items():
                    if element is DELETED:
                        index.pop(tag, None)
                    else:
                        index[tag] = -1
            self._index = index
        return index

    def get(self, key: Any, default: Any = None) -> Any:
        """The value for a keyword, the :class:`DataElement` for a tag, or ``default``.

        This is pydicom's convention: ``ds.get("PatientID")`` gives the value,
        ``ds.get(0x00100020)`` gives the element.
        """
        if isinstance(key, str) and key in datadict.KEYWORD_TO_TAG:
            try:
                return getattr(self, key)
            except AttributeError:
                return default
        try:
            return self[key]
        except (KeyError, ValueError, TypeError):
            return default

    def __contains__(self, key: Any) -> bool:
        try:
            tag = to_tag(key)
        except (ValueError, TypeError):
            return False
        if self._find(tag) >= 0:
            return True
        edits = self._edits
        return edits is not None and edits.get(tag, DELETED) is not DELETED

    def __len__(self) -> int:
        return len(self._tags())

    def __bool__(self) -> bool:
        if self._edits:
            return len(self._tags()) > 0
        return self._stop > self._start

    def keys(self) -> list[Tag]:
        return [Tag(tag) for tag in sorted(self._tags())]

    def tag_list(self) -> list[int]:
        """The tags of the elements present, ascending, as plain ints: :meth:`keys` without a
        ``Tag`` object per element, for a walk that looks most elements up by tag only."""
        return sorted(self._tags())

    def values(self) -> list[DataElement]:
        return list(self)

    def items(self) -> list[tuple[Tag, DataElement]]:
        return [(element.tag, element) for element in self]

    def __iter__(self) -> Iterator[DataElement]:
        for tag, index in sorted(self._tags().items()):
            yield self._element(index) if index >= 0 else self._edits[tag]

    def __dir__(self) -> list[str]:
        names = [datadict.keyword_for_tag(tag) for tag in self._tags()]
        return sorted(set(super().__dir__()) | {n for n in names if n})

    def dir(self, *filters: str) -> list[str]:
        """The keywords of the elements present, optionally only those containing a filter."""
        names = sorted(n for n in (datadict.keyword_for_tag(t) for t in self._tags()) if n)
        if filters:
            lowered = [f.lower() for f in filters]
            names = [n for n in names if any(f in n.lower() for f in lowered)]
        return names

    @property
    def defects(self) -> list[Defect]:
        """What the read of this file tolerated, as :class:`~dicomfast.defects.Defect` records
        (kind, tag, offset, action), in the order met: the reader's, then the pixel layer's
        (appended when a pixel read uses a safe default). Empty for a clean file. An item gives
        its file's list."""
        root = self
        while root._parent is not None:
            root = root._parent
        try:
            return root._defects
        except AttributeError:
            root._defects = []
            return root._defects

    # -- values ----------------------------------------------------------------------------

    def _dictionary_vr(self, tag: int, index: int) -> str:
        """The VR of a public implicit or UN element (DatasetBase._vr handles private ones)."""
        entry = datadict.entry(tag)
        if entry is None or entry[0] == "NONE":
            return "UN"
        dictionary_vr = entry[0]
        if " or " in dictionary_vr:
            return self._resolve_ambiguous(tag, index, dictionary_vr, self._tape.flags(index))
        remember_static_vr(tag, dictionary_vr)
        return dictionary_vr

    def _private_vr(self, tag: int, index: int) -> str:
        """The VR of a private implicit or UN element (gggg,bbee): its creator's (gggg,00bb)
        private dictionary entry, else UN, as pydicom's reader gives it. An explicit UN of
        64 KiB or more stays UN (pydicom's ``replace_un_with_known_vr`` limit)."""
        tape = self._tape
        flags = tape.flags(index)
        if not flags & (F_IMPLICIT | F_UNDEFINED) and tape.length(index) >= 0xFFFF:
            return "UN"
        creator_tag = (tag & 0xFFFF0000) | ((tag >> 8) & 0xFF)
        found = self._find(creator_tag)
        if found < 0:
            return "UN"
        try:
            creator = self._value(creator_tag, found, self._vr(creator_tag, found))
        except DicomError:
            return "UN"
        entry = datadict.private_entry(creator, tag)
        if entry is None:
            return "UN"
        vr = entry[0]
        if len(vr) != 2 or vr == "SQ":
            # 'US or SS' and 'OB_OW' rows are read as UN; a private sequence that the scan did
            # not parse as one (a defined length, implicit VR) stays bytes.
            return "UN"
        return vr

    def _resolve_ambiguous(self, tag: int, index: int, vr: str, flags: int) -> str:
        """The VR of an element the dictionary gives several VRs for (PS3.5 Annex A, PS3.3)."""
        if tag == 0x7FE00010:
            if flags & F_UNDEFINED:
                return "OB"
            if flags & F_IMPLICIT:
                return "OW"
            bits = self._nearest(0x00280100)
            return "OW" if isinstance(bits, int) and bits > 8 else "OB"
        if vr.startswith("US or SS"):
            pixel_representation = self._nearest(_TAG_PIXEL_REPRESENTATION)
            if pixel_representation is None:
                pixel_representation = 1 if 0x7FE00010 in self else 0
            return "US" if pixel_representation == 0 else "SS"
        if tag == 0x00283006:  # LUT Data: one entry is US, a table is OW (PS3.3 C.11.1.1.1)
            descriptor = self._nearest(0x00283002)
            first = descriptor[0] if isinstance(descriptor, list) and descriptor else descriptor
            return "US" if first == 1 else "OW"
        if tag >> 16 == 0x5400 or tag & 0xFF00FFFF == 0x60003000 or flags & F_IMPLICIT:
            if tag >> 16 == 0x5400 and not flags & F_IMPLICIT:
                bits = self._nearest(0x5400100A)
                return "OW" if isinstance(bits, int) and bits > 8 else "OB"
            return "OW"
        return vr.split(" or ")[-1]

    def _nearest(self, tag: int) -> Any:
        """The value of ``tag`` in this dataset or the nearest ancestor that has it."""
        dataset: Dataset | None = self
        while dataset is not None:
            edits = dataset._edits
            if edits is not None and tag in edits:
                return None if edits[tag] is DELETED else edits[tag].value
            index = dataset._find(tag)
            if index >= 0:
                return dataset._value(tag, index, dataset._vr(tag, index))
            dataset = dataset._parent
        return None

    # -- edits ------------------------------------------------------------------------------
    #
    # An edit is recorded in ``_edits`` ({tag: DataElement, or DELETED}) over the elements read:
    # the tape is never changed and untouched elements stay undecoded bytes. A set value is
    # checked by encoding it as it will be written, and kept as it reads back (the decoder's own
    # form), in the value cache where ``ds.Keyword`` finds it first.

    def _set_keyword(self, tag: int, name: str, value: Any) -> None:
        self._set_value(tag, None, value)

    def _delete_keyword(self, tag: int, name: str) -> None:
        if tag not in self:
            raise AttributeError(name)
        self._delete(tag)

    def _set_value(self, tag: int, vr: str | None, value: Any, encodings: Any = UNSET) -> None:
        vr = vr or self._vr_for(tag)
        value = self._checked(tag, vr, value, encodings)
        edits = self._edits
        if edits is None:
            edits = self._edits = {}
        edits[tag] = bound_element(self, tag, vr)
        self._cache[tag] = value
        self._index = None
        if tag == _TAG_CHARSET:
            self._encodings = UNSET

    def _delete(self, tag: int) -> None:
        edits = self._edits
        if edits is None:
            edits = self._edits = {}
        edits[tag] = DELETED
        self._cache.pop(tag, None)
        self._index = None
        if tag == _TAG_CHARSET:
            self._encodings = UNSET

    def _vr_for(self, tag: int) -> str:
        """The VR of a value set for ``tag``: the element's own, else the dictionary's."""
        edits = self._edits
        if edits is not None:
            element = edits.get(tag)
            if element is not None and element is not DELETED:
                return element.VR
        index = self._find(tag)
        if index >= 0:
            return self._vr(tag, index)
        if tag & 0x10000:
            if 0x0010 <= tag & 0xFFFF <= 0x00FF:
                return "LO"  # a private creator
            raise KeyError(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) is a private tag: give its VR "
                           "(ds.add_new(tag, VR, value), or a private block)")
        entry = datadict.entry(tag)
        if entry is None or entry[0] == "NONE":
            raise KeyError(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) is not in the data dictionary: "
                           "give its VR with ds.add_new(tag, VR, value)")
        vr = entry[0]
        if " or " in vr:
            vr = self._resolve_ambiguous(tag, -1, vr, 0)
        return vr

    def _checked(self, tag: int, vr: str, value: Any, encodings: Any = UNSET) -> Any:
        """``value`` as it will read back, after checking that it encodes as ``vr``; ``encodings``:
        this dataset's character set, when the caller looked it up already."""
        if isinstance(value, Encapsulated):
            if vr not in ("OB", "OW"):
                raise TypeError(f"encapsulated pixel data is OB, not {vr}")
            return value
        if vr == "SQ":
            if value is None:
                value = ()
            if isinstance(value, Dataset):
                raise TypeError("a sequence's value is a list of Datasets, not one Dataset")
            items = Sequence(value)
            for item in items:
                if item._parent is None and item is not self:
                    item._parent = self
            return items
        big = self._tape.big_endian
        if encodings is UNSET:
            encodings = self._edit_encodings(tag, value)
        raw = encode_value_cached(value, vr, big_endian=big, encodings=encodings, tag=tag)
        if vr in _BINARY_AS_BYTES:
            return raw
        return _values.decode(raw, vr, big, encodings)

    def _edit_encodings(self, tag: int, value: Any) -> Any:
        if tag == _TAG_CHARSET:
            return None
        return self._encodings_now()

    def _encodings_now(self) -> Any:
        """The Python codecs of this dataset's Specific Character Set (or its parent's)."""
        dataset: Dataset | None = self
        while dataset is not None:
            # ``_TAG_CHARSET in dataset``, without its key conversion: an edit, else a record
            edits = dataset._edits
            edited = edits.get(_TAG_CHARSET) if edits is not None else None
            if edited is not None:
                if edited is not DELETED:
                    return python_encodings(dataset.SpecificCharacterSet)
            elif dataset._find(_TAG_CHARSET) >= 0:
                return python_encodings(dataset.SpecificCharacterSet)
            dataset = dataset._parent
        return None

    def __setitem__(self, key: Any, element: DataElement) -> None:
        """``ds[tag] = DataElement(tag, VR, value)``: add or replace an element."""
        tag = to_tag(key)
        if not isinstance(element, DataElement):
            raise TypeError(f"ds[tag] = takes a DataElement, not {type(element).__name__}")
        if element.tag != tag:
            raise ValueError(f"the element's tag {Tag(element.tag)} differs from the key {Tag(tag)}")
        self._set_value(tag, element.VR, element.value)

    def __delitem__(self, key: Any) -> None:
        tag = to_tag(key)
        if tag not in self:
            raise KeyError(Tag(tag))
        self._delete(tag)

    def delete_tags(self, tags: Iterable[Any]) -> int:
        """Delete every element of ``tags`` that is present (absent ones are skipped) in one edit:
        the tag index is rebuilt once, not once per element as ``del ds[tag]`` in a loop would.
        Returns how many were deleted."""
        edits = self._edits
        if edits is None:
            edits = self._edits = {}
        index = self._tags()
        wanted = [key if type(key) is int else to_tag(key) for key in tags]
        gone = dict.fromkeys([tag for tag in wanted if tag in index], DELETED)  # once each, in order
        if not gone:
            return 0
        edits.update(gone)
        cache = self._cache
        if cache:
            for tag in cache.keys() & gone.keys():
                del cache[tag]
        for tag in gone:
            del index[tag]
        if _TAG_CHARSET in gone:
            self._encodings = UNSET
        return len(gone)

    def add_new(self, tag: Any, VR: str, value: Any) -> None:
        """Add (or replace) the element ``tag`` with ``VR`` and ``value``, as pydicom's."""
        tag = to_tag(tag)
        DataElement(tag, VR, value)  # the VR checked as ``ds[tag] = DataElement(...)`` checks it
        self._set_value(tag, VR, value)

    def set_values(self, values: Iterable[tuple[Any, str, Any]]) -> None:
        """Add or replace several elements, each ``(tag, VR, value)``, in order: what
        ``add_new(tag, VR, value)`` does for each (the same checks, values and errors), with this
        dataset's character set looked up once for all of them rather than once per element. An
        element that fails its check raises, and the ones before it stay set, as with ``add_new``
        in a loop."""
        encodings: Any = UNSET
        for key, vr, value in values:
            tag = key if type(key) is int and 0 <= key <= 0xFFFFFFFF else to_tag(key)
            if type(vr) is not str or len(vr) != 2 or not vr.isupper() or not vr.isalpha():
                DataElement(tag, vr, value)  # raises as add_new does
            if vr == "SQ" or tag == _TAG_CHARSET or isinstance(value, Encapsulated):
                self._set_value(tag, vr, value)
                encodings = UNSET  # a new Specific Character Set changes what follows
                continue
            if encodings is UNSET:
                encodings = self._encodings_now()
            self._set_value(tag, vr, value, encodings)

    def add(self, element: DataElement) -> None:
        """Add (or replace) ``element``."""
        self[element.tag] = element

    def is_modified(self) -> bool:
        """Whether this dataset differs from what was read: an element set, added or deleted, or
        a sequence (at any depth) edited."""
        if self._edits:
            return True
        for value in list(self._cache.values()):
            if type(value) is Sequence and value.is_modified():
                return True
        return False

    def private_block(self, group: int, private_creator: str, create: bool = False) -> "PrivateBlock":
        """The block of private ``group`` reserved by ``private_creator`` (pydicom's API): an
        existing reservation, or with ``create`` the first free block byte (0x10 to 0xFF)."""
        if not group & 1 or not 0x0009 <= group <= 0xFFFF:
            raise ValueError(f"0x{group:04X} is not a private group")
        free = None
        for byte in range(0x10, 0x100):
            tag = group << 16 | byte
            if tag in self:
                if self[tag].value == private_creator:
                    return PrivateBlock(self, group, private_creator, byte)
            elif free is None:
                free = byte
        if not create:
            raise KeyError(f"private creator {private_creator!r} has no block in group 0x{group:04X}")
        if free is None:
            raise ValueError(f"group 0x{group:04X} has no free private block")
        self.add_new(group << 16 | free, "LO", private_creator)
        return PrivateBlock(self, group, private_creator, free)

    def __copy__(self) -> "Dataset":
        return self._copied(lambda value: value)

    def __deepcopy__(self, memo: dict) -> "Dataset":
        return self._copied(lambda value: _copy.deepcopy(value, memo), memo)

    def _copied(self, value_copy: Any, memo: dict | None = None) -> "Dataset":
        new = type(self)(self._tape, self._start, self._stop, self._parent) if self._stop > self._start \
            or self._edits is None else type(self)()
        if self._stop <= self._start and self._edits is not None:
            new._parent = self._parent
        new._source = self._source
        new._preamble = self._preamble
        meta = self.file_meta
        new.file_meta = value_copy(meta) if meta is not None and memo is not None else meta
        cache = {}
        for tag, value in self._cache.items():
            cache[tag] = value_copy(value) if type(value) is Sequence else value
        new._cache = cache
        if self._edits is not None:
            new._edits = {tag: (DELETED if e is DELETED else bound_element(new, tag, e.VR))
                          for tag, e in self._edits.items()}
        new._encodings = self._encodings
        return new

    def save_as(self, filename: Any, *, transfer_syntax: str | None = None,
                enforce_file_format: bool = False) -> None:
        """Write this dataset to ``filename`` (a path or a binary file object): :func:`dcmwrite`."""
        _write(filename, self, transfer_syntax=transfer_syntax, enforce_file_format=enforce_file_format)

    def _sequence(self, index: int) -> Sequence:
        tape = self._tape
        return Sequence(
            Dataset(tape, item + 1, tape.end(item), self)
            for item in tape.children(index + 1, tape.end(index))
        )

    # -- whole-dataset views ---------------------------------------------------------------

    @property
    def preamble(self) -> bytes | None:
        """The file's 128-byte preamble, or None for data read without one."""
        preamble = self._preamble
        if type(preamble) is tuple:  # (source,): the reader defers the copy to here
            preamble = self._preamble = bytes(preamble[0][:128])
        return preamble

    @preamble.setter
    def preamble(self, value: bytes | None) -> None:
        self._preamble = value

    @property
    def is_little_endian(self) -> bool:
        return not self._tape.big_endian

    @property
    def is_implicit_VR(self) -> bool:
        """Whether this dataset's elements are encoded with implicit VR (an item of an
        explicit-VR file may be, PS3.5 6.2.2)."""
        if self._start > 0 and self._tape.flags(self._start - 1) & F_ITEM:
            return bool(self._tape.flags(self._start - 1) & F_IMPLICIT)
        return not self._tape.explicit_vr

    def __eq__(self, other: object) -> bool:
        """Equal when both hold the same elements: tags, VRs and values, at every depth."""
        if other is self:
            return True
        if not isinstance(other, Dataset):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def dump(self, *, max_value: int = 64) -> str:
        """A listing like DCMTK's dcmdump: one line per element, items indented."""
        from .dump import dump

        return dump(self, max_value=max_value)

    def __str__(self) -> str:
        return self.dump()

    def __repr__(self) -> str:
        what = []
        sop = self.get("SOPClassUID")
        if sop:
            from .uid import uid_name

            what.append(uid_name(sop))
        meta = self.file_meta
        if meta is not None and "TransferSyntaxUID" in meta:
            from .uid import uid_name

            what.append(uid_name(meta.TransferSyntaxUID))
        detail = f": {', '.join(what)}" if what else ""
        return f"<{type(self).__name__} of {len(self)} elements{detail}>"

    def to_json_dict(self, *, bulk_data_threshold: int = 1024, bulk_data_element_handler=None) -> dict:
        """The dataset in the DICOM JSON model (PS3.18 Annex F)."""
        from .jsonmodel import to_json_dict

        return to_json_dict(self, bulk_data_threshold, bulk_data_element_handler)

    @property
    def pixel_array(self):
        """The pixel data as a NumPy array (see :func:`dicomfast.pixel_array`)."""
        return (_pixel_array or _load_pixel_array())(self)

    def decompress(self, *, as_rgb: bool = True, decoder: str | None = None, workers: int | None = None) -> "Dataset":
        """Decode encapsulated pixel data into native pixel data, in place
        (:func:`dicomfast.pixels.transcode.decompress`)."""
        from .pixels import decompress

        return decompress(self, as_rgb=as_rgb, decoder=decoder, workers=workers)

    def compress(self, transfer_syntax: str, **options: Any) -> "Dataset":
        """Encode the pixel data in ``transfer_syntax``, in place
        (:func:`dicomfast.pixels.transcode.compress`)."""
        from .pixels import compress

        return compress(self, transfer_syntax, **options)

    def fragments(self, tag: Any = 0x7FE00010) -> "Fragments":
        """The items of an encapsulated element (Pixel Data by default) directly in this dataset:
        its Basic Offset Table and fragments, zero-copy. Raises a :class:`DicomError` when the
        element is absent, not encapsulated, or holds no fragment after its offset table."""
        tag = to_tag(tag)
        edits = self._edits
        if edits is not None and tag in edits and edits[tag] is not DELETED:
            value = edits[tag].value
            if isinstance(value, Encapsulated):
                return value.fragments()
            raise DicomError(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) is not encapsulated")
        tape = self._tape
        i = tape.find(self._start, self._stop, tag)
        if i < 0 or not tape.flags(i) & F_ENCAPSULATED:
            try:
                name = f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {datadict.dictionary_description(tag)}"
            except KeyError:
                name = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
            raise DicomError(f"the dataset has no {name}" if i < 0 else f"{name} is not encapsulated")
        items = tape.children(i + 1, tape.end(i))
        if len(items) < 2:
            raise DicomError("encapsulated Pixel Data holds no fragments after its Basic Offset Table")
        return Fragments(tape, items)

    def to_pydicom(self):
        """A ``pydicom.Dataset`` with the same elements (needs pydicom installed)."""
        from .interop import to_pydicom

        return to_pydicom(self)

    # -- pickling: a dataset travels as the bytes it was read from -------------------------

    def __reduce__(self):
        root = self
        path: list[int] = []
        while root._parent is not None:
            path.append(root._start - 1)
            root = root._parent
        if root.is_modified() or root._source is None:
            # edited, or made from nothing: it travels as the bytes it would be written as
            if path:
                raise TypeError("an item of an edited or new dataset cannot be pickled alone: "
                                "pickle the dataset it belongs to")
            import io

            out = io.BytesIO()
            _write(out, root, transfer_syntax=None, enforce_file_format=root.file_meta is None)
            return (_read_pickled, (out.getvalue(), (False, None, False), ()))
        if _read_pickled is None:
            raise TypeError("this dataset was not read by dcmread and cannot be pickled")
        data, end, options = root._source
        if not (isinstance(data, bytes) and end >= len(data)):
            data = bytes(data[:end])
        return (_read_pickled, (data, options, tuple(reversed(path))))


configure(keyword_tags=_KEYWORD_TO_TAG, to_tag=to_tag, tag_class=Tag, element_repr=element_line,
          encode_value=encode_value)


class FileMetaDataset(Dataset):
    """The File Meta Information (group 0002)."""

    __slots__ = ()


class PrivateBlock:
    """A private block: ``group``, ``private_creator`` and the block ``byte``; elements are
    addressed by their offset 0x00 to 0xFF in the block (pydicom's API)."""

    __slots__ = ("dataset", "group", "private_creator", "block_start")

    def __init__(self, dataset: Dataset, group: int, private_creator: str, byte: int) -> None:
        self.dataset = dataset
        self.group = group
        self.private_creator = private_creator
        self.block_start = byte << 8

    def get_tag(self, element_offset: int) -> Tag:
        if not 0 <= element_offset <= 0xFF:
            raise ValueError(f"a private block's element offset is 0x00 to 0xFF, not {element_offset}")
        return Tag(self.group << 16 | self.block_start | element_offset)

    def __contains__(self, element_offset: int) -> bool:
        return self.get_tag(element_offset) in self.dataset

    def __getitem__(self, element_offset: int) -> DataElement:
        return self.dataset[self.get_tag(element_offset)]

    def __delitem__(self, element_offset: int) -> None:
        del self.dataset[self.get_tag(element_offset)]

    def add_new(self, element_offset: int, VR: str, value: Any) -> None:
        self.dataset.add_new(self.get_tag(element_offset), VR, value)


# dicomfast.writer registers dcmwrite here (it sits above this module, and dicomfast imports it):
# Dataset.save_as and the pickling of edited datasets call it.
_write = None


def register_writer(function) -> None:
    """Set the function ``save_as`` writes with: ``function(dst, ds, *, transfer_syntax,
    enforce_file_format)``. Called once by ``dicomfast.writer``."""
    global _write
    _write = function


class ElementRecord(NamedTuple):
    """An element as it was read: where its bytes are in the source (:func:`layout`)."""

    tag: int
    index: int                  # its record
    vr: str                     # the VR its value is decoded as
    start: int                  # where its tag is in the buffer
    value_offset: int
    length: int                 # the value's length (the content's, for an undefined length)
    end: int                    # one past its last byte (its delimiter included)
    sequence: bool
    encapsulated: bool          # pixel data fragments (undefined length)
    undefined: bool             # written with an undefined length


class Entry(NamedTuple):
    """One part of a dataset to write, in tag order: a ``run`` of untouched elements whose bytes
    ``(start, end)`` are copied as they are, one element as read (``record``: a sequence whose
    items were edited, or every element when the encoding changes), or an edit's ``element``."""

    tag: int
    record: ElementRecord | None
    element: DataElement | None
    run: tuple[int, int] | None = None


class DatasetLayout(NamedTuple):
    """What a writer needs of a dataset (:func:`layout`): its ``entries`` in tag order, the
    ``buffer`` their byte spans point into, and how those bytes are encoded."""

    entries: list
    buffer: Any
    explicit_vr: bool
    big_endian: bool


def layout(ds: Dataset, each: bool = False) -> DatasetLayout:
    """The parts of ``ds`` for a writer, in tag order: runs of untouched elements (copied as their
    bytes), the records that must be written on their own (sequences with edited items; every
    record with ``each``), and the edits. One compiled pass over the records."""
    tape = ds._tape
    edits = ds._edits or {}
    # sequences whose items were edited are written on their own; edited records are left out of
    # the runs (the edits hold the elements that replace them), and runs break where new ones go
    modified = {tag for tag, value in ds._cache.items() if type(value) is Sequence and value.is_modified()}
    placed = sorted([tag for tag, element in edits.items() if element is not DELETED])
    new = tuple.__new__  # the records made in C: a NamedTuple call per entry costs more than the pass
    entries = []
    append = entries.append
    for tag, index, start, end in ds.write_runs(modified, placed, each, edits):
        if index < 0:
            append(new(Entry, (tag, None, None, (start, end))))
        else:
            flags = tape.flags(index)
            append(new(Entry, (tag, ElementRecord(
                tag, index, ds._vr(tag, index), start, tape.offset(index), tape.length(index), end,
                bool(flags & F_SEQUENCE), bool(flags & F_ENCAPSULATED), bool(flags & F_UNDEFINED)), None, None)))
    for tag in placed:
        append(new(Entry, (tag, None, edits[tag], None)))
    entries.sort(key=_entry_tag)
    buffer = memoryview(tape.buffer) if len(tape) else memoryview(b"")
    return DatasetLayout(entries, buffer, not ds.is_implicit_VR, tape.big_endian)


_entry_tag = operator.itemgetter(0)  # an Entry's tag


def element_after_header(ds: Dataset, read_at: Any = None, *, undefined: bool = False) -> ElementHeader | None:
    """Where the next top-level element's value is, after a ``stop_before_pixels`` read of ``ds``
    stopped at it (the pixel data): its :class:`ElementHeader` (tag, value offset in the source,
    length, VR), from the bytes read, or from ``read_at(offset, n)`` when the read ended inside the
    element's header. None when the read did not stop there, or the length is undefined (unless
    ``undefined``: then the header of encapsulated pixel data, with length 0xFFFFFFFF)."""
    if ds._parent is not None:
        return None
    return element_at_stop(ds._tape, read_at, undefined)


class Fragments:
    """The items of an encapsulated element (:meth:`Dataset.fragments`): the Basic Offset Table
    (``offset_table``) and the fragments after it (``fragments[k]``, ``len(fragments)``), as
    zero-copy read-only memoryviews on the bytes the dataset was read from; ``position(k)`` is where
    fragment k's item starts relative to the first fragment's item, as offset tables count (PS3.5
    A.4), and ``length(k)`` its length. Nothing is read until asked for."""

    __slots__ = ("_tape", "_items")

    def __init__(self, tape: Any, items: list[int]) -> None:
        self._tape = tape
        self._items = items

    def __len__(self) -> int:
        return len(self._items) - 1

    def __getitem__(self, k: int) -> memoryview:
        if not 0 <= k < len(self._items) - 1:
            raise IndexError(k)
        return self._tape.raw(self._items[k + 1])

    @property
    def offset_table(self) -> memoryview:
        return self._tape.raw(self._items[0])

    @property
    def offset_table_length(self) -> int:
        return self._tape.length(self._items[0])

    def length(self, k: int) -> int:
        return self._tape.length(self._items[k + 1])

    def position(self, k: int) -> int:
        return self._tape.start(self._items[k + 1]) - self._tape.start(self._items[1])

    def __repr__(self) -> str:
        return f"<Fragments: {len(self)} after a {self.offset_table_length}-byte offset table>"


# Unpickling reads the bytes again, which is the reader's job; the reader sits above this module, so
# it registers its function here rather than being imported. Only a dataset the reader made has
# bytes to pickle, so the function is registered whenever one is pickled; the pickle names it
# (``dicomfast.reader.read_pickled``), so unpickling imports the reader.
_read_pickled = None


def register_unpickle(function) -> None:
    """Set the function a pickled dataset is read back with: ``function(data, options, path)``
    reads ``data`` with the reader's ``options`` and returns :func:`item_at` ``path`` of it.
    Called once by ``dicomfast.reader``."""
    global _read_pickled
    _read_pickled = function


def item_at(dataset: Dataset, path: tuple[int, ...]) -> Dataset:
    """The item of ``dataset`` that ``path`` leads to: for each level down, the record index of
    the item (what pickling records for a nested item; ``()`` is ``dataset`` itself)."""
    for item in path:
        tape = dataset._tape
        dataset = Dataset(tape, item + 1, tape.end(item), dataset)
    return dataset


# dicomfast.pixels imports NumPy: loaded on the first pixel_array, then called without an import
# statement (which costs microseconds per call even for a loaded module).
_pixel_array = None


def _load_pixel_array():
    global _pixel_array
    from .pixels import pixel_array

    _pixel_array = pixel_array
    return pixel_array
