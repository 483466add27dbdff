"""Type stub of the compiled element scanner (dicomfast/core/_scan.pyx)."""

import os
from collections.abc import Iterable
from typing import Final, NoReturn

from typing_extensions import Buffer

from dicomfast.errors import DicomError

#: Record flags, as ``Tape.flags(i)`` returns them (the F_* enum of _scan.pxd).
FLAG_BIG: Final[int]
FLAG_IMPLICIT: Final[int]
FLAG_UNDEFINED: Final[int]
FLAG_SEQUENCE: Final[int]
FLAG_ENCAPSULATED: Final[int]
FLAG_ITEM: Final[int]
FLAG_RAW_DELIMITED: Final[int]
DEFECT_KINDS: Final[dict[int, str]]

def set_sequence_tags(tags: Iterable[int]) -> None:
    """Give the scanner the tags the dictionary defines as SQ (used for implicit VR)."""

class Tape:
    """The element table of one scanned dataset, and the buffer it points into.

    Records are addressed by index. Datasets are ranges of records: the top level is
    ``[0, len(tape))``; an item ``i`` holds ``[i + 1, tape.end(i))``. Methods taking an index
    raise ``IndexError`` outside ``[0, len(tape))``.
    """

    def __len__(self) -> int: ...
    @property
    def begin(self) -> int:
        """Where the scan started."""
    @property
    def stop(self) -> int:
        """Where the scan ended: the first byte not consumed."""
    @property
    def status(self) -> int:
        """0 done, 1 stopped on purpose, 2 truncated, 3 bad length, 4 too deep, 5 no memory."""
    @property
    def error_offset(self) -> int:
        """Where a failed scan found the fault; -1 when it did not fail."""
    @property
    def explicit_vr(self) -> bool: ...
    @property
    def big_endian(self) -> bool: ...
    @property
    def needs_more(self) -> bool:
        """The scan ended at the buffer's end, where more bytes of the file may exist."""
    @property
    def ndefects(self) -> int:
        """How many defects the scan tolerated (``defects`` keeps the first 16)."""
    @property
    def defects(self) -> list[tuple[int, int, int]]:
        """``[(kind code, tag, element offset), ...]`` in the order met; kinds: ``DEFECT_KINDS``."""
    def cut_short(self) -> bool:
        """Tolerate a truncated scan as pydicom does: values past the data's end cut at it, the
        defect recorded, the status made complete. Whether it did anything."""
    @property
    def buffer(self) -> Buffer:
        """The object that was scanned."""
    @property
    def error(self) -> tuple[type[DicomError], str] | None:
        """The exception class and message for a failed scan, or None."""
    def tag(self, i: int) -> int: ...
    def vr(self, i: int) -> str:
        """'SQ' for a sequence, the VR written in the file, or '' when the dictionary must decide
        (implicit VR, and UN)."""
    def flags(self, i: int) -> int: ...
    def depth(self, i: int) -> int: ...
    def length(self, i: int) -> int:
        """The value length in bytes; the content length for an undefined length."""
    def offset(self, i: int) -> int:
        """Where the value starts in the buffer."""
    def start(self, i: int) -> int:
        """Where the element (its tag) starts in the buffer."""
    def end(self, i: int) -> int:
        """The index one past the record's subtree: its next sibling."""
    def children(self, start: int, stop: int) -> list[int]:
        """The indices of the records directly in [start, stop)."""
    def tags(self, start: int, stop: int) -> dict[int, int]:
        """{tag: index} of the records directly in [start, stop); the first wins on duplicates."""
    def find(self, start: int, stop: int, tag: int) -> int:
        """Index of the first element with this tag directly in [start, stop), or -1."""
    def raw(self, i: int) -> memoryview:
        """The value's bytes, zero-copy, as a read-only memoryview on the buffer.

        Raises :class:`dicomfast.errors.TruncatedError` for a value that runs past the data.
        """
    def __reduce__(self) -> NoReturn:
        """Raises ``TypeError``: a Tape is pickled through its Dataset."""

def scan(
    buffer: Buffer,
    begin: int = 0,
    *,
    explicit_vr: bool = True,
    big_endian: bool = False,
    stop_before_pixels: bool = False,
    stop_after: int | None = None,
    stop_below: int = 0,
    wanted: Iterable[int] | None = None,
    detect: bool = True,
) -> Tape:
    """Scan one dataset of ``buffer`` from ``begin``; return its Tape.

    Never raises for bad data (``Tape.status`` and ``Tape.error`` say what stopped it); raises
    ``ValueError`` for a ``begin`` outside the buffer.
    """

FRAMING: Final[dict[str, int]]

def read_part10(
    buffer: Buffer, force: bool, stop_before_pixels: bool, wanted: tuple[int, ...] | None
) -> tuple[int, int, Tape | None, Tape | None, int]:
    """Frame and scan a Part 10 file (or, with ``force``, a bare dataset) in one call:
    ``(framing, prefix_end, meta_tape, tape, begin)``, ``framing`` one of FRAMING's values."""

def pread_into(fd: int, buffer: Buffer, offset: int) -> int:
    """Read ``fd`` from ``offset`` into the writable ``buffer`` until it is full or the file ends;
    return the bytes read (the GIL released)."""

def read_file(path: str | bytes | os.PathLike[str], limit: int = -1) -> tuple[bytes, int]:
    """Read up to ``limit`` bytes of a file (all of it when negative); return (bytes, file size)."""
