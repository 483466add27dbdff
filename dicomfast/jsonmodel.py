"""The DICOM JSON model (PS3.18 Annex F): a dataset as a ``dict`` ready for ``json.dumps``.

Each element is ``"GGGGEEEE": {"vr": VR, ...}`` with its value under one of three keys:

* ``"Value"``: a list, even for one value. Numbers are JSON numbers (IS and DS too, as
  pydicom writes them), AT values are ``"GGGGEEEE"`` strings, a PN value is an object of
  its ``"Alphabetic"``, ``"Ideographic"`` and ``"Phonetic"`` component groups (present up to the
  last non-empty one), a sequence is a list of item objects;
* ``"InlineBinary"``: the base64 of a binary value (OB, OD, OF, OL, OV, OW, UN);
* ``"BulkDataURI"``: what ``bulk_data_element_handler(element)`` returns for a binary value
  whose base64 would be longer than ``bulk_data_threshold`` characters.

An element with no value has only its ``"vr"`` (a sequence always has a ``"Value"``, ``[]`` when
it has no items); an empty item of a multi-valued number is ``null`` (PS3.18 F.2.5), where
pydicom raises. A DS or IS value that is not a number (kept as text when read, as pydicom keeps it)
raises :class:`~dicomfast.errors.InvalidValueError`: JSON has no encoding for it.

Otherwise the output is pydicom's ``Dataset.to_json_dict`` for the same file, with one principled
difference: pydicom takes the VR of a private element that has none (implicit VR) or says UN from
its private dictionary; dicomfast does not carry one, so such an element is ``UN`` with its bytes
inline. ``to_pydicom()`` lets pydicom decide those VRs, where its dictionary is wanted.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

from .errors import InvalidValueError

__all__ = ["to_json_dict", "to_json"]

_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_INT_VRS = frozenset({"IS", "SL", "SS", "SV", "UL", "US", "UV"})
_FLOAT_VRS = frozenset({"DS", "FD", "FL"})


def to_json_dict(
    dataset: Any,
    bulk_data_threshold: int = 1024,
    bulk_data_element_handler: Callable[[Any], str] | None = None,
) -> dict[str, Any]:
    """``dataset`` in the DICOM JSON model, as a ``dict`` keyed by ``"GGGGEEEE"``.

    ``bulk_data_element_handler`` is called with the :class:`~dicomfast.DataElement` of each
    binary value whose base64 encoding would exceed ``bulk_data_threshold`` characters (that is,
    a value longer than ``bulk_data_threshold // 4 * 3`` bytes) and returns its BulkDataURI.
    Without a handler every binary value is inline, whatever its size.
    """
    # The largest value, in bytes, whose base64 text fits the threshold (4 characters per 3 bytes).
    inline_limit = (bulk_data_threshold // 4) * 3
    return _dataset_dict(dataset, inline_limit, bulk_data_element_handler)


def to_json(
    dataset: Any,
    bulk_data_threshold: int = 1024,
    bulk_data_element_handler: Callable[[Any], str] | None = None,
    dump_handler: Callable[[dict[str, Any]], str] | None = None,
) -> str:
    """``dataset`` as DICOM JSON text; keys sorted unless ``dump_handler`` does otherwise."""
    model = to_json_dict(dataset, bulk_data_threshold, bulk_data_element_handler)
    if dump_handler is None:
        return json.dumps(model, sort_keys=True)
    return dump_handler(model)


def _dataset_dict(dataset: Any, inline_limit: int, handler: Callable | None) -> dict[str, Any]:
    return {
        f"{element.tag:08X}": _element_dict(element, inline_limit, handler) for element in dataset
    }


def _element_dict(element: Any, inline_limit: int, handler: Callable | None) -> dict[str, Any]:
    vr = element.VR
    out: dict[str, Any] = {"vr": vr}
    value = element.value
    if vr == "SQ":
        out["Value"] = [_dataset_dict(item, inline_limit, handler) for item in value]
        return out
    if vr in _BINARY_VRS or " or " in vr:
        if value is not None and len(value):
            if handler is not None and len(value) > inline_limit:
                out["BulkDataURI"] = handler(element)
            else:
                # PS3.18 F.2.7 (CP 1920): the base64 of the value as it is, not padded to even length.
                out["InlineBinary"] = base64.b64encode(value).decode("ascii")
        return out
    if _is_empty(value):
        return out
    values = value if isinstance(value, list) else [value]
    if vr == "PN":
        out["Value"] = [_person_name(v) for v in values]
    elif vr == "AT":
        out["Value"] = [format(v, "08X") for v in values]
    elif vr in _INT_VRS:
        out["Value"] = [_number(v, int, element) for v in values]
    elif vr in _FLOAT_VRS:
        out["Value"] = [_number(v, float, element) for v in values]
    else:
        out["Value"] = list(values)
    return out


def _number(value: Any, kind: type, element: Any) -> int | float | None:
    if value is None or isinstance(value, str) and not value.strip():
        return None  # an empty item of a multi-valued element is null (PS3.18 F.2.5)
    try:
        return kind(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidValueError(
            f"{element.tag!r} {element.VR} value {value!r} is not a number, and the DICOM JSON "
            "model has no other encoding for it"
        ) from None


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, bytes, bytearray, list)):
        return not value
    return False


def _person_name(value: str | None) -> dict[str, str]:
    """A PN value's component groups: alphabetic, ideographic, phonetic (PS3.5 6.2.1.1)."""
    groups = (value or "").split("=")
    # Trailing empty groups are left out; a name has at most three groups.
    while len(groups) > 1 and not groups[-1]:
        groups.pop()
    out = {"Alphabetic": groups[0]}
    if len(groups) > 1:
        out["Ideographic"] = groups[1]
    if len(groups) > 2:
        out["Phonetic"] = groups[2]
    return out
