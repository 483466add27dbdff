"""Mutations of real DICOM files, and a full walk of whatever dicomfast reads from them.

Shared by the bounded fuzz test that CI runs (tests/test_fuzz.py) and the longer run
(``python tests/fuzzing.py --seconds 600``). The rule under test: bad input gives a DicomError
or a dataset, never a crash, a hang or another exception.
"""

from __future__ import annotations

import random
import struct
import sys
import time
import warnings
from pathlib import Path

import dicomfast


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random, structure-aware corruption of ``data``."""
    buf = bytearray(data)
    if not buf:
        return bytes(buf)
    kind = rng.randrange(8)
    if kind == 0:  # truncate anywhere
        return bytes(buf[: rng.randrange(len(buf))])
    if kind == 1:  # flip a few bytes
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        return bytes(buf)
    if kind == 2:  # overwrite a 4-byte field with a hostile length
        pos = rng.randrange(len(buf))
        value = rng.choice([0xFFFFFFFF, 0xFFFFFFFE, 0x7FFFFFFF, 0x80000000, 0, 1, 2, 3, 7, len(buf)])
        buf[pos:pos + 4] = struct.pack("<I", value)
        return bytes(buf)
    if kind == 3:  # overwrite a 2-byte field (a short length or a VR)
        pos = rng.randrange(len(buf))
        buf[pos:pos + 2] = rng.choice([b"SQ", b"UN", b"OB", b"\xff\xff", b"\x00\x00", b"UT", b"xx"])
        return bytes(buf)
    if kind == 4:  # insert item or delimiter tags
        pos = rng.randrange(len(buf))
        tag = rng.choice([b"\xfe\xff\x00\xe0", b"\xfe\xff\x0d\xe0", b"\xfe\xff\xdd\xe0"])
        length = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x10\x00\x00\x00"])
        buf[pos:pos] = tag + length
        return bytes(buf)
    if kind == 5:  # delete a span
        a = rng.randrange(len(buf))
        del buf[a:a + rng.randint(1, 64)]
        return bytes(buf)
    if kind == 6:  # duplicate a span
        a = rng.randrange(len(buf))
        buf[a:a] = buf[a:a + rng.randint(1, 256)]
        return bytes(buf)
    # random bytes after a valid prefix
    a = rng.randrange(len(buf))
    return bytes(buf[:a]) + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))


def walk(dataset, damaged_ok: bool = False) -> int:
    """Touch every value at every depth; return the count. In a partial dataset
    (``damaged_ok``) the damaged element may raise a DicomError on access."""
    count = 0
    for element in dataset:
        count += 1
        try:
            value = element.value
        except dicomfast.DicomError:
            if not damaged_ok:
                raise
            continue
        element.VM
        element.keyword
        if element.VR == "SQ":
            for item in value:
                count += walk(item, damaged_ok)
    return count


def exercise(data: bytes) -> str:
    """Read and walk one input; return 'read' or the DicomError's class name."""
    try:
        for options in ({}, {"stop_before_pixels": True}, {"specific_tags": [0x00100010, 0x00200013]}):
            dataset = dicomfast.dcmread(data, force=True, **options)
            walk(dataset)
            if dataset.file_meta is not None:
                walk(dataset.file_meta)
        dataset.dump()
        return "read"
    except dicomfast.DicomError as exc:
        partial = getattr(exc, "partial", None)
        if partial is not None:
            walk(partial, damaged_ok=True)
        return type(exc).__name__


def run(seeds: list[Path], iterations: int, seed: int, seconds: float | None = None) -> dict:
    rng = random.Random(seed)
    sources = [p.read_bytes() for p in seeds]
    outcomes: dict[str, int] = {}
    started = time.monotonic()
    done = 0
    while done < iterations:
        if seconds is not None and time.monotonic() - started > seconds:
            break
        data = rng.choice(sources)
        for _ in range(rng.randint(1, 3)):
            data = mutate(data, rng)
        outcome = exercise(data)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        done += 1
    outcomes["_iterations"] = done
    outcomes["_seconds"] = round(time.monotonic() - started, 1)
    return outcomes


if __name__ == "__main__":
    import argparse

    sys.path.insert(0, str(Path(__file__).parent))
    from corpus import corpus_files

    parser = argparse.ArgumentParser(description="fuzz dicomfast's reader with mutated corpus files")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-size", type=int, default=1 << 20, help="skip seed files larger than this")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # undecodable text in mutated files warns, as in pydicom
    seeds = [Path(p) for p in corpus_files() if Path(p).stat().st_size <= args.max_size]
    print(run(seeds, iterations=10**9, seed=args.seed, seconds=args.seconds))
