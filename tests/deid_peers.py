"""What a de-identifier leaves that the PS3.15 Basic Profile removes: dicomfast against dicognito.

    python tests/deid_peers.py ROOT      # prints the Markdown table of docs/deid.md for the files under ROOT

Each DICOM file under ROOT is de-identified by ``dicomfast.deidentify`` (Basic Profile, no option)
and by dicognito (``Anonymizer().anonymize`` on a pydicom dataset, its defaults); both outputs are
written and read back with pydicom, and every element at every depth of the dataset (not the File
Meta Information) is looked up in the profile as :func:`dicomfast.deid.rules_for` resolves it: an
element the profile removes (action ``X``, or private) that is still there is *left*. Private
elements are counted per creator block.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

KEY = b"peer-comparison-key-not-a-secret"


def _removed_by_profile(tag: int, rules) -> bool:
    if (tag >> 16) & 1:
        return (tag & 0xFFFF) != 0  # private (a group length is not an attribute)
    return rules.action(tag) == "X"


def _left(written: bytes, rules) -> set[tuple[str, str]]:
    """{(tag, name)} of the elements of ``written`` that the profile removes."""
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(written))
    left = set()
    for element in ds.iterall():
        tag = int(element.tag)
        if not _removed_by_profile(tag, rules):
            continue
        if (tag >> 16) & 1:
            elem = tag & 0xFFFF
            if 0x0010 <= elem <= 0x00FF:
                creator = str(element.value)
            else:
                creator = getattr(element, "private_creator", None) or "?"
            left.add((f"({tag >> 16:04X},xxxx)", f"private: {creator}"))
        else:
            left.add((f"({tag >> 16:04X},{tag & 0xFFFF:04X})", element.name))
    return left


def _dicomfast(path: Path) -> bytes:
    import dicomfast

    ds = dicomfast.dcmread(path)
    dicomfast.deidentify(ds, key=KEY)
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def _dicognito(path: Path) -> bytes:
    import pydicom
    from dicognito.anonymizer import Anonymizer

    ds = pydicom.dcmread(path)
    Anonymizer(seed="peer-comparison").anonymize(ds)
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def compare(root: str | Path) -> dict[str, dict[tuple[str, str], int]]:
    """{tool: {(tag, name): how many files it was left in}} for the DICOM files under ``root``
    (``dicognito`` only when it is installed); ``files``: {("", "files"): how many files}."""
    from dicomfast.deid import rules_for

    rules = rules_for(frozenset())
    tools = {"dicomfast": _dicomfast}
    try:
        import dicognito.anonymizer  # noqa: F401
    except ImportError:
        pass
    else:
        tools["dicognito"] = _dicognito
    paths = [p for p in sorted(Path(root).rglob("*")) if p.is_file() and p.read_bytes()[128:132] == b"DICM"]
    result: dict[str, dict[tuple[str, str], int]] = {name: {} for name in tools}
    for path in paths:
        for name, tool in tools.items():
            for key in _left(tool(path), rules):
                result[name][key] = result[name].get(key, 0) + 1
    result["files"] = {("", "files"): len(paths)}
    return result


def table(result: dict) -> str:
    """The Markdown table: one row per attribute left by a tool, the number of files per tool."""
    n = result["files"][("", "files")]
    tools = [t for t in ("dicognito", "dicomfast") if t in result]
    keys = sorted({k for t in tools for k in result[t]}, key=lambda k: (k[1].startswith("private"), k))
    lines = [f"| tag | attribute | {' | '.join(f'{t} (of {n} files)' for t in tools)} |",
             "| --- | --- |" + " --- |" * len(tools)]
    for key in keys:
        lines.append(f"| `{key[0]}` | {key[1]} | " + " | ".join(str(result[t].get(key, 0) or "-") for t in tools) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(compare(sys.argv[1])))
