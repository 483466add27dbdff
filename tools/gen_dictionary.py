#!/usr/bin/env python3
"""Generate dicomfast's data dictionary modules from the standard's tables.

Reads ``tools/standard/data_elements.tsv`` (PS3.6 data elements, plus the PS3.7 command group) and
``tools/standard/uids.tsv`` (PS3.6 UID registry) and writes:

``dicomfast/_generated/dictionary.py``
    ``DICTIONARY``: ``{tag: (VR, VM, name, retired, keyword)}`` for every fully specified tag, and
    ``REPEATERS``: ``((value, mask, entry), ...)`` for the rows written with ``xx`` (a tag ``t``
    matches when ``t & mask == value``).
``dicomfast/_generated/uids.py``
    ``UID_DICTIONARY``: ``{uid: (name, type, info, retired, keyword)}`` and one string constant per
    Transfer Syntax row, named by its keyword.
``dicomfast/_generated/private_dictionary.py``
    ``PRIVATE_DICTIONARY``: ``{creator: {pattern: (VR, VM, name, retired)}}`` from
    ``tools/standard/private_dictionary.tsv``; a pattern is the tag's 8 hex digits with ``xx``
    for the private block byte (``0029xx10``), as the table writes it.

Usage::

    python tools/gen_dictionary.py               # rewrite the committed modules
    python tools/gen_dictionary.py --out-dir D   # write them into D instead (tests use this)

The output depends only on the input files: rows are sorted, nothing depends on hash order or on
the time, so re-running reproduces the committed modules byte for byte.
"""
import argparse
import hashlib
import keyword as pykeyword
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDARD_DIR = os.path.join(ROOT, "tools", "standard")
DEFAULT_OUT_DIR = os.path.join(ROOT, "dicomfast", "_generated")

ELEMENTS_TSV = "data_elements.tsv"
UIDS_TSV = "uids.tsv"
PRIVATE_TSV = "private_dictionary.tsv"
PRIVATE_COLUMNS = ["creator", "tag", "vr", "vm", "name", "retired"]
# A private tag pattern: 8 hex digits, some written x (the block byte, or a whole group range).
PRIVATE_TAG_RE = re.compile(r"[0-9A-F]{2}[0-9A-Fx]{6}")
PRIVATE_VR_RE = re.compile(r"[A-Z]{2}( or [A-Z]{2})*|OB_OW")
ELEMENT_COLUMNS = ["tag", "vr", "vm", "name", "retired", "keyword"]
UID_COLUMNS = ["uid", "name", "type", "info", "retired", "keyword"]

TAG_RE = re.compile(r"\(([0-9A-Fx]{4}),([0-9A-Fx]{4})\)")
# A VR as the table writes it: "US", "OB or OW", "US or SS or OW", or NONE (item, delimiters).
VR_RE = re.compile(r"[A-Z]{2}( or [A-Z]{2})*|NONE")
RETIRED = {"Y": True, "N": False}


def read_tsv(path, columns):
    """Rows of a tab-separated file whose first line is exactly ``columns``."""
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header = lines[0].rstrip("\r").split("\t")
    if header != columns:
        raise SystemExit(f"{path}: header {header!r}, expected {columns!r}")
    rows = []
    for lineno, line in enumerate(lines[1:], 2):
        cells = line.rstrip("\r").split("\t")
        if len(cells) != len(columns):
            raise SystemExit(f"{path}:{lineno}: {len(cells)} cells, expected {len(columns)}")
        rows.append((lineno, cells))
    return rows


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def edition(standard_dir, filename):
    """The edition the README's table gives for ``filename`` (e.g. ``2024d``)."""
    with open(os.path.join(standard_dir, "README.md"), encoding="utf-8") as f:
        for line in f:
            if line.startswith(f"| `{filename}` |"):
                found = re.search(r"\|\s*(\d{4}[a-e])\s*\|\s*$", line.strip())
                if found:
                    return found.group(1)
    raise SystemExit(f"README.md in {standard_dir} gives no edition for {filename}")


def parse_retired(path, lineno, value):
    try:
        return RETIRED[value]
    except KeyError:
        raise SystemExit(f"{path}:{lineno}: retired is {value!r}, expected Y or N") from None


def mask_of(pattern):
    """``(value, mask)`` for an 8-character tag pattern whose ``x`` nibbles match any digit."""
    value = mask = 0
    for ch in pattern:
        value <<= 4
        mask <<= 4
        if ch != "x":
            value |= int(ch, 16)
            mask |= 0xF
    return value, mask


def masks_overlap(a, b):
    """True if some tag matches both ``(value, mask)`` pairs."""
    common = a[1] & b[1]
    return (a[0] & common) == (b[0] & common)


def load_elements(standard_dir):
    path = os.path.join(standard_dir, ELEMENTS_TSV)
    exact = {}
    repeaters = []
    keywords = {}
    for lineno, (tag, vr, vm, name, retired, kw) in read_tsv(path, ELEMENT_COLUMNS):
        m = TAG_RE.fullmatch(tag)
        if not m:
            raise SystemExit(f"{path}:{lineno}: bad tag {tag!r}")
        if not VR_RE.fullmatch(vr) or not vm:
            raise SystemExit(f"{path}:{lineno}: VR {vr!r} or VM {vm!r} not understood")
        if kw:
            if not kw.isidentifier():
                raise SystemExit(f"{path}:{lineno}: keyword {kw!r} is not an identifier")
            if kw in keywords:
                raise SystemExit(f"{path}:{lineno}: keyword {kw} also on line {keywords[kw]}")
            keywords[kw] = lineno
        pattern = m.group(1) + m.group(2)
        entry = (vr, vm, name, parse_retired(path, lineno, retired), kw)
        if "x" in pattern:
            value, mask = mask_of(pattern)
            repeaters.append((pattern, value, mask, entry))
        else:
            t = int(pattern, 16)
            if t in exact:
                raise SystemExit(f"{path}:{lineno}: tag {tag} listed twice")
            exact[t] = entry
    # Most specific pattern first (fewest x), then by pattern: a fixed, documented order.
    repeaters.sort(key=lambda r: (r[0].count("x"), r[0]))
    for i, a in enumerate(repeaters):
        for b in repeaters[i + 1:]:
            if masks_overlap(a[1:3], b[1:3]):
                raise SystemExit(f"{path}: patterns {a[0]} and {b[0]} overlap")
    return exact, repeaters


def load_uids(standard_dir):
    path = os.path.join(standard_dir, UIDS_TSV)
    uids = {}
    keywords = {}
    for lineno, (uid, name, uid_type, info, retired, kw) in read_tsv(path, UID_COLUMNS):
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", uid):
            raise SystemExit(f"{path}:{lineno}: bad UID {uid!r}")
        if uid in uids:
            raise SystemExit(f"{path}:{lineno}: UID {uid} listed twice")
        if kw:
            if kw in keywords:
                raise SystemExit(f"{path}:{lineno}: keyword {kw} also on line {keywords[kw]}")
            keywords[kw] = lineno
        if uid_type == "Transfer Syntax" and (not kw.isidentifier() or pykeyword.iskeyword(kw)):
            raise SystemExit(f"{path}:{lineno}: transfer syntax keyword {kw!r} is not a name")
        uids[uid] = (name, uid_type, info, parse_retired(path, lineno, retired), kw)
    return uids


def uid_sort_key(uid):
    return tuple(int(part) for part in uid.split("."))


# Characters a cell may not contain: the tab and newline delimit the text tables the modules
# carry, and a backslash or a double quote could end or change the string literal they sit in.
FORBIDDEN = re.compile(r'[\t\n\r\\"]')

def header(source, ed, digest, what):
    return (
        f'"""{what}\n'
        "\n"
        "GENERATED FILE - DO NOT EDIT.\n"
        "Generated by tools/gen_dictionary.py from tools/standard/"
        f"{source}\n"
        f"(DICOM standard, edition {ed}; sha256 {digest}).\n"
        "To change it, change the table or the generator and run: python tools/gen_dictionary.py\n"
        '"""\n'
    )


def table(comment, rows, path):
    """The module-level ``_TABLE``: one line per row, cells separated by tabs.

    Each row is (key, 3 value cells, keyword, retired Y/N): the last cell is never empty, so no
    line of the generated module ends in white space.
    """
    out = [comment, '_TABLE = """\\\n']
    for row in rows:
        for cell in row:
            if FORBIDDEN.search(cell):
                raise SystemExit(f"{path}: cell {cell!r} holds a tab, newline, backslash or quote")
        out.append("\t".join(row) + "\n")
    out.append('"""\n')
    return out


def yn(flag):
    return "Y" if flag else "N"


def render_dictionary(standard_dir):
    exact, repeaters = load_elements(standard_dir)
    path = os.path.join(standard_dir, ELEMENTS_TSV)
    ed = edition(standard_dir, ELEMENTS_TSV)
    out = [
        header(
            ELEMENTS_TSV,
            ed,
            sha256(path),
            "The DICOM data dictionary (PS3.6 data elements and the PS3.7 command group).\n"
            "\n"
            "DICTIONARY maps a tag (int) to (VR, VM, name, retired, keyword). REPEATERS lists the\n"
            "rows the standard writes with 'xx' as (value, mask, entry): a tag t matches when\n"
            "t & mask == value. Use dicomfast.datadict rather than this module.",
        ),
        "from . import load_rows\n",
        "\n",
        f"EDITION = {ed!r}\n",
        "\n",
    ]
    rows = [
        (f"{t:08X}", vr, vm, name, kw, yn(retired))
        for t, (vr, vm, name, retired, kw) in sorted(exact.items())
    ]
    comment = "# tag (8 hex digits), VR, VM, name, keyword, retired; sorted by tag.\n"
    out += table(comment, rows, path)
    out.append("\nDICTIONARY = load_rows(_TABLE, hex_keys=True, shared=(1, 2))  # VR, VM\n")
    out.append("del _TABLE\n\n")
    out.append("# Most specific pattern first; no two patterns overlap (the generator checks).\n")
    out.append("REPEATERS = (\n")
    for pattern, value, mask, entry in repeaters:
        text = f"({pattern[:4]},{pattern[4:]})"
        out.append(f"    (0x{value:08X}, 0x{mask:08X}, {entry!r}),  # {text}\n")
    out.append(")\n")
    return "".join(out)


def render_uids(standard_dir):
    uids = load_uids(standard_dir)
    path = os.path.join(standard_dir, UIDS_TSV)
    ed = edition(standard_dir, UIDS_TSV)
    order = sorted(uids, key=uid_sort_key)
    ts = [uid for uid in order if uids[uid][1] == "Transfer Syntax"]
    out = [
        header(
            UIDS_TSV,
            ed,
            sha256(path),
            "The DICOM UID registry (PS3.6 Table A-1 and related tables).\n"
            "\n"
            "UID_DICTIONARY maps a UID to (name, type, info, retired, keyword); one constant per\n"
            "Transfer Syntax, named by its keyword. Use dicomfast.uid rather than this module.",
        ),
        "from . import load_rows\n",
        "\n",
        "__all__ = [\n",
    ]
    out += [f"    {uids[uid][4]!r},\n" for uid in ts]
    out.append("]\n\n")
    out.append(f"EDITION = {ed!r}\n\n")
    rows = []
    for uid in order:
        name, uid_type, info, retired, kw = uids[uid]
        rows.append((uid, name, uid_type, info, kw, yn(retired)))
    out += table("# UID, name, type, info, keyword, retired; sorted by UID.\n", rows, path)
    out.append("\nUID_DICTIONARY = load_rows(_TABLE, hex_keys=False, shared=(2, 3))  # type, info\n")
    out.append("del _TABLE\n\n")
    out.append("# Transfer Syntax UIDs, by keyword.\n")
    for uid in ts:
        out.append(f"{uids[uid][4]} = {uid!r}\n")
    return "".join(out)


def load_private(standard_dir):
    path = os.path.join(standard_dir, PRIVATE_TSV)
    rows = {}
    for lineno, (creator, tag, vr, vm, name, retired) in read_tsv(path, PRIVATE_COLUMNS):
        if not creator or creator != creator.strip(" ") or not PRIVATE_TAG_RE.fullmatch(tag):
            raise SystemExit(f"{path}:{lineno}: creator {creator!r} or tag {tag!r} not understood")
        if not PRIVATE_VR_RE.fullmatch(vr) or not vm:
            raise SystemExit(f"{path}:{lineno}: VR {vr!r} or VM {vm!r} not understood")
        if (creator, tag) in rows:
            raise SystemExit(f"{path}:{lineno}: {creator} {tag} listed twice")
        rows[(creator, tag)] = (vr, vm, name, parse_retired(path, lineno, retired or "N"))
    return rows


# The private table sits in a raw string (its names hold backslashes): only these may not appear.
PRIVATE_FORBIDDEN = re.compile(r'[\t\n\r"]|\\$')


def render_private(standard_dir):
    rows = load_private(standard_dir)
    path = os.path.join(standard_dir, PRIVATE_TSV)
    out = [
        '"""The private data dictionary: private data elements by private creator.\n'
        "\n"
        "PRIVATE_DICTIONARY maps a creator (the Private Creator value) to {pattern: (VR, VM, name,\n"
        "retired)}; a pattern is a tag's 8 hex digits with 'xx' for the private block byte\n"
        "('0029xx10'). Use dicomfast.datadict (private_entry, private_dictionary_VR) rather than this.\n"
        "\n"
        "GENERATED FILE - DO NOT EDIT.\n"
        f"Generated by tools/gen_dictionary.py from tools/standard/{PRIVATE_TSV}\n"
        f"(as collected by pydicom 3.0.2; sha256 {sha256(path)}).\n"
        "To change it, change the table or the generator and run: python tools/gen_dictionary.py\n"
        '"""\n',
        "from . import load_private_rows\n",
        "\n",
        "# creator, tag pattern, VR, VM, name, retired Y/N; sorted by creator, then pattern.\n",
        '_TABLE = r"""\n',
    ]
    for (creator, tag), (vr, vm, name, retired) in sorted(rows.items()):
        cells = (creator, tag, vr, vm, name, yn(retired))
        for cell in cells:
            if PRIVATE_FORBIDDEN.search(cell):
                raise SystemExit(f"{path}: cell {cell!r} holds a tab, newline, quote or final backslash")
        out.append("\t".join(cells) + "\n")
    out.append('"""\n')
    out.append("\nPRIVATE_DICTIONARY = load_private_rows(_TABLE)\n")
    out.append("del _TABLE\n")
    return "".join(out)


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--standard-dir", default=STANDARD_DIR, help="folder with the .tsv tables")
    parser.add_argument("--out-dir", default=DEFAULT_OUT_DIR, help="where to write the modules")
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    for name, render in (("dictionary.py", render_dictionary), ("uids.py", render_uids),
                         ("private_dictionary.py", render_private)):
        target = os.path.join(args.out_dir, name)
        write(target, render(args.standard_dir))
        print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
