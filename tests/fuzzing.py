"""Mutations of real DICOM files, and a full walk of whatever dicomfast reads from them.

Shared by the bounded fuzz test that CI runs (tests/test_fuzz.py) and the longer run
(``python tests/fuzzing.py --seconds 600``, and ``--pixels`` for the pixel data paths: corrupt
pixel bytes, fragment lengths, Basic and Extended Offset Tables, RLE headers and Image Pixel
attributes through pixel_array, iter_frames, decode_frame and read_pixels). The rule under test: bad input gives a DicomError
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


def exercise(data: bytes, strict: bool = False) -> str:
    """Read and walk one input (``strict``: with ``strict=True``); return 'read' (or, not strict,
    'read with defects') or the DicomError's class name."""
    try:
        defects = False
        for options in ({}, {"stop_before_pixels": True}, {"specific_tags": [0x00100010, 0x00200013]}):
            dataset = dicomfast.dcmread(data, force=True, strict=strict, **options)
            defects = defects or bool(dataset.defects)
            walk(dataset)
            if dataset.file_meta is not None:
                walk(dataset.file_meta)
        dataset.dump()
        return "read with defects" if defects else "read"
    except dicomfast.DicomError as exc:
        partial = getattr(exc, "partial", None)
        if partial is not None:
            walk(partial, damaged_ok=True)
        return type(exc).__name__


# -- pixel data ----------------------------------------------------------------------------------

_PIXEL_ATTRIBUTES = [  # (group, element) of Image Pixel attributes worth corrupting
    (0x0028, 0x0010), (0x0028, 0x0011), (0x0028, 0x0100), (0x0028, 0x0101), (0x0028, 0x0103),
    (0x0028, 0x0002), (0x0028, 0x0006), (0x0028, 0x0008), (0x0028, 0x0004),
]


def pixel_layout(data: bytes) -> dict | None:
    """Where the pixel data of a file is: its value range, the fragment item headers (encapsulated),
    the Basic and Extended Offset Tables, the RLE headers, and the Image Pixel attributes' values."""
    try:
        ds = dicomfast.dcmread(data, force=True)
    except dicomfast.DicomError:
        return None
    tape = ds._tape
    index = ds._find(0x7FE00010)
    if index < 0:
        return None
    layout = {"value": (tape.offset(index), tape.length(index)), "items": [], "bot": None,
              "eot": None, "attributes": [], "rle": False}
    syntax = str(ds.file_meta.get("TransferSyntaxUID", "")) if ds.file_meta is not None else ""
    layout["rle"] = syntax == "1.2.840.10008.1.2.5"
    layout["syntax"] = syntax
    for i in range(index + 1, tape.end(index)):
        layout["items"].append((tape.start(i), tape.offset(i), tape.length(i)))
    if layout["items"]:
        layout["bot"] = layout["items"][0]
    eot = ds._find(0x7FE00001)
    if eot >= 0:
        layout["eot"] = (tape.offset(eot), tape.length(eot))
    for group, element in _PIXEL_ATTRIBUTES:
        k = ds._find(group << 16 | element)
        if k >= 0:
            layout["attributes"].append((tape.offset(k), tape.length(k), tape.vr(k)))
    return layout


def mutate_pixels(data: bytes, layout: dict, rng: random.Random) -> bytes:
    """One corruption aimed at the pixel data: its bytes, fragment lengths, offset tables (basic and
    extended), RLE segment headers, or the Image Pixel attributes that size the array."""
    buf = bytearray(data)
    hostile = [0, 1, 2, 3, 4, 63, 64, 65, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF, len(buf), len(buf) * 2]
    kind = rng.randrange(7)
    items = layout["items"]
    if kind == 0 or (kind in (1, 2, 3) and not items):  # bytes inside the pixel data
        offset, length = layout["value"]
        if length <= 0 or length == 0xFFFFFFFF:
            length = max(len(buf) - offset, 1)
        for _ in range(rng.randint(1, 16)):
            pos = offset + rng.randrange(length)
            if pos < len(buf):
                buf[pos] = rng.randrange(256)
        return bytes(buf)
    if kind == 1:  # a fragment's length
        start, _, _ = rng.choice(items)
        buf[start + 4:start + 8] = struct.pack("<I", rng.choice(hostile))
        return bytes(buf)
    if kind == 2:  # Basic Offset Table entries (made non-empty if it was empty)
        start, offset, length = layout["bot"]
        if length == 0 or rng.random() < 0.3:
            entries = [rng.choice(hostile + [rng.randrange(len(buf))]) for _ in range(rng.randint(1, 4))]
            table = struct.pack(f"<{len(entries)}I", *entries)
            buf[start + 4:start + 8] = struct.pack("<I", len(table))
            buf[offset:offset] = table
            return bytes(buf)
        pos = offset + 4 * rng.randrange(max(length // 4, 1))
        buf[pos:pos + 4] = struct.pack("<I", rng.choice(hostile))
        return bytes(buf)
    if kind == 3:  # an RLE header (segment count, segment offsets) or a codestream's first bytes
        _, offset, length = rng.choice(items[1:] or items)
        if layout["rle"] and length >= 64:
            field = rng.randrange(16)
            value = rng.choice([0, 1, 2, 3, 15, 16, 255] if field == 0 else hostile + [64, length, length + 1])
            buf[offset + 4 * field:offset + 4 * field + 4] = struct.pack("<I", value)
        else:
            for _ in range(rng.randint(1, 4)):
                pos = offset + rng.randrange(min(max(length, 1), 32))
                if pos < len(buf):
                    buf[pos] = rng.randrange(256)
        return bytes(buf)
    if kind == 4 and layout["eot"] is not None:  # Extended Offset Table entries
        offset, length = layout["eot"]
        if length >= 8:
            pos = offset + 8 * rng.randrange(length // 8)
            buf[pos:pos + 8] = struct.pack("<Q", rng.choice(hostile + [2**63, 2**64 - 1]))
        return bytes(buf)
    if kind in (4, 5) and layout["attributes"]:  # an Image Pixel attribute: rows, bits, frames, ...
        offset, length, vr = rng.choice(layout["attributes"])
        if vr in ("US", "SS", "") and length == 2:
            buf[offset:offset + 2] = struct.pack("<H", rng.choice([0, 1, 2, 3, 7, 8, 12, 15, 16, 17, 24, 32, 33, 64, 65535]))
        else:  # IS / CS text: a number or a word of the same length
            text = rng.choice([b"0", b"1", b"2", b"3", b"99", b"99999999", b"-1", b"1A", b"RGB", b"YBR_FULL_422"])
            buf[offset:offset + length] = text[:length].ljust(length, b" ")
        return bytes(buf)
    # truncate inside the pixel data
    offset, length = layout["value"]
    end = len(buf) if length == 0xFFFFFFFF else min(len(buf), offset + length)
    return bytes(buf[:rng.randrange(offset, max(end, offset + 1))])


def mutate_codestream(data: bytes, layout: dict, rng: random.Random) -> bytes:
    """One corruption of a compressed frame's codestream, in place (the file's structure stays):
    bytes of its headers (SOF/SIZ/SOS/COD, the first 600 bytes) or anywhere in it, a header's
    2-byte field (sizes, counts, precision) set to a hostile value, a marker (SOI, EOI, SOC, EOC,
    SOF, SOS) written anywhere, or its end zeroed (a truncated codestream)."""
    buf = bytearray(data)
    items = layout["items"][1:]
    if not items:
        return mutate_pixels(data, layout, rng)
    _, offset, length = rng.choice(items)
    if length <= 4 or length == 0xFFFFFFFF or offset + length > len(buf):
        return mutate_pixels(data, layout, rng)
    kind = rng.randrange(5)
    head = min(length, 600)
    if kind == 0:
        for _ in range(rng.randint(1, 6)):
            buf[offset + rng.randrange(head)] = rng.randrange(256)
    elif kind == 1:
        pos = offset + rng.randrange(head - 1)
        buf[pos:pos + 2] = struct.pack(">H", rng.choice([0, 1, 2, 3, 8, 16, 17, 255, 0x7FFF, 0x8000, 0xFFFF]))
    elif kind == 2:
        pos = offset + rng.randrange(length - 1)
        buf[pos:pos + 2] = rng.choice([b"\xff\xd8", b"\xff\xd9", b"\xff\x4f", b"\xff\xd9", b"\xff\xc0",
                                       b"\xff\xda", b"\xff\x51", b"\xff\xf7", b"\xff\xff"])
    elif kind == 3:
        for _ in range(rng.randint(1, 32)):
            buf[offset + rng.randrange(length)] = rng.randrange(256)
    else:
        cut = offset + rng.randrange(length)
        buf[cut:offset + length] = bytes(offset + length - cut)
    return bytes(buf)


def exercise_pixels(data: bytes, decoder: str | None = None, workers: int | None = None,
                    strict: bool = False) -> str:
    """Decode one input every way there is (``decoder`` and ``workers``: the options of
    pixel_array; ``strict``: with ``strict=True``); return 'decoded' (or, not strict, 'decoded
    with defects') or the DicomError's class name."""
    from dicomfast import pixels
    from dicomfast.pixels.codecs import decode_frame

    try:
        ds = dicomfast.dcmread(data, force=True, strict=strict)
        info = pixels.pixel_info(ds, strict)
        pixels.pixel_array(ds, strict=strict, decoder=decoder, workers=workers)
        n = info.number_of_frames
        for k in sorted({0, n - 1, n // 2}):
            pixels.pixel_array(ds, frame=k, strict=strict)
        for k, _ in zip(range(3), pixels.iter_frames(ds, strict=strict)):
            pass
        if info.encapsulated:
            decode_frame(ds, n - 1, decoder=decoder)
        if info.samples_per_pixel == 1:
            dicomfast.read_pixels(data, window=(40, 400), strict=strict)
            dicomfast.read_pixels(ds, window="dataset" if ds.get("WindowWidth") is not None else None,
                                  strict=strict)
        return "decoded with defects" if ds.defects else "decoded"
    except dicomfast.DicomError as exc:
        return type(exc).__name__


def with_extended_offset_table(data: bytes) -> bytes | None:
    """An encapsulated multi-frame file rewritten (by pydicom) with an Extended Offset Table and an
    empty Basic Offset Table: the corpus has no such file, and the fuzzer needs one."""
    import io

    import pydicom
    from pydicom.encaps import encapsulate_extended, generate_frames

    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    if "PixelData" not in ds or not ds.file_meta.TransferSyntaxUID.is_encapsulated:
        return None
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames < 2:
        return None
    pixel, offsets, lengths = encapsulate_extended(list(generate_frames(ds.PixelData, number_of_frames=frames)))
    ds.PixelData, ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths = pixel, offsets, lengths
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def pixel_seeds(paths: list[Path]) -> list[bytes]:
    """The seeds' bytes, plus Extended Offset Table versions of their encapsulated multi-frames."""
    out = []
    for path in paths:
        data = path.read_bytes()
        out.append(data)
        if b"\xe0\x7f\x10\x00" in data:
            try:
                extended = with_extended_offset_table(data)
            except Exception:  # noqa: BLE001 - a seed pydicom cannot rewrite is simply not added
                extended = None
            if extended is not None:
                out.append(extended)
    return out


def run_pixels(seeds: list[Path], iterations: int, seed: int, seconds: float | None = None,
               codestreams: bool = False, decoder: str | None = None, workers: int | None = None,
               exclude: frozenset = frozenset(), strict: bool = False) -> dict:
    """Mutate the pixel data of the seeds ``iterations`` times (or for ``seconds``); with
    ``codestreams``, the compressed frames' codestreams of the encapsulated seeds (other than RLE),
    decoded with ``decoder`` on ``workers`` threads; seeds of the transfer syntaxes in ``exclude``
    left out."""
    rng = random.Random(seed)
    sources = []
    for data in pixel_seeds(seeds):
        layout = pixel_layout(data)
        if layout is None or layout["syntax"] in exclude:
            continue
        if not codestreams or (len(layout["items"]) > 1 and not layout["rle"]):
            sources.append((data, layout))
    outcomes: dict[str, int] = {}
    started = time.monotonic()
    done = 0
    while done < iterations:
        if seconds is not None and time.monotonic() - started > seconds:
            break
        data, layout = rng.choice(sources)
        mutated = (mutate_codestream if codestreams else mutate_pixels)(data, layout, rng)
        outcome = exercise_pixels(mutated, decoder, workers, strict)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        done += 1
    outcomes["_iterations"] = done
    outcomes["_seconds"] = round(time.monotonic() - started, 1)
    return outcomes


def run(seeds: list[Path], iterations: int, seed: int, seconds: float | None = None, strict: bool = False) -> dict:
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
        outcome = exercise(data, strict)
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
    parser.add_argument("--pixels", action="store_true", help="fuzz the pixel data paths instead of the reader")
    parser.add_argument("--strict", action="store_true", help="read with strict=True (default: tolerant)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # undecodable text in mutated files warns, as in pydicom
    seeds = [Path(p) for p in corpus_files() if Path(p).stat().st_size <= args.max_size]
    fuzz = run_pixels if args.pixels else run
    print(fuzz(seeds, iterations=10**9, seed=args.seed, seconds=args.seconds, strict=args.strict))
