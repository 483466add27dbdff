#!/usr/bin/env python3
"""Generate dicomfast's PS3.15 confidentiality profile table from the standard's.

Reads ``tools/standard/confidentiality_profile.json`` (PS3.15 Annex E Table E.1-1, the Attribute
Confidentiality Profiles) and writes ``dicomfast/_generated/confidentiality_profile.py``:

``OPTIONS``
    the option columns, in the table's order (``rtnSafePrivOpt``, ``rtnUIDsOpt``, ...).
``PROFILE``
    ``((value, mask, name, std_comp_iod, basic, options), ...)``: one row per public attribute; a tag
    ``t`` matches a row when ``t & mask == value`` (``mask`` is 0xFFFFFFFF for a plain tag; the
    repeating groups ``(50XX,XXXX)`` and ``(60XX,eeee)`` are masks); ``std_comp_iod`` says whether
    the attribute is in a standard composite IOD; ``basic`` is the Basic Profile action (``X``,
    ``Z``, ``D``, ``U``, ``X/Z``, ``X/D``, ``Z/D``, ``X/Z/D``, ``X/Z/U*``); ``options`` holds one
    action (or ``""``) per ``OPTIONS`` column. Sorted by mask (plain tags first), then value.
``PRIVATE``
    the row of the private attributes (``(GGGG,EEEE) WHERE GGGG IS ODD``): ``(basic, options)``.

Usage::

    python tools/gen_deid_profile.py               # rewrite the committed module
    python tools/gen_deid_profile.py --out-dir D   # write it into D instead (tests use this)

The output depends only on the input: rows are sorted and nothing depends on hash order or the
time, so re-running reproduces the committed module byte for byte.
"""
import argparse
import hashlib
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDARD_DIR = os.path.join(ROOT, "tools", "standard")
DEFAULT_OUT_DIR = os.path.join(ROOT, "dicomfast", "_generated")
SOURCE = "confidentiality_profile.json"
TARGET = "confidentiality_profile.py"

OPTIONS = ("rtnSafePrivOpt", "rtnUIDsOpt", "rtnDevIdOpt", "rtnInstIdOpt", "rtnPatCharsOpt",
           "rtnLongFullDatesOpt", "rtnLongModifDatesOpt", "cleanDescOpt", "cleanStructContOpt",
           "cleanGraphOpt")
BASIC_ACTIONS = {"X", "Z", "D", "U", "K", "C", "X/Z", "X/D", "Z/D", "X/Z/D", "X/Z/U*"}
OPTION_ACTIONS = {"K", "C"}
KNOWN_KEYS = {"name", "tag", "id", "stdCompIOD", "basicProfile", *OPTIONS}
TAG_RE = re.compile(r"\(([0-9A-FX]{4}),([0-9A-FX]{4})\)")
PRIVATE_TAG = "(GGGG,EEEE) WHERE GGGG IS ODD"


def value_and_mask(path, tag):
    """(value, mask) of a tag written ``(gggg,eeee)``, with ``XX`` digits for repeating groups."""
    m = TAG_RE.fullmatch(tag)
    if m is None:
        raise SystemExit(f"{path}: tag {tag!r} not understood")
    digits = m.group(1) + m.group(2)
    value = mask = 0
    for ch in digits:
        value <<= 4
        mask <<= 4
        if ch != "X":
            value |= int(ch, 16)
            mask |= 0xF
    if mask != 0xFFFFFFFF and digits[:2] not in ("50", "60"):
        raise SystemExit(f"{path}: repeating tag {tag!r} outside groups 50xx and 60xx")
    return value, mask


def load(standard_dir):
    path = os.path.join(standard_dir, SOURCE)
    with open(path, encoding="utf-8") as f:
        rows = json.load(f)
    profile, private = [], None
    seen = set()
    for row in rows:
        unknown = set(row) - KNOWN_KEYS
        if unknown:
            raise SystemExit(f"{path}: {row.get('tag')}: unknown columns {sorted(unknown)}")
        basic = row["basicProfile"]
        if basic not in BASIC_ACTIONS:
            raise SystemExit(f"{path}: {row['tag']}: Basic Profile action {basic!r} not understood")
        options = tuple(row.get(name, "") for name in OPTIONS)
        for name, action in zip(OPTIONS, options):
            if action and action not in OPTION_ACTIONS:
                raise SystemExit(f"{path}: {row['tag']}: {name} action {action!r} not understood")
        if row["stdCompIOD"] not in ("Y", "N"):
            raise SystemExit(f"{path}: {row['tag']}: stdCompIOD {row['stdCompIOD']!r} not understood")
        name = " ".join(row["name"].split())  # "Icon Image Sequence\n\n(see Note 11)": one line
        if row["tag"] == PRIVATE_TAG:
            private = (basic, options)
            continue
        value, mask = value_and_mask(path, row["tag"])
        if (value, mask) in seen:
            raise SystemExit(f"{path}: {row['tag']} listed twice")
        seen.add((value, mask))
        profile.append((value, mask, name, row["stdCompIOD"] == "Y", basic, options))
    if private is None:
        raise SystemExit(f"{path}: no row for the private attributes ({PRIVATE_TAG})")
    profile.sort(key=lambda r: (-bin(r[1]).count("1"), r[0], r[1]))
    return path, profile, private


def render(standard_dir):
    path, profile, private = load(standard_dir)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    out = [
        '"""The PS3.15 Attribute Confidentiality Profiles (Annex E, Table E.1-1).\n'
        "\n"
        "PROFILE: (value, mask, name, in a standard composite IOD, Basic Profile action, option\n"
        "actions in OPTIONS order) per attribute; a tag t matches when t & mask == value. PRIVATE:\n"
        "(Basic Profile action, option actions) of the private attributes. Use dicomfast.deid\n"
        "rather than this module.\n"
        "\n"
        "GENERATED FILE - DO NOT EDIT.\n"
        f"Generated by tools/gen_deid_profile.py from tools/standard/{SOURCE}\n"
        f"(DICOM PS3.15, 2024; sha256 {digest}).\n"
        "To change it, change the table or the generator and run: python tools/gen_deid_profile.py\n"
        '"""\n',
        "\n",
        "OPTIONS = (\n",
    ]
    out += [f"    {name!r},\n" for name in OPTIONS]
    out.append(")\n\n")
    out.append("# value, mask, name, std_comp_iod, basic, options; plain tags first, then by value.\n")
    out.append("PROFILE = (\n")
    for value, mask, name, std, basic, options in profile:
        out.append(f"    (0x{value:08X}, 0x{mask:08X}, {name!r}, {std!r}, {basic!r}, {options!r}),\n")
    out.append(")\n\n")
    out.append("# (GGGG,EEEE) where GGGG is odd\n")
    out.append(f"PRIVATE = {private!r}\n")
    return "".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--standard-dir", default=STANDARD_DIR, help=f"folder with {SOURCE}")
    parser.add_argument("--out-dir", default=DEFAULT_OUT_DIR, help="where to write the module")
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    target = os.path.join(args.out_dir, TARGET)
    text = render(args.standard_dir)
    with open(target, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
