"""The compiled Image Pixel module reader (``pixels.module.pixel_module``, compiled in
dicomfast/pixels/_module.pyx, and ``core._dataset.element_at_stop``) against the Python path it
replaced, on every corpus file and on mutated ones.

* Every field of the ``PixelModule`` record ``pixel_module`` returns is what the Python reading of
  the same file gives: each value attribute reads as ``getattr(ds, keyword, None)`` on a fresh read
  (or raises the same exception, class and message, when decoding it fails: a value that failed to
  decode raises its error when read, each time it is read); the presence flags, the pixel data
  element's description, the byte order and VR encoding, and ``key`` (set exactly when the checked
  values have exact types) match the dataset's records.
* ``module.pixel_info`` (over ``pixel_module`` and ``module.check``) gives the PixelInfo, or raises
  the exception (class and message), of the attribute-by-attribute implementation kept below as
  the reference: so a value that failed to decode raises where the Python checks first read it.
* ``element_at_stop`` (and ``dataset.element_after_header``) describes the element where a header
  read stopped as the Python reading of those bytes does, from the bytes the scan had or, when
  they end inside the element's header, from ``read_at``.
"""
from __future__ import annotations

import os
import random

import numpy as np
import pytest
from corpus import corpus_files, corpus_id
from fuzzing import mutate_pixels, pixel_layout

import dicomfast
from dicomfast import reader
from dicomfast.sources import FileSource
from dicomfast.core._dataset import ElementHeader, element_at_stop
from dicomfast.core._scan import FLAG_ENCAPSULATED
from dicomfast.dataset import element_after_header
from dicomfast.pixels import module
from dicomfast.pixels.module import PixelModule, check, module_info, pixel_info, pixel_module
from dicomfast.errors import (
    DicomError,
    InvalidPixelAttributeError,
    PixelDataError,
    PixelDataLengthError,
    UnsupportedTransferSyntaxError,
)

# keyword -> the PixelModule attribute that holds its value
KEYWORDS = {
    "BitsAllocated": "bits_allocated", "BitsStored": "bits_stored", "HighBit": "high_bit",
    "PixelRepresentation": "pixel_representation", "Rows": "rows", "Columns": "columns",
    "SamplesPerPixel": "samples_per_pixel", "PlanarConfiguration": "planar_configuration",
    "PhotometricInterpretation": "photometric_interpretation", "NumberOfFrames": "number_of_frames",
    "RescaleSlope": "rescale_slope", "RescaleIntercept": "rescale_intercept", "RescaleType": "rescale_type",
    "WindowCenter": "window_center", "WindowWidth": "window_width", "VOILUTFunction": "voi_lut_function",
}
# read only with transform_values (else None whatever the dataset holds)
TRANSFORM_KEYWORDS = ("RescaleSlope", "RescaleIntercept", "RescaleType", "WindowCenter", "WindowWidth",
                      "VOILUTFunction")
# keyword -> the PixelModule flag that says it is present
PRESENCE = {
    "ModalityLUTSequence": "has_modality_lut", "VOILUTSequence": "has_voi_lut",
    "SharedFunctionalGroupsSequence": "has_shared_groups",
    "PerFrameFunctionalGroupsSequence": "has_per_frame_groups",
    "RedPaletteColorLookupTableDescriptor": "has_palette",
}
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
    if syntax in module.NATIVE_SYNTAXES and encapsulated:
        raise PixelDataError(f"the transfer syntax {syntax} is native but the pixel data is encapsulated")
    if syntax not in module.NATIVE_SYNTAXES and not encapsulated:
        if syntax.startswith("1.2.840.10008.1.2"):
            raise PixelDataError(f"the transfer syntax {syntax} is encapsulated but the pixel data is not")
        raise UnsupportedTransferSyntaxError(f"unknown transfer syntax {syntax}")
    tolerated = []
    bits_allocated = _ref_int(ds, "BitsAllocated")
    if not (bits_allocated == 1 or (bits_allocated in (8, 16, 24, 32, 40, 48, 56, 64))):
        raise InvalidPixelAttributeError(
            f"Bits Allocated {bits_allocated} is invalid: it must be 1 or a multiple of 8 up to 64")
    if keyword == "PixelData":
        bits_stored = _ref_int(ds, "BitsStored")
        if not 1 <= bits_stored <= bits_allocated:
            raise InvalidPixelAttributeError(
                f"Bits Stored {bits_stored} is invalid: it must be from 1 to Bits Allocated ({bits_allocated})")
        pixel_representation = _ref_int(ds, "PixelRepresentation", required=False)
        if pixel_representation is None:  # tolerated: the safe default, a defect
            pixel_representation = 0
            tolerated.append(("pixel_attribute", 0x00280103))
        if pixel_representation not in (0, 1):
            raise InvalidPixelAttributeError(f"Pixel Representation {pixel_representation} is invalid: it must be 0 or 1")
        dtype = module._INT_DTYPES.get((bits_allocated, pixel_representation))
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
    samples = _ref_int(ds, "SamplesPerPixel")
    if samples not in (1, 3):
        raise InvalidPixelAttributeError(f"Samples per Pixel {samples} is invalid: it must be 1 or 3")
    photometric = getattr(ds, "PhotometricInterpretation", None)
    if photometric is None or (isinstance(photometric, str) and not photometric.strip()):
        photometric = "MONOCHROME2" if samples == 1 else "RGB"  # tolerated: from the samples, a defect
        tolerated.append(("pixel_attribute", 0x00280004))
    if not isinstance(photometric, str):
        raise InvalidPixelAttributeError(f"Photometric Interpretation {photometric!r} is invalid")
    photometric = photometric.strip()
    if photometric not in module._PHOTOMETRIC:
        raise InvalidPixelAttributeError(f"unknown Photometric Interpretation {photometric!r}")
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
                tolerated.append(("pixel_data_long", {"PixelData": 0x7FE00010, "FloatPixelData": 0x7FE00008,
                                                      "DoubleFloatPixelData": 0x7FE00009}[keyword]))
    # native stored values that are the array as returned: one sample of 8 bits or more in native
    # byte order, no byte pairs to swap, no unused bits to correct, no YBR to convert
    plain = (not encapsulated and samples == 1 and bits_allocated > 1 and not swap_ow
             and (not big_endian or bits_allocated == 8)
             and (bits_stored == bits_allocated or keyword != "PixelData")
             and photometric not in ("YBR_FULL", "YBR_FULL_422"))
    return module.PixelInfo(
        keyword, index, syntax, encapsulated, big_endian, swap_ow, rows, columns, samples, planar,
        bits_allocated, bits_stored, pixel_representation, photometric, frames, dtype, frame_bits, plain,
        tuple(tolerated))


def reference_element_at_stop(ds, source=None):
    """The old pixel_reader's reading (``_pixel_element``, ``_element_beyond``) of the element header
    where a header scan stopped: from the buffer the scan read (the inflated bytes of a deflated
    file) or, when it ends before the 12 header bytes and ``source`` (the bytes of the whole file)
    is given, from ``source``."""
    tape = ds._tape
    data = tape.buffer
    if tape.status != 1:
        return None
    pos = tape.stop
    head = bytes(data[pos:pos + 12])
    if len(head) < 12 and source is not None:
        head = bytes(source[pos:pos + 12])
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

def _header(found):
    """An ElementHeader as the reference's tuple (tag, value offset, length, VR), or None."""
    if found is None:
        return None
    assert type(found) is ElementHeader
    return found.tag, found.value_offset, found.length, found.vr


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
        assert type(m) is PixelModule
        # the values: each reads as getattr(ds, keyword, None), or raises its error (every time)
        want = {keyword: _outcome(lambda: getattr(ref, keyword, None)) for keyword in KEYWORDS}
        for keyword, attr in KEYWORDS.items():
            for _ in range(2):
                got = _outcome(getattr, m, attr)
                assert _same(got, want[keyword]), (where, keyword, got, want[keyword])
        # without the transform values: the same module values, the six others None
        m_plain = pixel_module(_navigate(read(), where), False)
        for keyword, attr in KEYWORDS.items():
            got = _outcome(getattr, m_plain, attr)
            expected = ("ok", None) if keyword in TRANSFORM_KEYWORDS else want[keyword]
            assert _same(got, expected), (where, keyword, got, expected)
        # the root's Transfer Syntax UID (or its error), as transfer_syntax and, when it decodes,
        # as transfer_syntax_value
        root = ref
        while root._parent is not None:
            root = root._parent
        syntax = _outcome(lambda: None if root.file_meta is None else getattr(root.file_meta, "TransferSyntaxUID", None))
        for mm in (m, m_plain):
            got = _outcome(lambda: mm.transfer_syntax)
            assert _same(got, syntax), (where, got, syntax)
            if syntax[0] == "ok":
                assert mm.transfer_syntax_value is mm.transfer_syntax
            else:
                assert not isinstance(mm.transfer_syntax_value, (str, type(None)))
            assert mm.big_endian is bool(ref._tape.big_endian)
            assert mm.explicit_vr is bool(ref._tape.explicit_vr)
            # presence
            for keyword, attr in PRESENCE.items():
                assert getattr(mm, attr) is (keyword in ref), (where, keyword)
            assert mm.enhanced is (mm.has_shared_groups or mm.has_per_frame_groups)
            # the pixel data element: the first of Pixel Data, Float, Double Float Pixel Data
            tags = [t for t in PIXEL_TAGS if ref._find(t) >= 0]
            assert mm.pixel_count == len(tags)
            if tags:
                index = ref._find(tags[0])
                assert mm.pixel_tag == tags[0] and mm.pixel_index == index
                assert mm.encapsulated is bool(ref._tape.flags(index) & FLAG_ENCAPSULATED)
                assert mm.pixel_length == ref._tape.length(index)
                assert mm.pixel_vr == ref._tape.vr(index)
            else:
                assert (mm.pixel_tag, mm.pixel_index, mm.encapsulated, mm.pixel_length, mm.pixel_vr) == \
                    (0, -1, False, 0, "")
        # key (was the EXACT_TYPES bit): set exactly when the values the checks read have exact
        # types, and then it holds them all (so that equal keys mean equal checks)

        def exact(outcome, kind, none_ok=False):
            return outcome[0] == "ok" and (type(outcome[1]) is kind or (none_ok and outcome[1] is None))

        is_exact = (exact(syntax, str, True)
                    and all(exact(want[k], int) for k in ("BitsAllocated", "BitsStored", "PixelRepresentation",
                                                          "Rows", "Columns", "SamplesPerPixel"))
                    and all(exact(want[k], int, True) for k in ("PlanarConfiguration", "NumberOfFrames"))
                    and exact(want["PhotometricInterpretation"], str))
        for mm in (m, m_plain):
            assert (mm.key is not None) == is_exact, (where, mm.key)
            if is_exact:
                assert mm.key == (syntax[1], bool(ref._tape.big_endian), bool(ref._tape.explicit_vr)) + tuple(
                    want[k][1] for k in ("BitsAllocated", "BitsStored", "PixelRepresentation", "Rows", "Columns",
                                         "SamplesPerPixel", "PlanarConfiguration", "PhotometricInterpretation",
                                         "NumberOfFrames")), (where, mm.key)
        if where:  # an item: no header read stopped in it
            assert element_after_header(ref, lambda offset, n: pytest.fail("read_at called")) is None
        want_info = _outcome(reference_pixel_info, _navigate(read(), where))
        for _ in range(2):  # the second time from the cache of checked modules, when it applies
            got = _outcome(pixel_info, _navigate(read(), where))
            assert _same(got, want_info), (where, got, want_info)
        got = _outcome(lambda: module_info(_navigate(read(), where), True)[1])
        assert _same(got, want_info), (where, got, want_info)


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
        want = reference_element_at_stop(ds)
        assert _header(element_at_stop(ds._tape)) == want
        assert _header(element_after_header(ds)) == want
        # with read_at (the scan's own bytes: asked for only if they end inside the header)
        tape = ds._tape
        calls = []

        def read_at(offset, n):
            calls.append((offset, n))
            return bytes(tape.buffer[offset:offset + n])

        assert _header(element_at_stop(tape, read_at)) == want
        assert _header(element_after_header(ds, read_at)) == want
        if tape.status != 1 or tape.stop + 12 <= memoryview(tape.buffer).nbytes:
            assert calls == []
        for _ in range(2):  # the second time from the cache of checked modules, when it applies
            m = _outcome(lambda: check(pixel_module(header()), "PixelData", -1, False, 1 << 20, "OW"))
            r = _outcome(lambda: reference_pixel_info_of(header(), "PixelData", -1, False, 1 << 20, "OW"))
            assert _same(m, r), (m, r)
            if want is not None:  # as the direct file read checks the element it found
                m = _outcome(lambda: check(pixel_module(header()), "PixelData", -1, False, want[2], want[3]))
                r = _outcome(lambda: reference_pixel_info_of(header(), "PixelData", -1, False, want[2], want[3]))
                assert _same(m, r), (m, r)
        break


def _partial(data, force):
    try:
        dicomfast.dcmread(data, force=force)
    except DicomError as exc:
        return exc.partial
    raise AssertionError("the read succeeded the second time")


def test_element_at_stop_reads_a_header_beyond_the_scan_through_read_at(tmp_path, monkeypatch):
    """A header read whose first block ends inside the pixel data element's header (the case the
    old pixel_reader read with ``_element_beyond``): without ``read_at`` the element is not found;
    with it (``os.pread`` of the file, as read_stored does), it is the element a whole read finds.
    The header block is made to end at each byte of the element's header in turn."""
    exercised = 0
    for n, path in enumerate(corpus_files()):
        data = open(path, "rb").read()
        try:
            whole = dicomfast.dcmread(data, stop_before_pixels=True)
        except DicomError:
            continue
        want = reference_element_at_stop(whole)
        if want is None or whole._tape.buffer is not None and memoryview(whole._tape.buffer).nbytes != len(data):
            continue  # no pixel data element where the read stops, or a deflated file
        file = tmp_path / f"{n}.dcm"
        file.write_bytes(data)
        pos = whole._tape.stop
        beyond = 0
        fd = os.open(file, os.O_RDONLY)
        try:
            for cut in range(pos + 1, pos + 12):
                monkeypatch.setattr(reader, "HEADER_BLOCK", cut)
                try:
                    ds = reader.read_header_source(FileSource(str(file), fd=fd))
                except DicomError:
                    continue
                tape = ds._tape
                if tape.status != 1 or memoryview(tape.buffer).nbytes != cut:
                    continue  # the scan needed more than the block: the whole file was read
                assert tape.stop == pos, (path, cut)
                calls = []

                def read_at(offset, k):
                    calls.append((offset, k))
                    return os.pread(fd, k, offset)

                assert element_at_stop(tape) is None and element_after_header(ds) is None, (path, cut)
                assert reference_element_at_stop(ds) is None
                assert _header(element_at_stop(tape, read_at)) == want, (path, cut)
                assert calls == [(pos, 12)]
                assert _header(element_after_header(ds, read_at)) == want, (path, cut)
                assert reference_element_at_stop(ds, data) == want
                # a source that ends inside the header: not found
                assert element_at_stop(tape, lambda offset, k: data[offset:min(offset + k, cut)]) is None
                beyond += 1
        finally:
            os.close(fd)
        assert beyond, path  # a block ending inside the element's header stops the scan there
        exercised += 1
    assert exercised >= 10


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
    want = _outcome(lambda: read().Rows)
    assert want[0] != "ok"  # ds.Rows raises
    for _ in range(2):  # reading the value raises its error, each time
        got = _outcome(lambda: m.rows)
        assert _same(got, want), (got, want)

    # With pixel data: pixel_info raises the error where the Python checks first read a value
    # (Bits Allocated), and every value of the record raises as its attribute does.
    pixel_body = (element(0x00280002, b"US", (1).to_bytes(2, "little"))
                  + element(0x00280004, b"CS", b"MONOCHROME2 ")
                  + body
                  + element(0x00280011, b"US", (4).to_bytes(2, "little"))
                  + element(0x00280100, b"US", (8).to_bytes(2, "little"))
                  + element(0x00280101, b"US", (8).to_bytes(2, "little"))
                  + element(0x00280103, b"US", (0).to_bytes(2, "little"))
                  + b"\xe0\x7f\x10\x00OB\x00\x00" + (16).to_bytes(4, "little") + bytes(16))
    damaged_pixels = pixel_body + b"\x08\x00\x05\x00CS\x40\x00ISO_IR 100"

    def read_pixels():
        return new_dataset(Dataset, _scan.scan(damaged_pixels, 0))

    ds = read_pixels()
    assert ds._tape.status > 1 and ds._find(0x7FE00010) >= 0
    want = _outcome(reference_pixel_info, read_pixels())
    assert want == _outcome(lambda: read_pixels().BitsAllocated) and want[0] != "ok"
    assert _same(_outcome(pixel_info, read_pixels()), want)
    check_file(read_pixels)
    # the same dataset undamaged: every value decodes and the module checks
    intact = new_dataset(Dataset, _scan.scan(pixel_body, 0))
    assert intact._tape.status == 0
    assert pixel_info(intact).shape == (4, 4)
    check_file(lambda: new_dataset(Dataset, _scan.scan(pixel_body, 0)))


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
