"""New UIDs (dicomfast.uid.generate_uid, is_valid_uid, the constants), against the rules of PS3.5
9.1 and B.2 and against pydicom's generate_uid where the two promise the same result."""
from __future__ import annotations

import math
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.uid import UID as PydicomUID
from pydicom.uid import generate_uid as pydicom_generate_uid

import dicomfast
from dicomfast import uid
from dicomfast.uid import DICOMFAST_ROOT, IMPLEMENTATION_CLASS_UID, generate_uid, is_valid_uid

PREFIXES = [None, DICOMFAST_ROOT, "1.2.826.0.1.3680043.10.1145.", "1.2.", "0.", "2.25.0.",
            "1.2.840.10008.5.1.4.1.1.2.9999999999999.1.2.3.4.5.6.7."]  # the last is 54 characters


def _as_uuid(value: str) -> uuid.UUID:
    assert value.startswith("2.25.")
    return uuid.UUID(int=int(value[5:]))


@pytest.mark.parametrize("prefix", PREFIXES)
def test_generated_uids_are_valid_and_start_with_the_prefix(prefix):
    for _ in range(200):
        value = generate_uid(prefix)
        assert is_valid_uid(value) and PydicomUID(value).is_valid
        assert len(value) <= 64
        assert value.startswith(prefix or "2.25.")


def test_the_root_is_the_uuid_arc_and_the_default():
    assert DICOMFAST_ROOT == "2.25."
    value = generate_uid()
    assert _as_uuid(value).version == 4
    assert len(generate_uid(None)) <= 44  # "2.25." and at most 39 digits


def _allowed_repeats(draws: int, space: int) -> int:
    """The most repeats among ``draws`` uniform draws from ``space`` values that chance explains:
    the smallest k with P(more than k) < 1e-9, repeats counted as Poisson with the birthday mean."""
    mean = draws * (draws - 1) / (2 * space)
    k, term, cdf = 0, math.exp(-mean), math.exp(-mean)
    while 1 - cdf >= 1e-9 and term > 0:
        k += 1
        term *= mean / k
        cdf += term
    return k


@pytest.mark.parametrize("prefix", PREFIXES)
def test_random_uids_are_distinct(prefix):
    """No more repeats than chance allows: none under 2.25 (122 random bits) or a short root; a
    54-character root leaves 10 random digits, where 20,000 draws repeat one value about 2% of the
    time (the bound is then 4)."""
    draws = [generate_uid(prefix) for _ in range(20000)]
    space = 2 ** 122 if prefix in (None, DICOMFAST_ROOT) else 10 ** (64 - len(prefix))
    allowed = _allowed_repeats(len(draws), space)
    assert allowed == (4 if prefix == PREFIXES[-1] else 0)
    assert len(draws) - len(set(draws)) <= allowed


@pytest.mark.parametrize("prefix", PREFIXES)
def test_entropy_sources_make_the_uid_deterministic(prefix):
    a = generate_uid(prefix, ["1.2.3.4", "study"])
    assert a == generate_uid(prefix, ["1.2.3.4", "study"])
    assert a != generate_uid(prefix, ["1.2.3.4", "studz"])
    assert is_valid_uid(a)
    draws = {generate_uid(prefix, [str(i)]) for i in range(5000)}
    assert len(draws) == 5000


def test_entropy_sources_under_2_25_give_a_name_based_uuid():
    value = generate_uid(None, ["x"])
    assert value == generate_uid(DICOMFAST_ROOT, ["x"])
    u = _as_uuid(value)
    assert u.version == 8 and u.variant == uuid.RFC_4122


@pytest.mark.parametrize("prefix", [p for p in PREFIXES if p not in (None, DICOMFAST_ROOT)])
@given(sources=st.lists(st.text(max_size=20), max_size=4))
@settings(max_examples=50, deadline=None)
def test_entropy_sources_with_a_root_give_pydicoms_uid(prefix, sources):
    assert generate_uid(prefix, sources) == pydicom_generate_uid(prefix, sources)


@pytest.mark.parametrize("prefix", ["1.2", "1.02.", ".1.", "1..2.", "a.b.", "", "1.2.3 .",
                                    "1.2.840.10008.5.1.4.1.1.2.9999999999999.1.2.3.4.5.6.78."])
def test_invalid_prefixes_are_refused(prefix):
    with pytest.raises(ValueError, match="prefix"):
        generate_uid(prefix)


@pytest.mark.parametrize("sources", ["abc", b"abc", [1, 2], ["a", None]])
def test_entropy_sources_must_be_a_list_of_str(sources):
    with pytest.raises(TypeError, match="entropy_srcs"):
        generate_uid(None, sources)


@pytest.mark.parametrize("value", ["0", "1.2.3", "1.2.840.10008.1.2.1", "2.25.0", "1." + "1" * 62])
def test_valid_uids(value):
    assert is_valid_uid(value)


@pytest.mark.parametrize("value", ["", "1.2.", ".1.2", "1..2", "1.02", "01.2", "1.2a", "1.2\x00",
                                   " 1.2", "1.2 ", "1." + "1" * 63, "１.２", None, 12, b"1.2"])
def test_invalid_uids(value):
    assert not is_valid_uid(value)


@given(st.from_regex(r"(0|[1-9][0-9]{0,5})(\.(0|[1-9][0-9]{0,5})){0,12}", fullmatch=True))
def test_is_valid_uid_agrees_with_pydicom(value):
    assert is_valid_uid(value) == PydicomUID(value).is_valid


def test_implementation_class_uid():
    expected = uuid.uuid5(uuid.NAMESPACE_URL, "https://pypi.org/project/dicomfast/")
    assert IMPLEMENTATION_CLASS_UID == f"2.25.{expected.int}"
    assert is_valid_uid(IMPLEMENTATION_CLASS_UID)


def test_exported():
    assert {"generate_uid", "is_valid_uid", "DICOMFAST_ROOT", "IMPLEMENTATION_CLASS_UID"} <= set(uid.__all__)
    assert dicomfast.generate_uid is generate_uid
    assert "generate_uid" in dicomfast.__all__
