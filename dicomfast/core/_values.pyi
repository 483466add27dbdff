"""Type stub of the compiled value decoders (dicomfast/core/_values.pyx)."""

from collections.abc import Sequence
from typing import TypeAlias

from typing_extensions import Buffer

Scalar: TypeAlias = str | int | float | bytes
#: What a value decodes to: None (empty non-text value), a scalar, or a list of scalars
#: (several items; DS and IS lists may hold ``str`` for blank items).
Value: TypeAlias = Scalar | list[str] | list[int] | list[float] | list[str | int | float] | None

def decode(
    raw: Buffer,
    vr: str,
    big_endian: bool = False,
    encodings: Sequence[str] | str | None = None,
) -> Value:
    """Decode the value bytes of an element with VR ``vr`` as pydicom 3 does by default.

    ``encodings`` is the list from :func:`dicomfast.charset.python_encodings` (``None``: the
    default repertoire). Raises :class:`dicomfast.errors.InvalidValueError` for a value that
    cannot be decoded, an unknown VR, and SQ; ``TypeError`` for a non-contiguous buffer.
    """

def pack_vr(vr: str) -> int:
    """``ord(vr[0]) | ord(vr[1]) << 8``, the VR code of the C API; raises for a non-VR."""
