"""A bounded fuzz run in every CI run: mutated and truncated real files give a DicomError or a
dataset, never a crash, a hang or another exception. The longer run is `python tests/fuzzing.py`."""

import signal
from pathlib import Path

import pytest

from corpus import corpus_files
from fuzzing import exercise, mutate, run

SEEDS = [Path(p) for p in corpus_files() if Path(p).stat().st_size <= 256 * 1024]


@pytest.fixture
def deadline():
    """Fail, rather than hang, if one test takes far longer than it should."""
    def expired(signum, frame):
        raise TimeoutError("the fuzz run hung")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(300)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("seed", range(4))
def test_mutations_give_dicom_errors_only(seed, deadline):
    outcomes = run(SEEDS, iterations=400, seed=seed)
    # Both outcomes must occur, or the mutations are not reaching the parser.
    assert outcomes["_iterations"] == 400
    assert outcomes.get("read", 0) > 0
    assert sum(v for k, v in outcomes.items() if not k.startswith("_") and k != "read") > 0


def test_every_truncation_of_a_file(deadline):
    """Every prefix of a small real file, at every byte."""
    small = min(SEEDS, key=lambda p: p.stat().st_size)
    data = small.read_bytes()
    outcomes = {exercise(data[:n]) for n in range(len(data) + 1)}
    assert "read" in outcomes


def test_mutate_changes_data():
    import random

    data = SEEDS[0].read_bytes()
    rng = random.Random(0)
    assert any(mutate(data, rng) != data for _ in range(10))
