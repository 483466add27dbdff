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
