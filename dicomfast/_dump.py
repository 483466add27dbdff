"""A text listing of a dataset, in the layout of DCMTK's dcmdump."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dataset import DataElement, Dataset


def _shown(element: DataElement, max_value: int) -> str:
    vr = element.VR
    try:
        value = element.value
    except Exception as exc:  # a damaged value must not stop the listing
        return f"<cannot decode: {exc}>"
    if vr == "SQ":
        return f"(Sequence with {len(value)} item{'s' if len(value) != 1 else ''})"
    if value is None or value == "" or value == b"":
        return "(no value available)"
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value[: max_value // 3 + 1])
        text = "\\".join(f"{b:02x}" for b in data)
        more = "..." if len(value) > len(data) else ""
        return f"{text}{more}"
    items = value if isinstance(value, list) else [value]
    text = "\\".join(str(v) for v in items)
    if len(text) > max_value:
        text = text[: max_value - 3] + "..."
    return f"[{text}]"


def element_line(element: DataElement, max_value: int = 64, indent: str = "") -> str:
    shown = _shown(element, max_value)
    left = f"{indent}{element.tag!r} {element.VR} {shown}"
    keyword = element.keyword or element.name
    return f"{left:<{max(len(left), len(indent) + 60)}} # {element.length:>5}, {element.VM} {keyword}"


def dump(dataset: Dataset, *, max_value: int = 64) -> str:
    lines: list[str] = []
    if dataset.file_meta is not None:
        lines.append("# Dicom-Meta-Information-Header")
        _walk(dataset.file_meta, lines, "", max_value)
        lines.append("")
        lines.append("# Dicom-Data-Set")
    _walk(dataset, lines, "", max_value)
    return "\n".join(lines)


def _walk(dataset: Dataset, lines: list[str], indent: str, max_value: int) -> None:
    for element in dataset:
        lines.append(element_line(element, max_value, indent))
        if element.VR == "SQ":
            for number, item in enumerate(element.value, 1):
                lines.append(f"{indent}  (FFFE,E000) na (Item #{number} with {len(item)} elements)")
                _walk(item, lines, indent + "    ", max_value)
