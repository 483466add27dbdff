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
    try:
        vm = element.VM  # decodes the value: a damaged one must not stop the listing either
    except Exception:
        vm = "?"
    return f"{left:<{max(len(left), len(indent) + 60)}} # {element.length:>5}, {vm} {keyword}"


def dump(dataset: Dataset, *, max_value: int = 64, max_depth: int | None = None) -> str:
    """The listing of ``dataset`` (and its file meta group). ``max_depth`` limits how many levels
    of sequences are expanded: 0 lists only the top-level elements (a sequence as its item count)."""
    lines: list[str] = []
    if dataset.file_meta is not None:
        lines.append("# Dicom-Meta-Information-Header")
        _walk(dataset.file_meta, lines, "", max_value, max_depth)
        lines.append("")
        lines.append("# Dicom-Data-Set")
    _walk(dataset, lines, "", max_value, max_depth)
    return "\n".join(lines)


def _walk(dataset: Dataset, lines: list[str], indent: str, max_value: int, max_depth: int | None) -> None:
    for element in dataset:
        lines.append(element_line(element, max_value, indent))
        if element.VR == "SQ" and (max_depth is None or max_depth > 0):
            try:
                items = element.value
            except Exception:  # already shown as "<cannot decode: ...>"
                continue
            deeper = None if max_depth is None else max_depth - 1
            for number, item in enumerate(items, 1):
                lines.append(f"{indent}  (FFFE,E000) na (Item #{number} with {len(item)} elements)")
                _walk(item, lines, indent + "    ", max_value, deeper)
