"""Element-by-element comparison of a dicomfast dataset with pydicom's reading of the same file.

pydicom is the reference. Its values are normalised to the plain types dicomfast returns
(DESIGN.md): MultiValue -> list, PersonName -> str, DSfloat -> float, IS -> int, UID -> str,
Sequence -> list of datasets. A difference is reported as a path to the element and both values.
"""

from __future__ import annotations

import math
from typing import Any

import pydicom
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as PydicomSequence
from pydicom.valuerep import PersonName


def normalise(value: Any) -> Any:
    if isinstance(value, PydicomSequence):
        return value
    if isinstance(value, (MultiValue, list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, PersonName):
        return str(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, float) and isinstance(ours, float):
        return ours == theirs or (math.isnan(ours) and math.isnan(theirs))
    if isinstance(theirs, list) and isinstance(ours, list):
        return len(ours) == len(theirs) and all(_same(a, b) for a, b in zip(ours, theirs))
    if isinstance(theirs, (bytes, bytearray)) and isinstance(ours, (bytes, bytearray, memoryview)):
        return bytes(ours) == bytes(theirs)
    return type(ours) is type(theirs) and ours == theirs or (
        # An int-valued value is equal as an int: pydicom's IS and our int.
        isinstance(ours, int) and isinstance(theirs, int) and ours == theirs
    )


def compare(ours, theirs, path: str = "") -> list[str]:
    """Every difference between a dicomfast dataset and a pydicom dataset, recursively."""
    problems: list[str] = []
    their_tags = [int(t) for t in theirs.keys()]
    our_tags = [int(t) for t in ours.keys()]
    if sorted(their_tags) != our_tags:
        missing = sorted(set(their_tags) - set(our_tags))
        extra = sorted(set(our_tags) - set(their_tags))
        problems.append(
            f"{path or 'top'}: tags differ: missing {[f'{t:08X}' for t in missing]}, "
            f"extra {[f'{t:08X}' for t in extra]}"
        )
    for tag in sorted(set(their_tags) & set(our_tags)):
        here = f"{path}({tag >> 16:04X},{tag & 0xFFFF:04X})"
        raw = theirs.get_item(tag)
        their_raw = raw.value if isinstance(getattr(raw, "value", None), (bytes, bytearray)) else None
        try:
            their_elem = theirs[tag]
            their_vr = str(their_elem.VR)
            their_value = their_elem.value
        except Exception as exc:  # pydicom cannot convert the value: ours may raise too
            try:
                ours[tag].value
            except Exception as our_exc:
                if not isinstance(our_exc, ValueError):
                    problems.append(f"{here}: pydicom raised {exc!r}, we raised {our_exc!r}")
            continue
        our_elem = ours[tag]
        if our_elem.VR != their_vr:
            problems.append(f"{here}: VR {our_elem.VR} != pydicom's {their_vr}")
            continue
        try:
            our_value = our_elem.value
        except Exception as exc:
            problems.append(f"{here}: dicomfast raised {exc!r}; pydicom gave {their_value!r:.80}")
            continue
        if their_vr == "SQ":
            if len(our_value) != len(their_value):
                problems.append(f"{here}: {len(our_value)} items != pydicom's {len(their_value)}")
                continue
            for number, (a, b) in enumerate(zip(our_value, their_value)):
                problems.extend(compare(a, b, f"{here}[{number}]."))
            continue
        expected = normalise(their_value)
        if not _same(our_value, expected):
            problems.append(f"{here} {their_vr}: {our_value!r:.120} != pydicom's {expected!r:.120}")
    return problems


def pydicom_read(path, **kwargs):
    """pydicom's reading, or the exception it raised."""
    try:
        return pydicom.dcmread(path, **kwargs), None
    except Exception as exc:  # noqa: BLE001 - any failure of the reference is data here
        return None, exc
