"""De-identification (dicomfast.deid, ``dicomfast deidentify``): the PS3.15 profile table, its
generator, and every action of the Basic Profile and its options on a generated fixture."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from package import package_dir

ROOT = Path(__file__).resolve().parents[1]
STANDARD = ROOT / "tools" / "standard"
GENERATOR = ROOT / "tools" / "gen_deid_profile.py"
GENERATED = "confidentiality_profile.py"


# ---------------------------------------------------------------------------------------------
# the generated table


def _generate(out_dir: Path, hash_seed: int) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    subprocess.run([sys.executable, str(GENERATOR), "--out-dir", str(out_dir)], check=True, env=env,
                   capture_output=True)
    return (out_dir / GENERATED).read_bytes()


@pytest.mark.skipif(not GENERATOR.exists(), reason="needs a source checkout")
def test_profile_generator_is_deterministic_and_committed_file_is_fresh(tmp_path):
    first = _generate(tmp_path / "a", 1)
    assert first == _generate(tmp_path / "b", 4321)
    committed = (package_dir() / "_generated" / GENERATED).read_bytes()
    assert committed == first, f"_generated/{GENERATED} differs from a fresh run of tools/gen_deid_profile.py: re-run it"
    assert b"GENERATED FILE - DO NOT EDIT" in committed[:1000]


@pytest.mark.skipif(not (STANDARD / "confidentiality_profile.json").exists(), reason="needs a source checkout")
def test_every_row_of_the_table_is_generated():
    from dicomfast._generated import confidentiality_profile as cp

    rows = json.loads((STANDARD / "confidentiality_profile.json").read_text(encoding="utf-8"))
    assert len(rows) == len(cp.PROFILE) + 1 == 621
    by_value = {(value, mask): row for value, mask, *row in cp.PROFILE}
    for row in rows:
        if row["tag"].startswith("(GGGG"):
            assert cp.PRIVATE == (row["basicProfile"], tuple(row.get(o, "") for o in cp.OPTIONS))
            continue
        digits = row["tag"][1:5] + row["tag"][6:10]
        value = int(digits.replace("X", "0"), 16)
        mask = int("".join("0" if c == "X" else "F" for c in digits), 16)
        name, std, basic, options = by_value[(value, mask)]
        assert (std, basic) == (row["stdCompIOD"] == "Y", row["basicProfile"])
        assert options == tuple(row.get(o, "") for o in cp.OPTIONS)
    # the repeating groups are masks
    assert (0x60003000, 0xFF00FFFF) in by_value and (0x50000000, 0xFF000000) in by_value


# ---------------------------------------------------------------------------------------------
# the generated conformance fixture: every attribute of the table, at the top level, in a
# sequence item and in repeating groups, plus private blocks

import copy
import io
import re
import shutil

import dicomfast
from dicomfast import datadict
from dicomfast.deid import OPTIONS, choose, date_offset, pseudonym, rules_for
from dicomfast._generated.confidentiality_profile import PROFILE

KEY = b"0123456789abcdef-test-key"
NAME = "Doerfler^Johannes"
NAME_WORDS = ("Doerfler", "Johannes")
PID = "PID7731995"
CONTAINER = 0x00082218  # Anatomic Region Sequence: not in the table, so kept and walked
SKIP_VRS = {"NONE"}
PIXELS = b"\x01\x02\x03\x04"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def _value(tag: int, vr: str, with_name: bool):
    h = f"{tag:08X}"
    if vr in ("LO", "LT", "SH", "ST", "UC", "UT"):
        return f"V{h}" + (f" {NAME_WORDS[0]} {PID}" if with_name and vr != "SH" else "")
    if vr == "PN":
        return f"N{h}^Given"
    if vr in ("AE", "CS"):
        return f"{vr}{h}"
    if vr == "UI":
        return f"1.2.826.0.1.3680043.10.999.{tag}"
    if vr == "DA":
        return f"{1950 + tag % 50:04d}{1 + (tag >> 4) % 12:02d}{1 + (tag >> 8) % 28:02d}"
    if vr == "DT":
        return _value(tag, "DA", False) + "120000"
    if vr == "TM":
        return "120000"
    if vr == "AS":
        return "042Y"
    if vr in ("DS", "IS"):
        return "7"
    if vr == "UR":
        return f"http://example.com/{h}"
    if vr in ("US", "SS", "UL", "SL", "UV", "SV", "FL", "FD"):
        return 1
    if vr == "AT":
        return 0x00100010
    if vr in ("OB", "OW", "UN", "OF", "OD", "OL", "OV"):
        return (f"B{h}" * 4).encode()[:16]
    raise AssertionError(vr)


def _fill(ds, depth: int) -> dict:
    """Every plain-tag attribute of the table into ``ds``: {tag: (VR, value)}."""
    filled = {}
    for value, mask, _name, _std, _basic, options in PROFILE:
        if mask != 0xFFFFFFFF or value >> 16 in (0x0000, 0x0002):
            continue
        entry = datadict.entry(value)
        if entry is None or entry[0] in SKIP_VRS:
            continue
        vr = entry[0].split(" or ")[0]
        if vr == "SQ":
            item = dicomfast.Dataset()
            item.CodeMeaning = f"M{value:08X}"
            v = [item]
        else:
            v = _value(value, vr, with_name=bool(options[OPTIONS.index("cleanDescOpt")]))
        if value == 0x00100010:
            v = NAME
        elif value == 0x00100020:
            v = PID
        ds.add_new(value, vr, v)
        filled[value] = (vr, v)
    return filled


def make_fixture() -> tuple[bytes, dict, dict]:
    ds = dicomfast.Dataset()
    top = _fill(ds, 0)
    item = dicomfast.Dataset()
    nested = _fill(item, 1)
    for tag in (0x00100010, 0x00100020):  # the patient module is the top level's
        del item[tag]
        nested.pop(tag)
    ds.add_new(CONTAINER, "SQ", [item])
    ds.SOPClassUID = SECONDARY_CAPTURE  # burned-in risk unknown
    ds.Modality = "OT"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.add_new(0x7FE00010, "OB", PIXELS)
    # repeating groups: an overlay plane in group 6002, curve data in 5004
    ds.add_new(0x60020010, "US", 4)
    ds.add_new(0x60020011, "US", 4)
    ds.add_new(0x60023000, "OW", b"OVLYDATA" * 2)
    ds.add_new(0x60024000, "LT", f"overlay of {NAME_WORDS[0]}")
    ds.add_new(0x50043000, "OW", b"CURVEDAT" * 2)
    # private blocks: a safe one, an unsafe one of the same creator, and another creator's
    siemens = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    siemens.add_new(0x0C, "IS", "1000")
    siemens.add_new(0x99, "LO", f"secret {PID}")
    acme = ds.private_block(0x0033, "ACME 1.0", create=True)
    acme.add_new(0x01, "LO", "ACMEPRIVATEVALUE")
    out = io.BytesIO()
    dicomfast.dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue(), top, nested


@pytest.fixture(scope="module")
def fixture_file():
    return make_fixture()


def _empty(value) -> bool:
    return value is None or value == "" or value == b"" or (isinstance(value, list) and not value)


def _expected(rules, tag: int) -> str:
    action = rules.action(tag)
    if action == "Z" and tag in (0x00100010, 0x00100020):
        return "D"  # Patient's Name and ID: the pseudonym (Z allows a dummy value)
    return "K" if action is None else action


def _check_item(ds, filled: dict, rules, options, offset, path: str) -> list[str]:
    problems = []
    for tag, (vr, original) in filled.items():
        action = _expected(rules, tag)
        present = tag in ds
        value = ds[tag].value if present else None
        where = f"{path}({tag >> 16:04X},{tag & 0xFFFF:04X}) {vr} {action}"
        if action == "X" or (action == "C" and vr in ("OB", "OW", "UN", "OF", "OD", "OL", "OV")):
            ok = not present
        elif action == "Z":
            ok = present and _empty(value)
        elif action == "D":
            # a sequence keeps its items, made dummies (test_a_dummy_sequence_keeps_its_structure)
            ok = present and (len(value) == len(original) if vr == "SQ" else (not _empty(value) and value != original))
        elif action == "U":
            ok = present and (vr == "SQ" or (isinstance(value, str) and value.startswith("2.25.") and value != original))
        elif action in ("K", "U*") and vr == "SQ":
            ok = present and len(value) == 1
        elif vr in ("DA", "DT") and "rtnLongModifDatesOpt" in options and action in ("K", "C"):
            import datetime
            day = datetime.date(int(original[:4]), int(original[4:6]), int(original[6:8])) + offset
            ok = present and value[:8] == day.strftime("%Y%m%d")
        elif action == "C" and vr == "SQ":
            ok = present
        elif action == "C" and isinstance(original, str):
            ok = present and not any(w.lower() in str(value).lower() for w in (*NAME_WORDS, PID))
        else:  # K
            ok = present and (value == original or vr in ("DS", "IS", "FL", "FD"))
        if not ok:
            problems.append(f"{where}: {original!r} -> {value!r}")
    return problems


@pytest.mark.parametrize("option", [None, *OPTIONS])
def test_every_attribute_satisfies_its_action(fixture_file, option):
    import datetime

    data, top, nested = fixture_file
    options = () if option is None else (option,)
    ds = dicomfast.dcmread(io.BytesIO(data))
    report = dicomfast.deidentify(ds, key=KEY, options=options)
    out = io.BytesIO()
    ds.save_as(out)
    written = out.getvalue()
    result = dicomfast.dcmread(io.BytesIO(written))
    # the top level's choices by the Secondary Capture IOD's types; the items' IOD-independent
    rules = rules_for(frozenset(options), SECONDARY_CAPTURE)
    offset = datetime.timedelta(days=date_offset(KEY, PID))
    problems = _check_item(result, top, rules, options, offset, "")
    problems += _check_item(result[CONTAINER].value[0], nested, rules_for(frozenset(options)), options, offset,
                            "(0008,2218)[0]")
    assert not problems, f"{len(problems)} attributes break their action:\n" + "\n".join(problems[:40])

    # the patient: a keyed pseudonym
    assert result.PatientID == pseudonym(KEY, PID) == str(result.PatientName)
    # repeating groups: the overlay plane and the curve are gone
    assert not [t for t in result.keys() if t >> 24 in (0x50, 0x60)]
    # private: only the safe element (and its creator) with Retain Safe Private
    private = sorted(int(t) for t in result.keys() if (t >> 16) & 1)
    if option == "rtnSafePrivOpt":
        assert private == [0x00190010, 0x0019100C]
    else:
        assert private == []
    # the marks
    assert result.PatientIdentityRemoved == "YES"
    codes = [item.CodeValue for item in result.DeidentificationMethodCodeSequence]
    assert codes[0] == "113100" and len(codes) == 1 + len(options)
    assert report.burned_in == "unknown"
    assert bytes(result[0x7FE00010].raw_value()) == PIXELS
    # the meta group follows the SOP Instance UID
    assert result.file_meta.MediaStorageSOPInstanceUID == result.SOPInstanceUID or option == "rtnUIDsOpt"

    # nothing the profile removed or replaced is left anywhere in the bytes
    leaks = []
    for filled in (top, nested):
        for tag, (vr, original) in filled.items():
            action = _expected(rules, tag)
            if action in ("X", "Z", "D", "U") and isinstance(original, (str, bytes)) and len(original) >= 8:
                needle = original if isinstance(original, bytes) else original.encode()
                if needle in written:
                    leaks.append(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {action}: {original!r}")
    for needle in (b"OVLYDATA", b"CURVEDAT", b"ACMEPRIVATEVALUE", b"ACME 1.0", b"secret"):
        if needle in written:
            leaks.append(needle.decode())
    kept_name = any(_expected(rules, t) == "K" and isinstance(v, str) and NAME_WORDS[0] in v
                    for f in (top, nested) for t, (_, v) in f.items())
    if not kept_name:
        for word in (*NAME_WORDS, PID):
            if word.encode() in written:
                leaks.append(word)
    assert not leaks, "left in the output: " + ", ".join(leaks[:40])

    # pydicom reads it, to the same pseudonym
    import pydicom

    assert pydicom.dcmread(io.BytesIO(written)).PatientID == result.PatientID


def test_deidentify_rejects_bad_arguments(fixture_file):
    ds = dicomfast.dcmread(io.BytesIO(fixture_file[0]))
    with pytest.raises(ValueError, match="at least 16"):
        dicomfast.deidentify(ds, key=b"short")
    with pytest.raises(ValueError, match="unknown de-identification option"):
        dicomfast.deidentify(ds, key=KEY, options=("retainEverything",))
    with pytest.raises(ValueError, match="exclude each other"):
        dicomfast.deidentify(ds, key=KEY, options=("rtnLongFullDatesOpt", "rtnLongModifDatesOpt"))
    assert not ds.is_modified()


def test_keep_list_keeps_named_private_elements(fixture_file):
    ds = dicomfast.dcmread(io.BytesIO(fixture_file[0]))
    report = dicomfast.deidentify(ds, key=KEY, keep_private=[("ACME 1.0", 0x0033, 0x01)])
    assert ds[0x00331001].value == "ACMEPRIVATEVALUE" and ds[0x00330010].value == "ACME 1.0"
    assert 0x00191099 not in ds and 0x00190010 not in ds
    assert any(a.tag == 0x00331001 and a.action == "K" for a in report.actions)


def test_choice_rule():
    assert choose("X/Z/U*", True) == "U*"
    assert choose("X/Z", False) == "X" and choose("X/Z/D", False) == "X"
    assert choose("X/Z", True) == "Z" and choose("X/D", True) == "D" and choose("Z/D", False) == "D"
    assert choose("X", True) == "X"


# ---------------------------------------------------------------------------------------------
# an archive: consistency across files, processes and the command; validity of the outputs

from pydicom.data import get_testdata_file  # noqa: E402

from dicomfast.cli import main  # noqa: E402

CORPUS = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtdose.dcm", "SC_rgb.dcm", "US1_J2KR.dcm"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Four slices of one CT series (benchmarks/make_ct_series.py, 32 x 32) and a few corpus files."""
    root = tmp_path_factory.mktemp("archive")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import make_ct_series
    finally:
        sys.path.pop(0)
    make_ct_series.make_series(root / "ct", n=4, rows=32, cols=32)
    (root / "corpus").mkdir()
    for name in CORPUS:
        shutil.copyfile(get_testdata_file(name), root / "corpus" / name)
    key = root.parent / f"{root.name}.key"
    key.write_bytes(KEY)
    return root, key


def _run(archive, out, *extra) -> int:
    root, key = archive
    return main(["deidentify", str(root), "-o", str(out), "--key-file", str(key), "-q", *extra])


def _outputs(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def deidentified(archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    options = ("--option", "rtnLongModifDatesOpt")
    assert _run(archive, out / "one", "-j", "1", "--mapping", str(out / "map.parquet"), *options) == 0
    assert _run(archive, out / "pool", "-j", "2", *options) == 0
    return out


def test_one_process_and_the_pool_give_identical_files(deidentified, archive):
    one, pool = _outputs(deidentified / "one"), _outputs(deidentified / "pool")
    assert len(one) == 4 + len(CORPUS) and one == pool
    # and the library call gives the same bytes as the command
    root, _ = archive
    ds = dicomfast.dcmread(root / "corpus" / "CT_small.dcm")
    dicomfast.deidentify(ds, key=KEY, options=("rtnLongModifDatesOpt",))
    out = io.BytesIO()
    ds.save_as(out)
    assert one[f"{ds.SOPInstanceUID}.dcm"] == out.getvalue()


def test_uids_patients_and_date_intervals_are_consistent(deidentified, archive):
    import datetime

    root, _ = archive
    originals = {str(dicomfast.dcmread(p, stop_before_pixels=True).SOPInstanceUID): p
                 for p in sorted(root.rglob("*.dcm"))}
    outputs = [dicomfast.dcmread(p) for p in sorted((deidentified / "one").glob("*.dcm"))]
    ct = [ds for ds in outputs if ds.get("Rows") == 32]
    assert len(ct) == 4
    for name in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID", "PatientID"):
        assert len({getattr(ds, name) for ds in ct}) == 1, name
    assert len({ds.SOPInstanceUID for ds in outputs}) == len(outputs)
    mapping = {(r["kind"], r["old"]): r["new"] for r in
               __import__("pyarrow.parquet").parquet.read_table(deidentified / "map.parquet").to_pylist()}

    def day(text):
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))

    reverse = {new: old for (kind, old), new in mapping.items() if kind == "uid"}
    replaced = set(reverse.values())
    assert any(old.startswith("1.3.6.1.4.1.5962") for old in replaced)  # corpus UIDs were mapped
    checked = 0
    for ds in outputs:
        original = dicomfast.dcmread(originals[reverse[ds.SOPInstanceUID]])
        assert ds.PatientID == pseudonym(KEY, str(original.PatientID))
        for name in ("ContentDate", "AcquisitionDate", "SeriesDate"):
            if original.get(name) and original.get("StudyDate") and ds.get(name):
                assert day(ds.get(name)) - day(ds.StudyDate) == day(original.get(name)) - day(original.StudyDate)
                checked += 1
        if original.get("StudyDate"):
            assert ds.StudyDate != original.StudyDate
        # references inside sequences follow: no replaced UID is left anywhere in the bytes
        written = (deidentified / "one" / f"{ds.SOPInstanceUID}.dcm").read_bytes()
        left = [old for old in replaced if old.encode() + b"\0" in written or old.encode() in written.split(b"\\")]
        found = [u.decode() for u in re.findall(rb"[0-9]+(?:\.[0-9]+)+", written) if u.decode() in replaced]
        assert not left and not found, (left, found)
    assert checked >= 3


def test_the_audit_table(deidentified, archive):
    import pyarrow.parquet as pq

    table = pq.read_table(str(deidentified / "one") + ".audit.parquet").to_pylist()
    assert [r["status"] for r in table].count("ok") == 4 + len(CORPUS)
    assert next(r for r in table if r["path"].endswith("series.json"))["status"] == "skipped"
    ct_small = next(r for r in table if r["path"].endswith("CT_small.dcm"))
    actions = {(a["item"], a["tag"]): a["action"] for a in ct_small["actions"]}
    assert actions[("", "(0008,0018)")] == "U" and actions[("", "(0010,0020)")] == "D"
    assert actions[("", "(0009,0010)")] == "X"  # GE's private creator
    assert {r["burned_in"] for r in table if r["status"] == "ok"} <= {"yes", "unknown", "no"}
    assert next(r for r in table if r["path"].endswith("SC_rgb.dcm"))["burned_in"] == "unknown"


def test_a_bad_file_fails_alone(archive, tmp_path):
    root, key = archive
    bad = tmp_path / "in"
    bad.mkdir()
    shutil.copyfile(root / "corpus" / "CT_small.dcm", bad / "good.dcm")
    (bad / "truncated.dcm").write_bytes((root / "corpus" / "MR_small.dcm").read_bytes()[:2000])
    code = main(["deidentify", str(bad), "-o", str(tmp_path / "out"), "--key-file", str(key), "-q", "-j", "1"])
    assert code == 1
    import pyarrow.parquet as pq

    rows = {Path(r["path"]).name: r for r in pq.read_table(str(tmp_path / "out") + ".audit.parquet").to_pylist()}
    assert rows["good.dcm"]["status"] == "ok" and rows["truncated.dcm"]["status"] == "failed"
    assert rows["truncated.dcm"]["error_type"] == "DeidentificationError"
    assert "truncated.dcm" not in {p.name for p in (tmp_path / "out").iterdir()}
    short = tmp_path / "short.key"
    short.write_bytes(b"x")
    assert main(["deidentify", str(bad), "-o", str(tmp_path / "o2"), "--key-file", str(short), "-q"]) == 2


DCMDUMP = shutil.which("dcmdump")
DCIODVFY = shutil.which("dciodvfy")


@pytest.mark.skipif(DCMDUMP is None, reason="DCMTK's dcmdump is not installed")
def test_pydicom_and_dcmtk_read_every_output(deidentified):
    import pydicom

    for path in sorted((deidentified / "one").glob("*.dcm")):
        pydicom.dcmread(path)
        run = subprocess.run([DCMDUMP, str(path)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and "E:" not in run.stderr, f"{path.name}: {run.stderr}"


def _dciodvfy_errors(path) -> set[str]:
    run = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=60)
    return {line.strip() for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")}


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (dicom3tools) is not installed")
@pytest.mark.parametrize("name", CORPUS)
@pytest.mark.parametrize("option", [None, "rtnLongModifDatesOpt"])
def test_dciodvfy_finds_no_new_error(name, option, tmp_path):
    path = get_testdata_file(name)
    ds = dicomfast.dcmread(path)
    dicomfast.deidentify(ds, key=KEY, options=() if option is None else (option,))
    out = tmp_path / "out.dcm"
    ds.save_as(out)
    new = _dciodvfy_errors(out) - _dciodvfy_errors(path)
    assert not new, f"dciodvfy reports errors the input does not have: {sorted(new)}"


#: The one error the table itself causes in a structured report: it removes the evidence sequences
#: (Current Requested Procedure Evidence, Pertinent Other Evidence: X, no choice), while the content
#: items that reference instances stay (Content Sequence: D, kept as dummies, their UIDs mapped).
_EVIDENCE_REMOVED = "Referenced SOP Instance is not listed in CurrentRequestedProcedureEvidenceSequence"


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (dicom3tools) is not installed")
@pytest.mark.parametrize("name", ["reportsi.dcm", "test-SR.dcm"])
def test_dciodvfy_structured_reports(name, tmp_path):
    """A structured report keeps a valid document: Content Sequence and Verifying Observer Sequence
    (D) are not left empty; the only new errors are the table's removal of the evidence sequences."""
    path = get_testdata_file(name)
    ds = dicomfast.dcmread(path)
    dicomfast.deidentify(ds, key=KEY)
    out = tmp_path / "out.dcm"
    ds.save_as(out)
    new = _dciodvfy_errors(out) - _dciodvfy_errors(path)
    assert new and all(_EVIDENCE_REMOVED in error for error in new), sorted(new)
    assert len(ds.ContentSequence) == len(dicomfast.dcmread(path).ContentSequence)


# ---------------------------------------------------------------------------------------------
# the benchmark runs once (timings printed, never asserted)


@pytest.mark.skipif(not (ROOT / "benchmarks" / "bench_deid.py").exists(), reason="needs a source checkout")
def test_deid_benchmark_runs(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_deid
    finally:
        sys.path.pop(0)
    result = bench_deid.run(n_files=3, repeat=1, quick=True, data_dir=tmp_path)
    assert {"copyfile", "dicomfast", "dicomfast_dates", "memcopy", "dicomfast_memory"} <= set(result["times"])
    for stats in result["times"].values():
        assert 0 < stats["min_us"] <= stats["median_us"] <= stats["max_us"]
    assert "copyfile_x2_over_dicomfast" in result["ratios"]
    json.dumps(result)
    assert bench_deid.main(["-n", "2", "--quick", "--data-dir", str(tmp_path)]) == 0
    assert "dicomfast" in capsys.readouterr().out


def test_delete_tags_is_one_edit_of_many_deletions(fixture_file):
    ds = dicomfast.dcmread(io.BytesIO(fixture_file[0]))
    private = [t for t in ds.keys() if (t >> 16) & 1]
    assert len(private) == 5 and 0x00100010 in ds
    assert ds.delete_tags([*private, 0x00100010, 0x00100010, 0x7FFF0001]) == 6  # absent tags skipped
    assert not [t for t in ds.keys() if (t >> 16) & 1] and 0x00100010 not in ds and ds.is_modified()
    out = io.BytesIO()
    ds.save_as(out)
    back = dicomfast.dcmread(io.BytesIO(out.getvalue()))
    assert sorted(back.keys()) == sorted(ds.keys())


# ---------------------------------------------------------------------------------------------
# the command on a Dask cluster that the test starts (two worker processes): the same bytes


def test_dask_gives_the_files_of_one_process(deidentified, archive, dask_cluster, tmp_path):
    distributed = pytest.importorskip("distributed")
    import pyarrow.parquet as pq

    with distributed.Client(dask_cluster) as client:  # the workers run this checkout's dicomfast
        assert set(client.run(lambda: dicomfast.__file__).values()) == {dicomfast.__file__}
    out = tmp_path / "dask"
    assert _run(archive, out, "--dask", dask_cluster.scheduler_address, "--chunksize", "3",
                "--option", "rtnLongModifDatesOpt") == 0
    one, on_dask = _outputs(deidentified / "one"), _outputs(out)
    assert len(one) == 4 + len(CORPUS)
    assert sorted(on_dask) == sorted(one)
    assert [name for name in one if on_dask[name] != one[name]] == []

    def audit(path):
        return sorted(pq.read_table(str(path) + ".audit.parquet").drop(["output"]).to_pylist(),
                      key=lambda row: row["path"])

    assert audit(out) == audit(deidentified / "one")


# ---------------------------------------------------------------------------------------------
# the peer comparison of docs/deid.md (tests/deid_peers.py): what dicognito leaves is listed there,
# never asserted; dicomfast leaves nothing the Basic Profile removes


def test_nothing_the_basic_profile_removes_is_left(archive):
    import deid_peers

    root, _ = archive
    result = deid_peers.compare(root)
    assert result["files"][("", "files")] == 4 + len(CORPUS)
    assert result["dicomfast"] == {}, deid_peers.table(result)
    print(deid_peers.table(result))  # the table of docs/deid.md (with dicognito when installed)


def test_report_actions_are_action_records(fixture_file):
    from dicomfast.deid import Action

    ds = dicomfast.dcmread(io.BytesIO(fixture_file[0]))
    report = dicomfast.deidentify(ds, key=KEY)
    assert report.actions and all(type(a) is Action and type(a.tag) is int for a in report.actions)
    private = [a for a in report.actions if (a.tag >> 16) & 1]
    # all removed: the elements of the private blocks, then their creators
    assert sorted(a.tag for a in private) == [0x00190010, 0x0019100C, 0x00191099, 0x00330010, 0x00331001]
    assert {a.action for a in private} == {"X"}
    assert [a.tag & 0xFFFF < 0x1000 for a in private] == [False] * 3 + [True] * 2



def test_a_failure_leaves_the_edits_before_it_and_reports_the_first(fixture_file, monkeypatch):
    """The engine defers its edits and sets each dataset's together: on a failure it sets those made
    before it, and of two failures the first in walk order is raised, as one add_new at a time did."""
    from dicomfast.deid import engine

    done = dicomfast.dcmread(io.BytesIO(fixture_file[0]))
    dicomfast.deidentify(done, key=KEY)
    original_dummy = engine._Job.dummy
    seen = []

    def third_fails(self, tag, vr, element):
        seen.append(tag)
        if len(seen) == 3:
            raise engine.DeidentificationError(f"planted failure at {tag:08X}")
        return original_dummy(self, tag, vr, element)

    monkeypatch.setattr(engine._Job, "dummy", third_fails)
    ds = dicomfast.dcmread(io.BytesIO(fixture_file[0]))
    untouched = dicomfast.dcmread(io.BytesIO(fixture_file[0]))
    with pytest.raises(engine.DeidentificationError, match="planted failure"):
        dicomfast.deidentify(ds, key=KEY)
    assert len(seen) == 3
    for tag in seen[:2]:  # the dummies made before the failure are set
        assert ds[tag].value == done[tag].value != untouched[tag].value
    assert ds[seen[2]].value == untouched[seen[2]].value

    def invalid_then_failure(self, tag, vr, element):
        seen.append(tag)
        if len(seen) == 1:
            return "\x01" if vr in ("LO", "SH", "CS", "PN", "AE", "LT", "ST", "UT", "UC") else "not a value"
        raise engine.DeidentificationError("planted failure")

    seen.clear()
    monkeypatch.setattr(engine._Job, "dummy", invalid_then_failure)
    with pytest.raises(dicomfast.InvalidValueError) as info:  # the first failure, not the later one
        dicomfast.deidentify(dicomfast.dcmread(io.BytesIO(fixture_file[0])), key=KEY)
    assert f"({seen[0] >> 16:04X},{seen[0] & 0xFFFF:04X})" in str(info.value)
    assert info.value.__suppress_context__


def test_clear_caches_forgets_identifiers_and_keys(fixture_file):
    from dicomfast.core import encode
    from dicomfast.deid import clear_caches, engine, map_uid

    ds = dicomfast.dcmread(io.BytesIO(fixture_file[0]))
    original = ds.StudyInstanceUID
    dicomfast.deidentify(ds, key=KEY)
    assert ds.StudyInstanceUID == map_uid(KEY, original)  # what is remembered is the function's result
    remembered = (engine._cached_uid, engine._cached_pseudonym, engine._cached_date_offset, encode._encode_memo)
    assert all(cache.cache_info().currsize for cache in remembered)
    clear_caches()
    assert not any(cache.cache_info().currsize for cache in remembered)


def test_a_dummy_sequence_keeps_its_structure():
    """D on a sequence (an SR's Content Sequence, Verifying Observer Sequence): the items stay, so a
    Type 1 or 1C sequence is not left empty; what the table lists inside gets its action, every other
    text, name, date and time a dummy (an empty one stays empty), at every depth; coded concepts,
    code strings, numbers and UIDs the table does not list stay."""
    ds = dicomfast.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.22"  # Enhanced SR
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.PatientID = PID
    observer = dicomfast.Dataset()
    observer.VerifyingObserverName = "Smith^Jane"
    observer.VerifyingOrganization = "General Hospital"
    observer.VerificationDateTime = "20240102030405"
    ds.VerifyingObserverSequence = [observer]
    code = dicomfast.Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "121071", "DCM", "Finding"
    text = dicomfast.Dataset()
    text.RelationshipType, text.ValueType = "CONTAINS", "TEXT"
    text.ConceptNameCodeSequence = [code]
    text.TextValue = "Jane Smith, seen on 2 January, mass in the left breast"
    text.ObservationDateTime = "20240102"
    number = dicomfast.Dataset()
    number.NumericValue = "12.5"
    number.FloatingPointValue = 12.5
    measured = dicomfast.Dataset()
    measured.RelationshipType, measured.ValueType = "CONTAINS", "NUM"
    measured.MeasuredValueSequence = [number]
    measured.TextValue = ""  # not listed, empty: stays empty
    ds.ContentSequence = [text, measured]
    dicomfast.deidentify(ds, key=KEY)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    result = dicomfast.dcmread(io.BytesIO(out.getvalue()))
    observer = result.VerifyingObserverSequence[0]
    assert observer.VerifyingObserverName == "ANONYMIZED" and observer.VerifyingOrganization == "ANONYMIZED"
    assert observer.VerificationDateTime != "20240102030405"
    first, second = result.ContentSequence
    assert (first.RelationshipType, first.ValueType) == ("CONTAINS", "TEXT")
    concept = first.ConceptNameCodeSequence[0]
    assert (concept.CodeValue, concept.CodingSchemeDesignator, concept.CodeMeaning) == ("121071", "DCM", "Finding")
    assert first.TextValue == "ANONYMIZED"
    assert first.ObservationDateTime == "19000101000000"  # X/D in an item: D (the items' IOD-independent rule)
    assert second.MeasuredValueSequence[0].NumericValue == 12.5  # DS, read as a number
    assert second.MeasuredValueSequence[0].FloatingPointValue == 12.5
    assert second.TextValue in ("", None)
    for word in (b"Smith", b"Jane", b"General", b"breast", b"20240102"):
        assert word not in out.getvalue(), word

