"""The compiled Image Pixel module reader (``_dataset.pixel_module``, ``_dataset.element_at_stop``)
against the Python path it replaced, on every corpus file and on mutated ones.

* Every value ``pixel_module`` returns is what ``getattr(ds, keyword, None)`` gives on a fresh read
  of the same file (or the same exception, when decoding it fails).
* ``pixels.pixel_info`` (now over ``pixel_module``) gives the PixelInfo, or raises the exception
  (class and message), of the attribute-by-attribute implementation kept below as the reference.
* ``element_at_stop`` describes the element where a header read stopped as the Python reading of
  those bytes does.
"""
from __future__ import annotations

import os
import random

import numpy as np
import pytest
from corpus import corpus_files, corpus_id
from fuzzing import mutate_pixels, pixel_layout

import dicomfast
from dicomfast.pixels import native as pixels
from dicomfast.core._dataset import element_at_stop, pixel_module
from dicomfast.core._scan import FLAG_ENCAPSULATED
from dicomfast.errors import (
    DicomError,
    InvalidPixelAttributeError,
    PixelDataError,
    PixelDataLengthError,
    UnsupportedTransferSyntaxError,
)

KEYWORDS = ("BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "Rows", "Columns",
            "SamplesPerPixel", "PlanarConfiguration", "PhotometricInterpretation", "NumberOfFrames",
            "RescaleSlope", "RescaleIntercept", "RescaleType", "WindowCenter", "WindowWidth",
            "VOILUTFunction")
PRESENCE = ("ModalityLUTSequence", "VOILUTSequence", "SharedFunctionalGroupsSequence",
            "PerFrameFunctionalGroupsSequence", "RedPaletteColorLookupTableDescriptor")
PIXEL_TAGS = {0x7FE00010: "PixelData", 0x7FE00008: "FloatPixelData", 0x7FE00009: "DoubleFloatPixelData"}


# -- the reference: pixel_info as it was, one attribute read at a time -------------------------

def _ref_int(ds, keyword, required=True):
    try:
        value = getattr(ds, keyword)
    except AttributeError:
        value = None
    if value is None:
        if required:
            raise InvalidPixelAttributeError(f"the Image Pixel module has no {keyword} value")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPixelAttributeError(f"{keyword} has a value that is not one integer: {value!r}")
    return value


def reference_pixel_info(ds):
    found = [(tag, ds._find(tag)) for tag in PIXEL_TAGS if ds._find(tag) >= 0]
    if not found:
        raise PixelDataError("the dataset has no Pixel Data, Float Pixel Data or Double Float Pixel Data")
    if len(found) > 1:
        raise PixelDataError("only one of Pixel Data, Float Pixel Data and Double Float Pixel Data may be present")
    tag, index = found[0]
    tape = ds._tape
    encapsulated = bool(tape.flags(index) & FLAG_ENCAPSULATED)
    return reference_pixel_info_of(ds, PIXEL_TAGS[tag], index, encapsulated, tape.length(index), tape.vr(index))


def reference_pixel_info_of(ds, keyword, index, encapsulated, length, vr):
    root = ds
    while root._parent is not None:
        root = root._parent
    meta = root.file_meta
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if not syntax:
        big = ds._tape.big_endian
        syntax = "1.2.840.10008.1.2.2" if big else ("1.2.840.10008.1.2.1" if ds._tape.explicit_vr else "1.2.840.10008.1.2")
    syntax = str(syntax)
    if syntax in pixels._NATIVE and encapsulated:
        raise PixelDataError(f"the transfer syntax {syntax} is native but the pixel data is encapsulated")
    if syntax not in pixels._NATIVE and not encapsulated:
        if syntax.startswith("1.2.840.10008.1.2"):
            raise PixelDataError(f"the transfer syntax {syntax} is encapsulated but the pixel data is not")
        raise UnsupportedTransferSyntaxError(f"unknown transfer syntax {syntax}")
    bits_allocated = _ref_int(ds, "BitsAllocated")
    if not (bits_allocated == 1 or (bits_allocated in (8, 16, 24, 32, 40, 48, 56, 64))):
        raise InvalidPixelAttributeError(
            f"Bits Allocated {bits_allocated} is invalid: it must be 1 or a multiple of 8 up to 64")
    if keyword == "PixelData":
        bits_stored = _ref_int(ds, "BitsStored")
        if not 1 <= bits_stored <= bits_allocated:
            raise InvalidPixelAttributeError(
                f"Bits Stored {bits_stored} is invalid: it must be from 1 to Bits Allocated ({bits_allocated})")
        pixel_representation = _ref_int(ds, "PixelRepresentation")
        if pixel_representation not in (0, 1):
            raise InvalidPixelAttributeError(f"Pixel Representation {pixel_representation} is invalid: it must be 0 or 1")
        dtype = pixels._INT_DTYPES.get((bits_allocated, pixel_representation))
        if dtype is None:
            raise InvalidPixelAttributeError(f"Bits Allocated {bits_allocated} has no NumPy integer type")
    else:
        want = 32 if keyword == "FloatPixelData" else 64
        if bits_allocated != want:
            raise InvalidPixelAttributeError(f"{keyword} needs Bits Allocated {want}, not {bits_allocated}")
        bits_stored = _ref_int(ds, "BitsStored", required=False) or bits_allocated
        pixel_representation = 0
        dtype = np.dtype(np.float32) if want == 32 else np.dtype(np.float64)
    columns = _ref_int(ds, "Columns")
    if not 0 < columns <= 0xFFFF:
        raise InvalidPixelAttributeError(f"Columns {columns} is invalid: it must be from 1 to 65535")
    rows = _ref_int(ds, "Rows")
    if not 0 < rows <= 0xFFFF:
        raise InvalidPixelAttributeError(f"Rows {rows} is invalid: it must be from 1 to 65535")
    frames = _ref_int(ds, "NumberOfFrames", required=False) if ds._find(0x00280008) >= 0 else None
    if frames is None or frames == 0:
        frames = 1
    if frames < 1:
        raise InvalidPixelAttributeError(f"Number of Frames {frames} is invalid")
    photometric = getattr(ds, "PhotometricInterpretation", None)
    if not isinstance(photometric, str) or not photometric:
        raise InvalidPixelAttributeError(f"Photometric Interpretation {photometric!r} is missing or invalid")
    photometric = photometric.strip()
    if photometric not in pixels._PHOTOMETRIC:
        raise InvalidPixelAttributeError(f"unknown Photometric Interpretation {photometric!r}")
    samples = _ref_int(ds, "SamplesPerPixel")
    if samples not in (1, 3):
        raise InvalidPixelAttributeError(f"Samples per Pixel {samples} is invalid: it must be 1 or 3")
    planar = 0
    if samples == 3:
        planar = _ref_int(ds, "PlanarConfiguration", required=not encapsulated) or 0
        if planar not in (0, 1):
            raise InvalidPixelAttributeError(f"Planar Configuration {planar} is invalid: it must be 0 or 1")
    big_endian = syntax == "1.2.840.10008.1.2.2"
    swap_ow = big_endian and bits_allocated == 8 and keyword == "PixelData" and vr == "OW"
    frame_bits = rows * columns * samples * bits_allocated
    ybr422 = photometric == "YBR_FULL_422" and not encapsulated
    if ybr422:
        if bits_allocated == 1 or samples != 3:
            raise InvalidPixelAttributeError("YBR_FULL_422 needs 3 samples per pixel of 8 or more bits")
        frame_bytes = frame_bits // 8 // 3 * 2
        if (frame_bytes // (bits_allocated // 8)) % 4:
            raise InvalidPixelAttributeError("YBR_FULL_422 needs an even number of pixels per frame")
        frame_bits = frame_bytes * 8
    if not encapsulated:
        expected = -(-frame_bits * frames // 8)
        if length < expected:
            raise PixelDataLengthError(
                f"the pixel data holds {length} bytes, fewer than the {expected} bytes that "
                f"{frames} frame(s) of {rows} x {columns} x {samples} x {bits_allocated} bits need")
        if length > expected + expected % 2:
            if ybr422:
                ybr_length = expected // 2 * 3
                if length >= ybr_length + ybr_length % 2:
                    raise PixelDataLengthError(
                        f"the pixel data holds {length} bytes, a third more than {expected}: the "
                        "Photometric Interpretation is likely RGB or YBR_FULL, not YBR_FULL_422")
            else:
                frames = max(frames, length * 8 // frame_bits)
    return pixels.PixelInfo(
        keyword, index, syntax, encapsulated, big_endian, swap_ow, rows, columns, samples, planar,
        bits_allocated, bits_stored, pixel_representation, photometric, frames, dtype, frame_bits)


def reference_element_at_stop(ds):
    """pixel_reader._pixel_element's reading of the bytes where a header scan stopped (in the
    buffer the scan read: the inflated bytes of a deflated file)."""
    tape = ds._tape
    data = tape.buffer
    if tape.status != 1:
        return None
    pos = tape.stop
    head = bytes(data[pos:pos + 12])
    if len(head) < 12:
        return None
    order = "big" if tape.big_endian else "little"
    tag = int.from_bytes(head[0:2], order) << 16 | int.from_bytes(head[2:4], order)
    if tape.explicit_vr:
        vr = head[4:6]
        if vr in (b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"UN", b"UT", b"UC", b"UR", b"SQ"):
            length, value = int.from_bytes(head[8:12], order), pos + 12
        else:
            length, value = int.from_bytes(head[6:8], order), pos + 8
        vr_name = vr.decode("latin-1")
    else:
        length, value, vr_name = int.from_bytes(head[4:8], order), pos + 8, ""
    if length == 0xFFFFFFFF:
        return None
    return tag, value, length, vr_name


# -- comparisons -----------------------------------------------------------------------------

def _outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return type(exc), str(exc)


def _same(a, b):
    if a[0] != b[0]:
        return False
    if a[0] != "ok":
        return a[1] == b[1]
    x, y = a[1], b[1]
    if isinstance(x, float) and isinstance(y, float) and x != x:
        return y != y
    return type(x) is type(y) and x == y


def _datasets(read):
    """The top-level dataset of a fresh read, and the items of its sequences that hold pixel data
    (icon images), by their paths from the root."""
    ds = read()
    out = [()]
    for k, elem in enumerate(ds):
        if elem.VR == "SQ":
            try:
                items = elem.value
            except DicomError:
                continue
            for j, item in enumerate(items):
                if item._find(0x7FE00010) >= 0:
                    out.append((elem.tag, j))
    return out


def _navigate(ds, where):
    if not where:
        return ds
    tag, j = where
    return ds[tag].value[j]


def check_file(read):
    """pixel_module and pixel_info against the reference on a dataset from ``read()`` (and on its
    items that hold pixel data), each side on its own fresh read."""
    try:
        places = _datasets(read)
    except DicomError:
        return
    for where in places:
        m = pixel_module(_navigate(read(), where))
        ref = _navigate(read(), where)
        for k, keyword in enumerate(KEYWORDS):
            got = m[pixels.M_BITS_ALLOCATED + k]
            got = (type(got), str(got)) if isinstance(got, Exception) else ("ok", got)
            want = _outcome(lambda: getattr(ref, keyword, None))
            assert _same(got, want), (where, keyword, got, want)
        presence = sum(1 << k for k, keyword in enumerate(PRESENCE) if keyword in ref)
        assert m[pixels.M_PRESENCE] & ~pixels.EXACT_TYPES == presence
        exact = (all(type(m[k]) is int for k in (pixels.M_BITS_ALLOCATED, pixels.M_BITS_STORED,
                                                  pixels.M_PIXEL_REPRESENTATION, pixels.M_ROWS,
                                                  pixels.M_COLUMNS, pixels.M_SAMPLES))
                 and all(m[k] is None or type(m[k]) is int for k in (pixels.M_PLANAR, pixels.M_FRAMES))
                 and type(m[pixels.M_PHOTOMETRIC]) is str
                 and (m[pixels.M_SYNTAX] is None or type(m[pixels.M_SYNTAX]) is str))
        assert bool(m[pixels.M_PRESENCE] & pixels.EXACT_TYPES) == exact
        tags = [t for t in PIXEL_TAGS if ref._find(t) >= 0]
        assert m[pixels.M_NPIXEL] == len(tags)
        if tags:
            index = ref._find(tags[0])
            assert m[pixels.M_PIXEL_TAG] == tags[0] and m[pixels.M_PIXEL_INDEX] == index
            assert m[pixels.M_PIXEL_LENGTH] == ref._tape.length(index)
            assert m[pixels.M_PIXEL_VR] == ref._tape.vr(index)
        want = _outcome(reference_pixel_info, _navigate(read(), where))
        for _ in range(2):  # the second time from the cache of checked modules, when it applies
            got = _outcome(pixels.pixel_info, _navigate(read(), where))
            assert _same(got, want), (where, got, want)


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_id)
def test_pixel_module_and_pixel_info_match_the_python_path(path):
    data = open(path, "rb").read()
    for force in (False, True):
        try:
            dicomfast.dcmread(data, force=force)
        except DicomError as exc:
            partial = getattr(exc, "partial", None)
            if partial is not None:  # a damaged file's partial dataset is checked too
                check_file(lambda: _partial(data, force))
            continue
        check_file(lambda: dicomfast.dcmread(data, force=force))
        header = lambda: dicomfast.dcmread(data, force=force, stop_before_pixels=True)  # noqa: E731
        ds = header()
        assert element_at_stop(ds._tape) == reference_element_at_stop(ds)
        m = _outcome(lambda: pixels.pixel_info_of(header(), "PixelData", -1, False, 1 << 20, "OW"))
        r = _outcome(lambda: reference_pixel_info_of(header(), "PixelData", -1, False, 1 << 20, "OW"))
        assert _same(m, r), (m, r)
        break


def _partial(data, force):
    try:
        dicomfast.dcmread(data, force=force)
    except DicomError as exc:
        return exc.partial
    raise AssertionError("the read succeeded the second time")


def test_mutated_image_pixel_attributes_match_the_python_path():
    """Corrupted Rows, Bits, Frames, Photometric, ... values and truncations: the same values and
    the same errors as attribute-by-attribute reads."""
    rng = random.Random(5)
    seeds = []
    for path in corpus_files():
        data = open(path, "rb").read()
        if len(data) <= 256 * 1024:
            layout = pixel_layout(data)
            if layout is not None:
                seeds.append((data, layout))
    assert seeds
    for _ in range(400):
        data, layout = rng.choice(seeds)
        mutated = mutate_pixels(data, layout, rng)
        try:
            dicomfast.dcmread(mutated, force=True)
        except DicomError:
            continue
        check_file(lambda: dicomfast.dcmread(mutated, force=True))


def test_a_damaged_character_set_fails_every_value_as_attribute_reads_do():
    """A Specific Character Set whose value runs past the data (a partial read): each value raises
    the error that ``ds.Keyword`` raises, not a value decoded around it."""
    from dicomfast.core import _scan
    from dicomfast.dataset import Dataset
    from dicomfast.core._dataset import new_dataset

    def element(tag, vr, value):
        return (tag >> 16).to_bytes(2, "little") + (tag & 0xFFFF).to_bytes(2, "little") + vr + \
            len(value).to_bytes(2, "little") + value

    body = element(0x00280010, b"US", (4).to_bytes(2, "little"))
    # Specific Character Set last (out of order), declaring more bytes than the data holds
    damaged = body + b"\x08\x00\x05\x00CS\x40\x00ISO_IR 100"

    def read():
        return new_dataset(Dataset, _scan.scan(damaged, 0))

    ds = read()
    assert ds._tape.status > 1  # the scan failed: a partial tape
    m = pixel_module(read())
    rows = m[pixels.M_ROWS]
    want = _outcome(lambda: read().Rows)
    got = (type(rows), str(rows)) if isinstance(rows, Exception) else ("ok", rows)
    assert _same(got, want)


# -- the unused-bit check ----------------------------------------------------------------------

def _needs_correction_reference(values, bits_stored, signed):
    """Per value, as the correction would compute it: the low bits kept, sign-extended if signed."""
    mask = (1 << bits_stored) - 1
    for v in values.tolist():
        u = v & ((1 << 64) - 1)  # the value as a 64-bit pattern (negative values sign-extended)
        c = u & mask
        if signed and c >> (bits_stored - 1) & 1:
            c |= ((1 << 64) - 1) & ~mask
        if c != u:
            return True
    return False


@pytest.mark.parametrize("dtype", ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8"])
def test_needs_bit_correction_matches_the_per_value_check(dtype):
    from dicomfast.pixels import _native as _pixels

    rng = np.random.default_rng(7)
    dt = np.dtype(dtype)
    width = dt.itemsize * 8
    info = np.iinfo(dt)
    for bits in sorted({1, 2, width // 2, width - 1, width}):
        hi = (1 << bits) - 1
        for signed in (False, True):
            for trial in range(12):
                n = int(rng.integers(1, 300))
                if trial % 3 == 0:  # values within the stored range, then one at its edge or past it
                    lo_v = -(1 << (bits - 1)) if signed else 0
                    hi_v = ((1 << (bits - 1)) - 1) if signed else hi
                    lo_v, hi_v = max(lo_v, info.min), min(hi_v, info.max)
                    values = rng.integers(lo_v, hi_v, n, endpoint=True, dtype=dt)
                    if trial % 2:
                        edges = [lo_v - 1 if lo_v > info.min else lo_v, hi_v + 1 if hi_v < info.max else hi_v]
                        values[rng.integers(n)] = edges[int(rng.integers(2))]
                else:
                    values = rng.integers(info.min, info.max, n, endpoint=True, dtype=dt)
                want = _needs_correction_reference(values, bits, signed)
                assert _pixels.needs_bit_correction(values, bits, signed) == want, (dtype, bits, signed, values)
    big = np.zeros(200_000, dt)  # several blocks; the odd value in the last one
    big[-1] = 1 << (width - 2)
    assert _pixels.needs_bit_correction(big, width - 2, False)
    assert not _pixels.needs_bit_correction(big[:-1], width - 2, False)


def test_pread_into_reads_until_full_or_the_end(tmp_path):
    from dicomfast.core._scan import pread_into

    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 4)
    fd = os.open(path, os.O_RDONLY)
    try:
        buf = np.zeros(100, np.uint8)
        assert pread_into(fd, buf, 10) == 100 and buf.tolist() == [(10 + i) % 256 for i in range(100)]
        assert pread_into(fd, buf, 1000) == 24  # the file ends: a short count, not an error
        assert pread_into(fd, buf, 5000) == 0
        with pytest.raises(ValueError):
            pread_into(fd, buf, -1)
        with pytest.raises(BufferError):
            pread_into(fd, b"read-only", 0)
    finally:
        os.close(fd)
    with pytest.raises(OSError):
        pread_into(fd, buf, 0)  # closed
