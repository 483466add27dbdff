"""The Python view of a scanned dataset: Dataset, DataElement and Sequence.

A Dataset is a range of records in an element table (a ``Tape``) plus a cache of the values
decoded so far. Nothing here parses bytes: the scanner found every element, ``_values`` decodes
them, and this module decides which VR a value is decoded as and wraps the results in the
names a pydicom user knows.
"""

from __future__ import annotations

from typing import Any, Iterator

from . import datadict
from .core._dataset import (DataElement, DatasetBase, ElementHeader, Keyword, configure, element_at_stop,
                             remember_static_vr)
from .core._scan import FLAG_IMPLICIT as F_IMPLICIT
from .core._scan import FLAG_ENCAPSULATED as F_ENCAPSULATED
from .core._scan import FLAG_ITEM as F_ITEM
from .core._scan import FLAG_UNDEFINED as F_UNDEFINED
from .dump import element_line
from .errors import DicomError
from .tags import Tag, to_tag

__all__ = ["Dataset", "DataElement", "Sequence", "FileMetaDataset", "Fragments", "ElementHeader", "element_after_header"]

_KEYWORD_TO_TAG = datadict.KEYWORD_TO_TAG

_TAG_PIXEL_REPRESENTATION = 0x00280103



class Sequence(list):
    """A sequence's items, each a :class:`Dataset`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<Sequence of {len(self)} item{'s' if len(self) != 1 else ''}>"


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

    __slots__ = ()

    # DatasetBase (compiled) holds the tape range, the caches, file_meta and preamble, and does
    # the hot lookups: _find, _vr, _value, ds.Keyword and ds[key].

    def _tags(self) -> dict[int, int]:
        index = self._index
        if index is None:
            index = self._index = self._tape.tags(self._start, self._stop)
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
        return self._find(tag) >= 0

    def __len__(self) -> int:
        return len(self._tags())

    def __bool__(self) -> bool:
        return self._stop > self._start

    def keys(self) -> list[Tag]:
        return [Tag(tag) for tag in sorted(self._tags())]

    def values(self) -> list[DataElement]:
        return list(self)

    def items(self) -> list[tuple[Tag, DataElement]]:
        return [(element.tag, element) for element in self]

    def __iter__(self) -> Iterator[DataElement]:
        for _, index in sorted(self._tags().items()):
            yield self._element(index)

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
            index = dataset._find(tag)
            if index >= 0:
                return dataset._value(tag, index, dataset._vr(tag, index))
            dataset = dataset._parent
        return None

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

    def fragments(self, tag: Any = 0x7FE00010) -> "Fragments":
        """The items of an encapsulated element (Pixel Data by default) directly in this dataset:
        its Basic Offset Table and fragments, zero-copy. Raises a :class:`DicomError` when the
        element is absent, not encapsulated, or holds no fragment after its offset table."""
        tag = to_tag(tag)
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
        if root._source is None or _read_pickled is None:
            raise TypeError("this dataset was not read by dcmread and cannot be pickled")
        data, end, options = root._source
        if not (isinstance(data, bytes) and end >= len(data)):
            data = bytes(data[:end])
        return (_read_pickled, (data, options, tuple(reversed(path))))


configure(keyword_tags=_KEYWORD_TO_TAG, to_tag=to_tag, tag_class=Tag, element_repr=element_line)


class FileMetaDataset(Dataset):
    """The File Meta Information (group 0002)."""

    __slots__ = ()


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
