"""A bounded fuzz run in every CI run: mutated and truncated real files give a DicomError or a
dataset, never a crash, a hang or another exception; corrupt pixel data, fragments, offset tables
(basic and extended) and RLE headers give a DicomError or an array. The longer runs are
`python tests/fuzzing.py [--pixels] --seconds 600`."""

import signal
from pathlib import Path

import pytest

from corpus import corpus_files
from fuzzing import exercise, exercise_pixels, mutate, pixel_layout, pixel_seeds, run, run_pixels

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


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_mutations_give_dicom_errors_only(seed, strict, deadline):
    outcomes = run(SEEDS, iterations=400, seed=seed, strict=strict)
    # Both outcomes must occur, or the mutations are not reaching the parser.
    assert outcomes["_iterations"] == 400
    assert outcomes.get("read", 0) > 0
    assert sum(v for k, v in outcomes.items() if not k.startswith(("_", "read"))) > 0
    if strict:
        assert "read with defects" not in outcomes


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


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_pixel_mutations_give_dicom_errors_only(seed, strict, deadline):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcomes = run_pixels(SEEDS, iterations=300, seed=seed, strict=strict)
    assert outcomes["_iterations"] == 300
    assert outcomes.get("decoded", 0) > 0
    assert sum(v for k, v in outcomes.items() if not k.startswith(("_", "decoded"))) > 0
    if strict:
        assert "decoded with defects" not in outcomes


def test_pixel_seeds_include_extended_offset_tables():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layouts = [pixel_layout(d) for d in pixel_seeds(SEEDS)]
    assert any(layout is not None and layout["eot"] is not None for layout in layouts)
    assert any(layout is not None and layout["rle"] for layout in layouts)


@pytest.mark.parametrize("frames", ["3", "99999999"])
def test_number_of_frames_beyond_the_fragments_is_a_dicom_error(frames):
    """An untrusted Number of Frames must not size the array: a DicomError, not a MemoryError."""
    import io

    import pydicom

    from corpus import corpus_id

    source = next(p for p in corpus_files() if corpus_id(p) == "pd/SC_rgb_rle_2frame.dcm")
    ds = pydicom.dcmread(source)
    ds.NumberOfFrames = frames
    out = io.BytesIO()
    ds.save_as(out)
    assert exercise_pixels(out.getvalue()) in ("PixelDataError", "DicomError")


HTJ2K = ("1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203")


@pytest.mark.parametrize("decoder", [None, "imagecodecs", "pylibjpeg"])
def test_codestream_mutations_give_dicom_errors_only(decoder, deadline):
    """Corrupt JPEG, JPEG-LS, JPEG 2000 and HTJ2K codestreams (headers, hostile sizes, stray
    markers, truncation) through each backend and the default order, frames on 2 threads: a
    DicomError or an array, never a crash, a hang or another exception."""
    import warnings

    # imagecodecs' HTJ2K decoder (OpenJPH) reports some corrupt codestreams as an "Exception
    # ignored" and returns an array: why HTJ2K's default order puts pylibjpeg first
    exclude = frozenset(HTJ2K) if decoder == "imagecodecs" else frozenset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcomes = run_pixels(SEEDS, iterations=250, seed=11, codestreams=True, decoder=decoder, workers=2,
                              exclude=exclude)
    assert outcomes["_iterations"] == 250
    assert outcomes.get("decoded", 0) > 0
    assert sum(v for k, v in outcomes.items() if not k.startswith("_") and k != "decoded") > 0


@pytest.mark.parametrize("frames", ["1", "3", "9", "11", "99999999"])
def test_wrong_frame_counts_of_a_compressed_multiframe(frames):
    """A 10-frame HTJ2K file whose Number of Frames lies: fewer frames than fragments decode as
    pydicom finds them (a frame of several fragments: a DicomError from the codec, or an array),
    more is a DicomError; never a crash or a huge allocation."""
    import io

    import pydicom

    from corpus import corpus_id

    sources = [p for p in corpus_files() if corpus_id(p) == "gen/codec_emri_htj2k.dcm"]
    if not sources:
        pytest.skip("gen/codec_emri_htj2k.dcm was not generated")
    ds = pydicom.dcmread(sources[0])
    ds.NumberOfFrames = frames
    out = io.BytesIO()
    ds.save_as(out)
    for workers in (1, 2):
        assert exercise_pixels(out.getvalue(), workers=workers) in ("decoded", "PixelDataError", "DicomError")
