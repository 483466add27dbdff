"""De-identification choices by the IOD's attribute types (docs/deid.md, "Choices"): the generated
table (tools/gen_iod_types.py, from highdicom's extraction of PS3.3), the rule, and what dciodvfy
says of the outputs of several SOP classes."""
from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

import dicomfast
from dicomfast import datadict
from dicomfast._generated import iod_types
from dicomfast._generated.confidentiality_profile import PROFILE
from dicomfast.deid import choose, rules_for
from dicomfast.deid.profile import NOT_IN_IOD, attribute_type, iod_of

from package import package_dir

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "tools" / "gen_iod_types.py"
KEY = b"0123456789abcdef-test-key"
DCIODVFY = shutil.which("dciodvfy")

CT = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
MR = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
US = "1.2.840.10008.5.1.4.1.1.6.1"
SC = "1.2.840.10008.5.1.4.1.1.7"
RT_PLAN = "1.2.840.10008.5.1.4.1.1.481.5"
#: The Basic Profile action of each plain tag.
BASIC = {value: basic for value, mask, _name, _std, basic, _options in PROFILE if mask == 0xFFFFFFFF}


# ---------------------------------------------------------------------------------------------
# the generated table


def _highdicom_source() -> str | None:
    """A highdicom wheel or folder named by DICOMFAST_HIGHDICOM, or the installed package."""
    if os.environ.get("DICOMFAST_HIGHDICOM"):
        return os.environ["DICOMFAST_HIGHDICOM"]
    return "" if importlib.util.find_spec("highdicom") is not None else None


@pytest.mark.skipif(not GENERATOR.exists(), reason="needs a source checkout (tools/gen_iod_types.py)")
@pytest.mark.skipif(_highdicom_source() is None,
                    reason="the generator's input, highdicom's _standard tables, is absent: pip install highdicom "
                           "(the test extra pins it) or set DICOMFAST_HIGHDICOM to a highdicom wheel")
def test_iod_types_generator_is_deterministic_and_committed_file_is_fresh(tmp_path):
    source = _highdicom_source()
    runs = []
    for seed, out in ((1, tmp_path / "a"), (4321, tmp_path / "b")):
        cmd = [sys.executable, str(GENERATOR), "--out-dir", str(out)] + (["--source", source] if source else [])
        subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, PYTHONHASHSEED=str(seed)))
        runs.append((out / "iod_types.py").read_bytes())
    assert runs[0] == runs[1]
    committed = (package_dir() / "_generated" / "iod_types.py").read_bytes()
    assert committed == runs[0], "_generated/iod_types.py differs from a fresh run of tools/gen_iod_types.py: re-run it"
    assert b"GENERATED FILE - DO NOT EDIT" in committed[:1500] and b"highdicom" in committed[:1500]


@pytest.mark.parametrize("sop_class, keyword, expected", [
    # PS3.3, read by hand (not from the generator's input)
    (CT, "ContentDate", "2C"),                  # General Image: required if temporally related
    (CT, "AcquisitionDate", "3"),               # General Acquisition
    (CT, "PatientID", "2"),                     # Patient
    (CT, "InstitutionName", "3"),               # General Equipment
    (ENHANCED_CT, "ContentDate", "1"),          # Multi-frame Functional Groups / Enhanced General Image
    (ENHANCED_CT, "DeviceSerialNumber", "1"),   # Enhanced General Equipment (also Type 3 in General Equipment)
    (ENHANCED_MR, "AcquisitionDateTime", "1C"),
    (US, "InstanceCreationDate", "3"),          # SOP Common
    (SC, "OperatorsName", "3"),                 # General Series
    (RT_PLAN, "RTPlanDate", "2"),               # RT General Plan
    (CT, "RTPlanDate", NOT_IN_IOD),
    ("1.2.826.0.1.3680043.10.999.1", "ContentDate", NOT_IN_IOD),  # not a standard SOP Class
])
def test_table_gives_the_standards_type(sop_class, keyword, expected):
    assert attribute_type(sop_class, datadict.tag_for_keyword(keyword)) == expected
    assert attribute_type(sop_class, datadict.tag_for_keyword("PatientName")) is None  # no choice: not tabled


def test_sop_classes_of_one_iod_share_one_table():
    assert iod_of("1.2.840.10008.5.1.4.1.1.88.22") == "enhanced-sr" and iod_of(CT) == "ct-image"
    assert iod_of("1.2.3.4") is None
    by_iod: dict = {}
    for uid, iod in iod_types.SOP_CLASSES.items():
        by_iod.setdefault(iod, []).append(uid)
    assert any(len(uids) > 1 for uids in by_iod.values())
    assert set(by_iod) == set(iod_types.IODS)
    assert {len(codes) for codes in iod_types.IODS.values()} == {len(iod_types.TAGS)}
    assert set("".join(iod_types.IODS.values())) <= set(iod_types.CODES)


def test_choice_by_type():
    # 1 and 1C: a dummy (only a value keeps Type 1 valid); 2 and 2C: empty; 3: removed
    assert [choose("X/Z/D", True, t) for t in ("1", "1C", "2", "2C", "3")] == ["D", "D", "Z", "Z", "X"]
    assert [choose("X/D", True, t) for t in ("1", "2", "3")] == ["D", "D", "X"]
    assert [choose("Z/D", True, t) for t in ("1", "2", "3", "")] == ["D", "Z", "Z", "D"]
    assert [choose("X/Z", True, t) for t in ("1", "2C", "3", "")] == ["Z", "Z", "X", "X"]
    assert choose("X/Z/U*", True, "1") == "U*"
    # no IOD considered (items of sequences): the IOD-independent rule
    assert choose("X/Z/D", True) == "D" and choose("X/Z", True) == "Z" and choose("X/D", False) == "X"
    with pytest.raises(ValueError, match="attribute type"):
        choose("X/Z", True, "4")


def test_rules_are_per_options_and_iod_and_cached():
    ct, ct_again = rules_for(frozenset(), CT), rules_for(frozenset(), CT + "\0")
    assert ct is ct_again and ct.iod == "ct-image"
    assert rules_for(frozenset(), "1.2.3.4") is rules_for(frozenset(), "") and rules_for(frozenset(), "").iod == ""
    assert rules_for(frozenset()).iod is None
    content_date = 0x00080023
    assert ct.action(content_date) == "Z" and rules_for(frozenset(), ENHANCED_CT).action(content_date) == "D"
    assert rules_for(frozenset(), "1.2.3.4").action(content_date) == "D"  # Z/D, not in the IOD: D
    assert rules_for(frozenset(), "").action(0x00080012) == "X"  # X/D, not in the IOD: X
    # an option's action still wins
    assert rules_for(frozenset({"rtnLongFullDatesOpt"}), CT).action(content_date) == "K"


# ---------------------------------------------------------------------------------------------
# files of several SOP classes, given every attribute with a choice that their IOD holds


_VALUES = {"DA": "20200102", "TM": "101112", "DT": "20200102101112", "LO": "Some Value", "SH": "SHVAL",
           "PN": "Doe^Jane", "CS": "ALTERED", "UT": "some label text", "LT": "a barcode"}
FILES = ["CT_small.dcm", "MR_small.dcm", "OBXXXX1A.dcm", "SC_rgb.dcm", "emri_small.dcm", "eCT_Supplemental.dcm",
         "liver_1frame.dcm", "rtplan.dcm", "rtdose.dcm", "waveform_ecg.dcm", "examples_ybr_color.dcm"]


def _enriched(name: str) -> tuple[bytes, dict]:
    """The corpus file with every tabled attribute of its IOD added at the top level (text, date and
    time VRs; the sequences it has are kept), and {tag: (type, original value)}."""
    ds = dicomfast.dcmread(get_testdata_file(name))
    sop_class = str(ds.SOPClassUID)
    expected = {}
    for tag in iod_types.TAGS:
        kind = attribute_type(sop_class, tag)
        vr = datadict.dictionary_VR(tag)
        if tag not in ds and vr in _VALUES and kind:
            ds.add_new(tag, vr, _VALUES[vr])
        if tag in ds and vr != "SQ":
            expected[tag] = (kind, ds[tag].value)
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue(), expected


@pytest.fixture(scope="module")
def enriched():
    return {name: _enriched(name) for name in FILES}


def test_fixture_covers_every_type(enriched):
    kinds = {kind for _, expected in enriched.values() for kind, _ in expected.values()}
    assert {"1", "1C", "2", "2C", "3"} <= kinds
    ct = {datadict.keyword_for_tag(t): k for t, (k, _) in enriched["CT_small.dcm"][1].items()}
    assert ct["AcquisitionDate"] == "3" and ct["ContentDate"] == "2C" and ct["PatientID"] == "2"


@pytest.mark.parametrize("name", FILES)
def test_each_type_gets_its_action(enriched, name):
    data, expected = enriched[name]
    ds = dicomfast.dcmread(io.BytesIO(data))
    report = dicomfast.deidentify(ds, key=KEY)
    acted = {a.tag: a.action for a in report.actions if a.path == ""}
    problems = []
    for tag, (kind, original) in expected.items():
        basic = BASIC[tag]
        action = choose(basic, True, kind)
        if tag in (0x00100010, 0x00100020) and action == "Z":
            action = "D"  # the patient's pseudonym
        present = tag in ds
        value = ds[tag].value if present else None
        if action == "X":
            ok = not present
        elif action == "Z":
            ok = present and value in (None, "", [])
        elif action == "D":
            ok = present and value not in (None, "", []) and value != original
        else:  # U*: not on these plain attributes
            ok = False
        if not ok or acted.get(tag) != action:
            problems.append(f"{datadict.keyword_for_tag(tag)} type {kind} ({basic}) -> {action}: "
                            f"{original!r} -> {value!r}, reported {acted.get(tag)}")
    assert not problems, "\n".join(problems)


def _dciodvfy_errors(path) -> set[str]:
    run = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=120)
    return {line.strip() for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")}


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (dicom3tools) is not installed")
@pytest.mark.parametrize("name", FILES)
def test_dciodvfy_finds_no_new_error_by_sop_class(enriched, name, tmp_path):
    data, _ = enriched[name]
    (tmp_path / "in.dcm").write_bytes(data)
    ds = dicomfast.dcmread(io.BytesIO(data))
    dicomfast.deidentify(ds, key=KEY)
    ds.save_as(tmp_path / "out.dcm")
    new = _dciodvfy_errors(tmp_path / "out.dcm") - _dciodvfy_errors(tmp_path / "in.dcm")
    assert not new, f"{name} ({iod_of(ds.SOPClassUID)}): dciodvfy reports errors the input does not have: {sorted(new)}"


def test_items_and_unknown_sop_classes():
    """Inside a sequence item the type of the IOD does not apply (the item's macro decides): the
    IOD-independent rule (D where allowed); a SOP Class the table does not know: X where allowed."""
    ds = dicomfast.dcmread(get_testdata_file("CT_small.dcm"))
    item = dicomfast.Dataset()
    item.InstitutionName = "Nested Hospital"
    ds.add_new(0x00082218, "SQ", [item])  # Anatomic Region Sequence: kept, its items walked
    ds.InstitutionName = "Top Hospital"
    dicomfast.deidentify(ds, key=KEY)
    assert "InstitutionName" not in ds  # Type 3 in CT: removed
    assert ds[0x00082218].value[0].InstitutionName == "ANONYMIZED"  # in an item: a dummy

    ds = dicomfast.dcmread(get_testdata_file("CT_small.dcm"))
    ds.SOPClassUID = "1.2.826.0.1.3680043.10.999.1"
    ds.ContentDate = "20200101"
    ds.InstanceCreationDate = "20200101"
    dicomfast.deidentify(ds, key=KEY)
    assert "InstanceCreationDate" not in ds and ds.ContentDate == "19000101"  # X/D -> X; Z/D -> D
