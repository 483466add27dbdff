"""Type stub of the compiled half of the Dataset view (dicomfast/core/_dataset.pyx).

The underscored members of :class:`DatasetBase` are its contract with ``dataset.Dataset``, which
subclasses it: the attributes it reads and the hooks it overrides.
"""

from collections.abc import Container
from typing import Any, Callable, Final, NoReturn, overload

from typing_extensions import Self, final

from dicomfast.core._scan import Tape

@final
class _Unset:
    """The type of :data:`UNSET`."""

#: The value of a dataset's encodings before they are resolved, and the value cache's "absent".
UNSET: Final[_Unset]

def _unset() -> _Unset:
    """Unpickles :data:`UNSET` as the same object."""

def remember_static_vr(tag: int, vr: str) -> None:
    """Cache the dictionary VR of a public tag whose VR does not depend on the dataset."""

class DatasetBase:
    """A range of records in a Tape, with the values decoded so far."""

    _tape: Tape
    _start: int
    _stop: int
    _parent: Self | None
    _index: dict[int, int] | None
    """{tag: record} once built; None before."""
    _cache: dict[int, Any]
    """{tag: decoded value}."""
    _encodings: list[str] | _Unset | None
    """The Python codecs of the dataset's text; UNSET until resolved."""
    file_meta: Any
    """The File Meta Information (a ``FileMetaDataset``), or None."""
    _preamble: Any
    """The 128-byte preamble as bytes, or the buffer to slice it from, or None."""
    _source: Any
    """What the reader needs to read the rest of the file, or None."""
    _edits: dict[int, Any] | None
    """The edits over the tape: {tag: DataElement or DELETED}, or None."""

    def __init__(self, tape: Tape | None = None, start: int = 0, stop: int = 0, parent: Self | None = None) -> None:
        """A dataset over records ``[start, stop)`` of ``tape``; without a tape, an empty dataset
        made from nothing (all of it edits)."""
    def _find(self, tag: int) -> int:
        """The record of ``tag`` directly in this dataset, or -1."""
    def _vr(self, tag: int, index: int) -> str:
        """The VR a value is decoded as: what the file says, else the dictionary's."""
    def _value(self, tag: int, index: int, vr: str) -> Any:
        """The decoded value of record ``index``, cached by tag."""
    def _values(self, tags: tuple[int, ...]) -> list[Any]:
        """The values of ``tags`` (strictly ascending) directly in this dataset, None where absent."""
    def has_group_lengths(self) -> bool:
        """Whether a record directly in this dataset is a Group Length of a group other than 0000
        and 0002."""
    def write_runs(self, skip: Container[int], breaks: list[int], each: bool = False,
                   drop: Container[int] | None = None) -> list[tuple[int, int, int, int]]:
        """For a writer: ``(tag, index, start, end)`` per run of untouched records (index -1) or per
        record to write on its own (its tag in ``skip``, or every record with ``each``); records
        whose tag is in ``drop`` are left out."""
    def __getitem__(self, key: int | tuple[int, int] | str) -> DataElement:
        """``ds[tag]``, ``ds[(group, element)]`` or ``ds["Keyword"]``: the DataElement."""
    def _element(self, index: int) -> DataElement:
        """The DataElement of record ``index`` (a record directly in this dataset)."""
    # Hooks that dataset.py overrides; here they raise NotImplementedError.
    def _dictionary_vr(self, tag: int, index: int) -> str: ...
    def _sequence(self, index: int) -> Any: ...
    def _private_vr(self, tag: int, index: int) -> str: ...

@final
class ElementHeader:
    """Where one element's value is, from its header."""
    @property
    def tag(self) -> int: ...
    @property
    def value_offset(self) -> int: ...
    @property
    def length(self) -> int: ...
    @property
    def vr(self) -> str: ...

def element_at_stop(tape: Tape, read_at: Callable[[int, int], bytes] | None = None,
                    undefined: bool = False) -> ElementHeader | None:
    """The header of the top-level element where a header scan stopped, from the bytes the scan
    had or, when they end before it, from ``read_at(offset, 12)``; None when the scan did not stop
    on purpose, the header cannot be read, or the length is undefined."""

def new_dataset(cls: type[DatasetBase], tape: Tape, parent: DatasetBase | None = None) -> Any:
    """A dataset of class ``cls`` over all of ``tape`` (the reader's fast constructor)."""

@final
class DataElement:
    """One element: ``tag``, ``VR``, ``VM``, ``value``, ``keyword`` and ``name``."""

    @property
    def VR(self) -> str: ...
    @property
    def tag(self) -> int: ...
    @property
    def value(self) -> Any: ...
    @value.setter
    def value(self, value: Any) -> None: ...
    @property
    def VM(self) -> int: ...
    @property
    def keyword(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def is_private(self) -> bool: ...
    @property
    def is_undefined_length(self) -> bool: ...
    @property
    def file_offset(self) -> int | None:
        """Where the element's tag starts in the (possibly inflated) dataset bytes; None for an
        element not read from bytes."""
    @property
    def length(self) -> int:
        """The value's length in bytes (the content's length for an undefined length)."""
    def raw_value(self) -> memoryview:
        """The value's bytes as they are in the file, zero-copy and read-only."""
    def __init__(self, tag: Any, VR: str, value: Any) -> None:
        """An element to add to a dataset, as pydicom's ``DataElement(tag, VR, value)``."""
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class _Deleted: ...

DELETED: Final[_Deleted]
"""The value of an edit that deleted an element."""

def bound_element(dataset: DatasetBase, tag: int, vr: str) -> DataElement:
    """The DataElement of an edit of ``dataset``: no record, its value in the dataset's cache."""

def configure(
    *,
    keyword_tags: dict[str, int],
    to_tag: Callable[[Any], int],
    tag_class: type[int],
    element_repr: Callable[[DataElement], str],
    encode_value: Callable[..., bytes] | None = None,
) -> None:
    """Called once by dataset.py: the tables and functions the compiled lookups use."""

class Keyword:
    """``Dataset.<Keyword>``: one descriptor per dictionary keyword on the Dataset class."""

    @property
    def tag(self) -> int: ...
    @property
    def key(self) -> int: ...
    @property
    def name(self) -> str: ...
    def __init__(self, tag: int, name: str) -> None: ...
    @overload
    def __get__(self, dataset: None, owner: type[Any]) -> Keyword: ...
    @overload
    def __get__(self, dataset: DatasetBase, owner: type[Any]) -> Any: ...
    def __set__(self, dataset: DatasetBase, value: Any) -> NoReturn:
        """Raises ``AttributeError``: datasets are read-only."""
    def __delete__(self, dataset: DatasetBase) -> NoReturn:
        """Raises ``AttributeError``: datasets are read-only."""
