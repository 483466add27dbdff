#!/usr/bin/env python3
"""Generate dicomfast's table of IOD attribute types for the de-identification choices.

Where PS3.15 Table E.1-1 lets the profile choose (``X/Z``, ``X/D``, ``Z/D``, ``X/Z/D``,
``X/Z/U*``), dicomfast chooses by the type (1, 1C, 2, 2C, 3) the attribute has in the IOD of the
file's SOP Class (docs/deid.md). This writes ``dicomfast/_generated/iod_types.py`` from:

* ``tools/standard/confidentiality_profile.json`` (the profile: which attributes have a choice) and
  ``tools/standard/data_elements.tsv`` (keyword -> tag), both in this repository;
* the PS3.3 / PS3.4 extraction that the ``highdicom`` package ships (MIT licence):
  ``highdicom/_standard/sop_class_iod_map.json`` (SOP Class UID -> IOD),
  ``iod_module_map.json`` (IOD -> modules) and ``module_attribute_map.json`` (module ->
  attributes with their type and their path of sequences). Only these facts are used.

For each IOD that a SOP Class names, and each profile attribute with a choice, the type of the
attribute **at the top level** of the IOD (an attribute whose path is empty): the strictest when
several modules of the IOD hold it (1, then 1C, 2, 2C, 3), whatever the module's usage (M, C or
U: a module that is present must be valid). Attributes inside sequence items are not tabled: their
type is their macro's, which depends on the sequence they are in; the engine gives them the
IOD-independent rule. A type the source gives as ``None`` (the normalized print IODs) is no type.

The module (kept small: one string per IOD, shared by the SOP classes of that IOD, one character
per attribute with a choice):

``TAGS``        the profile's attributes with a choice, in table order
``CODES``       {character: type}: ``1``, ``a`` (1C), ``2``, ``b`` (2C), ``3``; ``.``: not in the IOD
``IODS``        {IOD name: one character per ``TAGS`` entry}
``SOP_CLASSES`` {SOP Class UID: IOD name}

Usage::

    python tools/gen_iod_types.py                     # from the installed highdicom
    python tools/gen_iod_types.py --source WHEEL|DIR  # from a highdicom wheel or a folder of the JSON files
    python tools/gen_iod_types.py --out-dir D         # write into D instead (tests use this)

The output depends only on the inputs (sorted, no time, no hash order), so a re-run reproduces the
committed module byte for byte.
"""
import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDARD_DIR = os.path.join(ROOT, "tools", "standard")
DEFAULT_OUT_DIR = os.path.join(ROOT, "dicomfast", "_generated")
TARGET = "iod_types.py"
PROFILE_JSON = "confidentiality_profile.json"
ELEMENTS_TSV = "data_elements.tsv"
SOURCES = ("sop_class_iod_map.json", "iod_module_map.json", "module_attribute_map.json")
#: From strictest to weakest: the strictest decides when an attribute is in several modules.
TYPES = ("1", "1C", "2", "2C", "3")
CODES = {"1": "1", "1C": "a", "2": "2", "2C": "b", "3": "3"}
NOT_IN_IOD = "."
TAG_RE = re.compile(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)")


class Source:
    """The three JSON files of highdicom's ``_standard`` folder, from a wheel, a folder or the
    installed package, with where they came from (for the provenance line)."""

    def __init__(self, path):
        self.texts = {}
        if path is None:
            spec = importlib.util.find_spec("highdicom")  # finds the package; does not import it
            if spec is None or not spec.submodule_search_locations:
                raise SystemExit("highdicom is not installed: pip install highdicom, or pass --source WHEEL|DIR")
            folder = os.path.join(list(spec.submodule_search_locations)[0], "_standard")
            self.version = importlib.metadata.version("highdicom")
            self._read_folder(folder)
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                for name in SOURCES:
                    self.texts[name] = z.read(f"highdicom/_standard/{name}")
                metadata = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
                self.version = _version(z.read(metadata[0]).decode("utf-8")) if metadata else "unknown"
        else:
            self.version = "unknown"
            self._read_folder(path)

    def _read_folder(self, folder):
        for name in SOURCES:
            with open(os.path.join(folder, name), "rb") as f:
                self.texts[name] = f.read()

    def load(self, name):
        return json.loads(self.texts[name])

    def digest(self):
        h = hashlib.sha256()
        for name in SOURCES:
            h.update(hashlib.sha256(self.texts[name]).digest())
        return h.hexdigest()


def _version(metadata):
    for line in metadata.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def choice_attributes(standard_dir):
    """[(tag, keyword, Basic Profile action)] of the profile's plain tags with a choice."""
    keywords = {}
    with open(os.path.join(standard_dir, ELEMENTS_TSV), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col_tag, col_keyword = header.index("tag"), header.index("keyword")
        for line in f:
            cells = line.rstrip("\n").split("\t")
            m = TAG_RE.fullmatch(cells[col_tag])
            if m and cells[col_keyword]:
                keywords[int(m.group(1) + m.group(2), 16)] = cells[col_keyword]
    with open(os.path.join(standard_dir, PROFILE_JSON), encoding="utf-8") as f:
        rows = json.load(f)
    out = []
    for row in rows:
        if "/" not in row["basicProfile"]:
            continue
        m = TAG_RE.fullmatch(row["tag"])
        if m is None:
            raise SystemExit(f"{PROFILE_JSON}: {row['tag']}: a choice on a repeating or private tag is not handled")
        tag = int(m.group(1) + m.group(2), 16)
        if tag not in keywords:
            raise SystemExit(f"{ELEMENTS_TSV} has no keyword for {row['tag']} ({row['name']!r})")
        out.append((tag, keywords[tag], row["basicProfile"]))
    out.sort()
    return out


def uid_sort_key(uid):
    return tuple(int(part) for part in uid.split("."))


def build(source, attributes):
    """({IOD: code string}, {SOP Class UID: IOD}, [modules named by an IOD that the source lacks])."""
    sop_classes = source.load(SOURCES[0])
    iod_modules = source.load(SOURCES[1])
    module_attributes = source.load(SOURCES[2])
    wanted = {keyword: k for k, (_tag, keyword, _basic) in enumerate(attributes)}
    rank = {t: k for k, t in enumerate(TYPES)}
    missing = set()
    iods = {}
    for iod in sorted(set(sop_classes.values())):
        if iod not in iod_modules:
            raise SystemExit(f"{SOURCES[1]} has no IOD {iod!r} (named by {SOURCES[0]})")
        best = [None] * len(attributes)
        for module in iod_modules[iod]:
            entries = module_attributes.get(module["key"])
            if entries is None:
                missing.add(module["key"])
                continue
            for entry in entries:
                k = wanted.get(entry["keyword"])
                if k is None or entry["path"]:
                    continue
                kind = entry["type"]
                if kind == "None":
                    continue
                if kind not in rank:
                    raise SystemExit(f"{SOURCES[2]}: {module['key']}: {entry['keyword']}: type {kind!r} not understood")
                if best[k] is None or rank[kind] < rank[best[k]]:
                    best[k] = kind
        iods[iod] = "".join(NOT_IN_IOD if kind is None else CODES[kind] for kind in best)
    return iods, dict(sorted(sop_classes.items(), key=lambda item: uid_sort_key(item[0]))), sorted(missing)


def render(standard_dir, source):
    attributes = choice_attributes(standard_dir)
    iods, sop_classes, missing = build(source, attributes)
    lines = [
        '"""The type (1, 1C, 2, 2C, 3) of each PS3.15 profile attribute with a choice, at the top level\n'
        "of each IOD, for the de-identification's choice by type (dicomfast.deid.profile).\n"
        "\n"
        "TAGS: the attributes, in order. CODES: {character: type}, '.' not in the IOD. IODS: {IOD: one\n"
        "character per TAGS entry}. SOP_CLASSES: {SOP Class UID: IOD}. Use dicomfast.deid rather than\n"
        "this module.\n"
        "\n"
        "GENERATED FILE - DO NOT EDIT.\n"
        f"Generated by tools/gen_iod_types.py from tools/standard/{PROFILE_JSON}, {ELEMENTS_TSV}\n"
        f"and highdicom {source.version}'s _standard/{{{','.join(SOURCES)}}}\n"
        f"(extracted from DICOM PS3.3/PS3.4 by the highdicom project, MIT licence; sha256 {source.digest()}).\n",
    ]
    if missing:
        lines.append(f"Modules the source names but does not describe (their attributes are unknown): {', '.join(missing)}.\n")
    lines.append("To change it, change the generator and run: python tools/gen_iod_types.py [--source WHEEL|DIR]\n")
    lines.append('"""\n\n')
    lines.append("TAGS = (\n")
    lines += [f"    0x{tag:08X},  # {basic:7} {keyword}\n" for tag, keyword, basic in attributes]
    lines.append(")\n\n")
    lines.append(f"CODES = {{{', '.join(f'{c!r}: {t!r}' for t, c in CODES.items())}, {NOT_IN_IOD!r}: None}}\n\n")
    lines.append("IODS = {\n")
    lines += [f"    {iod!r}: {codes!r},\n" for iod, codes in iods.items()]
    lines.append("}\n\n")
    lines.append("SOP_CLASSES = {\n")
    lines += [f"    {uid!r}: {iod!r},\n" for uid, iod in sop_classes.items()]
    lines.append("}\n")
    return "".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", help="a highdicom wheel, or a folder with its _standard JSON files "
                                         "(default: the installed highdicom)")
    parser.add_argument("--standard-dir", default=STANDARD_DIR, help=f"folder with {PROFILE_JSON} and {ELEMENTS_TSV}")
    parser.add_argument("--out-dir", default=DEFAULT_OUT_DIR, help="where to write the module")
    args = parser.parse_args(argv)
    text = render(args.standard_dir, Source(args.source))
    os.makedirs(args.out_dir, exist_ok=True)
    target = os.path.join(args.out_dir, TARGET)
    with open(target, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
