"""Conversion to pydicom, for anything the rest of the ecosystem needs (editing, writing,
networking, the pydicom-based tools).

:func:`to_pydicom` builds a ``pydicom.Dataset`` element by element from a dicomfast dataset. The
result compares equal, element by element, to ``pydicom.dcmread`` of the same file, and
``pydicom.dcmwrite`` can write it back:

* values are handed to pydicom as the plain Python values dicomfast decoded (pydicom wraps them
  in its own types: ``PersonName``, ``UID``, ``MultiValue``, ...). Two exceptions, both so that a
  written file keeps its bytes: DS and IS values are given as the text of the file (a ``float``
  would be written back as its ``repr``, which need not be the original text nor fit DS's 16
  characters), and binary values are given as the bytes of the file, in the file's byte order,
  as pydicom keeps them;
* an element that dicomfast reports as UN (the VR of an implicit-VR private element, or of a
  public tag its dictionary does not know) is handed to pydicom as its raw bytes, so that
  pydicom assigns the VR from its own dictionaries (the private dictionary included), exactly
  as its reader does;
* sequences are converted recursively, and every dataset is given the original encoding
  (implicit/explicit VR, endianness, character set) that pydicom's reader records, with the
  file meta as a ``FileMetaDataset`` and the preamble, so that ``dcmwrite`` writes the dataset in
  the transfer syntax it was read in.

pydicom is imported only when a conversion is asked for; it is not a dependency of dicomfast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["to_pydicom"]

_TAG_CHARSET = 0x00080005
_NUMBER_TEXT_VRS = frozenset({"DS", "IS"})
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW"})


def _pydicom():
    try:
        import pydicom
        import pydicom.charset
        import pydicom.config
        import pydicom.dataelem
        import pydicom.dataset
        import pydicom.sequence
        import pydicom.tag
    except ImportError as exc:
        raise ImportError(
            f"to_pydicom() needs pydicom, which is not installed ({exc}): `pip install pydicom`"
        ) from exc
    return pydicom


def to_pydicom(dataset: Any) -> Any:
    """A ``pydicom.Dataset`` holding the same elements as ``dataset``.

    For a dataset read from a file, the result also has ``file_meta`` (a
    ``pydicom.dataset.FileMetaDataset``) and ``preamble``, and records the encoding the data was
    read in (``original_encoding``), so ``pydicom.dcmwrite(out, result)`` writes it back. An
    item of a sequence can be converted too: its text is decoded with the character set it
    inherits.

    Raises ``ImportError`` (saying ``pip install pydicom``) if pydicom is not installed.
    """
    pydicom = _pydicom()
    converter = _Converter(pydicom)
    out = converter.dataset(dataset, converter.inherited_encoding(dataset))
    meta = dataset.file_meta
    if meta is not None:
        out_meta = pydicom.dataset.FileMetaDataset()
        converter.fill(out_meta, meta, pydicom.charset.default_encoding)
        out_meta.set_original_encoding(False, True, pydicom.charset.default_encoding)
        out.file_meta = out_meta
    if dataset.preamble is not None:
        out.preamble = dataset.preamble
    return out


class _Converter:
    """Converts datasets, recursively, each with the encoding it was read in."""

    def __init__(self, pydicom: Any) -> None:
        self.pydicom = pydicom
        self.ignore = pydicom.config.IGNORE
        self.reading_mode = pydicom.config.settings.reading_validation_mode

    def inherited_encoding(self, dataset: Any) -> Any:
        """The pydicom encoding an item inherits from the datasets that contain it."""
        parent = dataset._parent
        while parent is not None:
            if _TAG_CHARSET in parent:
                return self.pydicom.charset.convert_encodings(parent[_TAG_CHARSET].value)
            parent = parent._parent
        return self.pydicom.charset.default_encoding

    def dataset(self, dataset: Any, parent_encoding: Any) -> Any:
        out = self.pydicom.dataset.Dataset(parent_encoding=parent_encoding)
        encoding = self.fill(out, dataset, parent_encoding)
        out.set_original_encoding(dataset.is_implicit_VR, dataset.is_little_endian, encoding)
        return out

    def fill(self, out: Any, dataset: Any, parent_encoding: Any) -> Any:
        """Add the elements of ``dataset`` to ``out``; return the dataset's pydicom encoding."""
        encoding = parent_encoding
        if _TAG_CHARSET in dataset:
            encoding = self.pydicom.charset.convert_encodings(dataset[_TAG_CHARSET].value)
        # Tag order matters: a private creator is in ``out`` before the elements of its block,
        # which pydicom's private dictionary lookup needs.
        implicit, little = dataset.is_implicit_VR, dataset.is_little_endian
        for element in dataset:
            out[element.tag] = self.element(element, out, encoding, implicit, little)
        return encoding

    def element(self, element: Any, out: Any, encoding: Any, implicit: bool, little: bool) -> Any:
        pydicom = self.pydicom
        tag = element.tag
        vr = element.VR
        undefined = element.is_undefined_length
        if vr == "SQ":
            items = [self.dataset(item, encoding) for item in element.value]
            return self._new(tag, vr, pydicom.sequence.Sequence(items), undefined)
        if vr == "UN":
            # pydicom's dictionaries (its private dictionary above all) decide, as in its reader.
            raw = self._raw(element, None if implicit else "UN", implicit, little)
            try:
                return pydicom.dataelem.convert_raw_data_element(raw, encoding=encoding, ds=out)
            except Exception:  # noqa: BLE001 - pydicom's read would fail on access too: defer
                return raw
        if vr in _NUMBER_TEXT_VRS:
            value: Any = bytes(element.raw_value()).decode("latin-1").rstrip("\x00 ") or None
        elif vr in _BINARY_VRS and element.length and not undefined:
            value = bytes(element.raw_value())
        else:
            try:
                value = element.value
            except ValueError:
                # A value dicomfast cannot decode: pydicom gets the bytes and decides on access,
                # as it does for a file it reads.
                return self._raw(element, vr, implicit, little)
            if isinstance(value, (bytes, bytearray, memoryview)):
                value = bytes(value)
        try:
            return self._new(tag, vr, value, undefined)
        except (ValueError, TypeError, OverflowError):
            return self._raw(element, vr, implicit, little)

    def _new(self, tag: int, vr: str, value: Any, undefined: bool) -> Any:
        # Built without validation (the values were read, not written by the caller), then set
        # to validate as a read element does, so that later edits are checked.
        element = self.pydicom.dataelem.DataElement(
            tag, vr, value, is_undefined_length=undefined, validation_mode=self.ignore
        )
        element.validation_mode = self.reading_mode
        return element

    def _raw(self, element: Any, vr: str | None, implicit: bool, little: bool) -> Any:
        pydicom = self.pydicom
        length = 0xFFFFFFFF if element.is_undefined_length else element.length
        return pydicom.dataelem.RawDataElement(
            pydicom.tag.Tag(element.tag), vr, length, bytes(element.raw_value()),
            element.file_offset, implicit, little,
        )
