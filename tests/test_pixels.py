"""Pixel data (issue 3, native part): every corpus file against pydicom's ``ds.pixel_array``, pixel
by pixel; constructed files for each bit depth, sign, planar configuration, byte order and colour
space; zero-copy views; frame by frame; bad attributes; fuzzed attribute combinations."""
from __future__ import annotations

import functools
import io
import os
import tempfile
import warnings

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset as PdDataset
from pydicom.dataset import FileMetaDataset
from pydicom.pixels.processing import apply_color_lut as pd_apply_color_lut

import dicomfast
import make_reference_files
from dicomfast.pixels import module as pixels
from dicomfast.pixels import native
from dicomfast.errors import DicomError, InvalidPixelAttributeError, PixelDataLengthError
from dicomfast.defects import DefectError

from corpus import corpus_files, corpus_id

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
LOSSY_SYNTAXES = {
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51",  # JPEG Extended
    "1.2.840.10008.1.2.4.81",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.203",  # HTJ2K
}


def _reference(path):
    """(pydicom dataset, its pixel array or None, pydicom's exception or None, compressed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, force=True)
        if not any(k in ds for k in PIXEL_KEYWORDS):
            return ds, None, None, False
        syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
        compressed = bool(syntax is not None and syntax.is_compressed)
        try:
            return ds, ds.pixel_array, None, compressed
        except Exception as exc:  # noqa: BLE001 - any failure of the reference is recorded
            return ds, None, exc, compressed


def _same(ours: np.ndarray, ref: np.ndarray) -> None:
    # Byte order is the one deliberate difference: big endian data comes back native.
    assert ours.dtype.newbyteorder("=") == ref.dtype.newbyteorder("="), (ours.dtype, ref.dtype)
    assert ours.shape == ref.shape
    assert np.array_equal(ours, ref, equal_nan=ours.dtype.kind == "f")


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_id)
def test_pixel_array_matches_pydicom(path):
    pds, ref, ref_error, compressed = _reference(path)
    if ref is None and ref_error is None:
        pytest.skip("no pixel data")
    try:
        ds = dicomfast.dcmread(path, force=True)
    except DicomError as exc:
        assert ref is None, f"pydicom decodes it, dicomfast cannot read the file: {exc}"
        return
    if ref is None:
        # pydicom fails: we either decode (e.g. a file without a transfer syntax) or say why.
        try:
            arr = dicomfast.pixel_array(ds)
        except DicomError:
            return
        assert arr.ndim in (2, 3, 4)
        return
    syntax = str(pds.file_meta.get("TransferSyntaxUID", "")) if hasattr(pds, "file_meta") else ""
    lossy = make_reference_files.lossy_file(path) or syntax in LOSSY_SYNTAXES
    if lossy and not np.array_equal(dicomfast.pixel_array(ds), ref):
        # Lossy data decoded by another library than pydicom chose (libjpeg-turbo against libjpeg
        # or GDCM: their inverse DCTs round differently): the codec's tolerance.
        ours = dicomfast.pixel_array(ds)
        assert ours.shape == ref.shape
        assert np.abs(ours.astype(np.float64) - ref.astype(np.float64)).max() <= 0.02 * (float(ref.max()) - float(ref.min()) or 1)
        return
    _same(dicomfast.pixel_array(ds), ref)
    _same(ds.pixel_array, ref)


def _encoded_files():
    return [p for p in corpus_files() if corpus_id(p).startswith("gen/") and "__" in p.name
            and p.stem.split("__", 1)[1].split("_", 1)[1] not in ("implicit", "explicit", "bigendian", "deflated")]


def _encoding_source(path):
    stem = path.name.split("__", 1)[0]
    if stem in make_reference_files.PIXEL_SOURCES:
        return path.parent / f"{stem}.dcm"
    return make_reference_files.pydicom_data_dir() / "test_files" / f"{stem}.dcm"


@pytest.mark.parametrize("path", _encoded_files(), ids=corpus_id)
def test_generated_encoding_matches_its_source(path):
    """Each DCMTK/GDCM-encoded file against the native image it was made from: identical for the
    lossless encodings, within the codec's error for the lossy ones (JPEG-LS near-lossless: NEAR=2
    per sample; JPEG and lossy JPEG 2000: a mean error under 3% of the range)."""
    source = dicomfast.pixel_array(dicomfast.dcmread(_encoding_source(path)))
    ours = dicomfast.pixel_array(dicomfast.dcmread(path))
    assert ours.shape == source.shape and ours.dtype == source.dtype
    if not make_reference_files.lossy_file(path):
        np.testing.assert_array_equal(ours, source)
        return
    diff = np.abs(ours.astype(np.float64) - source.astype(np.float64))
    if "_jpegls_near" in path.name:
        assert diff.max() <= 2
    else:
        span = float(source.max()) - float(source.min()) or 1.0
        assert diff.mean() < 0.03 * span, (diff.mean(), span)


@functools.lru_cache(maxsize=None)
def _summaries() -> dict:
    """{path: (pydicom decodes it, compressed, transfer syntax, frames)}, for choosing test cases
    at collection (one pydicom decode per file, no arrays kept)."""
    out = {}
    for path in corpus_files():
        ds, ref, _, compressed = _reference(path)
        syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
        single_ndim = 2 if ds.get("SamplesPerPixel", 1) == 1 else 3
        frames = ref.shape[0] if ref is not None and ref.ndim == single_ndim + 1 else 1
        out[path] = (ref is not None, compressed, syntax, frames)
    return out


def _multiframe_native_files():
    return [p for p, (ok, compressed, _, frames) in _summaries().items() if ok and not compressed and frames > 1]


@pytest.mark.parametrize("path", _multiframe_native_files(), ids=corpus_id)
def test_frame_n_is_the_nth_slice(path):
    ds = dicomfast.dcmread(path)
    whole = dicomfast.pixel_array(ds)
    frames = list(dicomfast.iter_frames(ds))
    assert len(frames) == whole.shape[0]
    for n, frame in enumerate(frames):
        np.testing.assert_array_equal(dicomfast.pixel_array(ds, frame=n), whole[n])
        np.testing.assert_array_equal(frame, whole[n])
    with pytest.raises(IndexError):
        dicomfast.pixel_array(ds, frame=len(frames))


def _path(name):
    for path in corpus_files():
        if corpus_id(path) == name:
            return path
    pytest.skip(f"{name} is not in the corpus")


def _base_chain(arr):
    chain = []
    obj = arr
    while obj is not None:
        chain.append(obj)
        obj = getattr(obj, "base", None) if isinstance(obj, np.ndarray) else getattr(obj, "obj", None)
    return chain


def test_native_array_is_a_read_only_view_on_the_file_bytes():
    ds = dicomfast.dcmread(_path("pd/CT_small.dcm"))
    arr = ds.pixel_array
    assert not arr.flags.writeable
    buffer = ds._tape.buffer
    assert any(obj is buffer for obj in _base_chain(arr))
    frame = dicomfast.pixel_array(ds, frame=0)
    assert not frame.flags.writeable
    assert any(obj is buffer for obj in _base_chain(frame))
    copy = arr.copy()
    copy[0, 0] = 1  # a copy is writeable


def test_mmap_read_gives_a_view_on_the_map():
    ds = dicomfast.dcmread(_path("pd/CT_small.dcm"), mmap=True)
    arr = ds.pixel_array
    assert not arr.flags.writeable
    assert any(obj is ds._tape.buffer for obj in _base_chain(arr))


# -- constructed files ---------------------------------------------------------------------------

EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"


def make_file(data: bytes, *, rows=4, cols=6, spp=1, ba=16, bs=None, pr=0, frames=None,
              pi="MONOCHROME2", planar=None, syntax=EXPLICIT_LE, keyword="PixelData", vr=None,
              extra=None) -> bytes:
    ds = PdDataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4"
    for name, value in (("Rows", rows), ("Columns", cols), ("SamplesPerPixel", spp),
                        ("BitsAllocated", ba), ("BitsStored", ba if bs is None else bs),
                        ("PixelRepresentation", pr), ("PhotometricInterpretation", pi),
                        ("NumberOfFrames", frames), ("PlanarConfiguration", planar)):
        if value is not None:
            setattr(ds, name, value)
    for name, value in (extra or {}).items():
        setattr(ds, name, value)
    setattr(ds, keyword, data)
    if vr:
        ds[keyword].VR = vr
    elif keyword == "PixelData":
        ds[keyword].VR = "OB" if ba <= 8 else "OW"
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(out, implicit_vr=syntax == IMPLICIT_LE, little_endian=syntax != EXPLICIT_BE,
                   enforce_file_format=True)
    return out.getvalue()


def _check_path_read(blob: bytes, expected: np.ndarray) -> None:
    """The direct read of a path (``read_pixels(path, rescale=False)``: the header read, then the
    pixel bytes read straight from the file), whole and frame by frame, gives what the Dataset path
    gives, and so does pixel_array(path)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "f.dcm")
        with open(path, "wb") as f:
            f.write(blob)
        _same(dicomfast.pixel_array(path), expected)
        direct = dicomfast.read_pixels(path, rescale=False)
        _same(direct, expected)
        info = pixels.pixel_info(dicomfast.dcmread(blob))
        if info.number_of_frames > 1:
            for n in (0, info.number_of_frames - 1):
                _same(dicomfast.read_pixels(path, rescale=False, frame=n), expected[n])
        else:
            _same(dicomfast.read_pixels(path, rescale=False, frame=0), expected)


def reference(blob: bytes, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(blob)).pixel_array


def check(blob: bytes, frame_check=True):
    ref = reference(blob)
    ds = dicomfast.dcmread(blob)
    ours = dicomfast.pixel_array(ds)
    _same(ours, ref)
    _check_path_read(blob, ours)
    if frame_check:
        frames = int(ds.get("NumberOfFrames") or 1)
        if ours.ndim == len(pixels.pixel_info(ds).frame_shape) + 1:
            for n in range(ours.shape[0]):
                _same(dicomfast.pixel_array(ds, frame=n), ours[n])
        elif frames == 1:
            _same(dicomfast.pixel_array(ds, frame=0), ours)
    return ours


RNG = np.random.default_rng(3)


@pytest.mark.parametrize("ba", [8, 16, 32, 64])
@pytest.mark.parametrize("pr", [0, 1])
@pytest.mark.parametrize("bs_less", [0, 1, 3])
@pytest.mark.parametrize("syntax", [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE])
@pytest.mark.parametrize("frames", [None, 1, 3])
def test_integer_depths_signs_and_unused_bits(ba, pr, bs_less, syntax, frames):
    n = 4 * 6 * (frames or 1)
    raw = RNG.integers(0, 256, size=n * ba // 8, dtype=np.uint8).tobytes()  # garbage high bits
    blob = make_file(raw, ba=ba, bs=ba - bs_less, pr=pr, frames=frames, syntax=syntax)
    arr = check(blob)
    if bs_less == 0 and syntax != EXPLICIT_BE:
        assert not arr.flags.writeable  # a view: no conversion needed


def test_clean_unused_bits_stay_a_view():
    values = np.arange(-12, 12, dtype=np.int16)  # 12 bits stored, properly sign-extended
    blob = make_file(values.tobytes(), ba=16, bs=12, pr=1)
    arr = check(blob)
    assert not arr.flags.writeable
    dirty = (values.view(np.uint16) & 0x0FFF).astype(np.uint16)  # high bits cleared: must extend
    arr = check(make_file(dirty.tobytes(), ba=16, bs=12, pr=1))
    assert arr.flags.writeable and arr.min() == -12


@pytest.mark.parametrize("rows,cols,frames", [(4, 6, None), (5, 5, None), (5, 5, 3), (3, 7, 4), (1, 1, 9)])
@pytest.mark.parametrize("syntax", [EXPLICIT_LE, EXPLICIT_BE])
def test_one_bit(rows, cols, frames, syntax):
    nbits = rows * cols * (frames or 1)
    raw = RNG.integers(0, 256, size=(nbits + 7) // 8, dtype=np.uint8).tobytes()
    check(make_file(raw, rows=rows, cols=cols, ba=1, frames=frames, syntax=syntax))


@pytest.mark.parametrize("planar", [0, 1])
@pytest.mark.parametrize("ba", [8, 16])
@pytest.mark.parametrize("pi", ["RGB", "YBR_FULL"])
@pytest.mark.parametrize("frames", [None, 2])
@pytest.mark.parametrize("syntax", [EXPLICIT_LE, EXPLICIT_BE])
def test_three_samples(planar, ba, pi, frames, syntax):
    n = 4 * 6 * 3 * (frames or 1)
    dtype = np.uint8 if ba == 8 else np.uint16
    raw = RNG.integers(0, 256 if pi != "RGB" else 2 ** ba, size=n, dtype=np.int64).astype(dtype).tobytes()
    blob = make_file(raw, spp=3, ba=ba, pi=pi, planar=planar, frames=frames, syntax=syntax)
    if pi == "YBR_FULL" and ba == 16:  # pydicom converts 8-bit YBR only
        with pytest.raises(ValueError):
            reference(blob)
        with pytest.raises(DicomError):
            dicomfast.pixel_array(blob)
        assert dicomfast.pixel_array(blob, as_rgb=False).dtype == np.uint16
        return
    arr = check(blob)
    if pi == "RGB" and syntax == EXPLICIT_LE:
        assert not arr.flags.writeable  # planar 1 too: a transposed view


@pytest.mark.parametrize("frames", [None, 2, 3])
@pytest.mark.parametrize("ba", [8])
def test_ybr_full_422(frames, ba):
    n = 4 * 6 * 2 * (frames or 1)
    dtype = np.uint8 if ba == 8 else np.uint16
    raw = RNG.integers(0, 256, size=n).astype(dtype).tobytes()
    blob = make_file(raw, spp=3, ba=ba, pi="YBR_FULL_422", planar=0, frames=frames)
    check(blob)
    ds = dicomfast.dcmread(blob)
    ybr = dicomfast.pixel_array(ds, as_rgb=False)
    flat = np.frombuffer(raw, dtype).reshape(-1, 4)
    np.testing.assert_array_equal(ybr.reshape(-1, 6)[:, 0], flat[:, 0])  # Y1
    np.testing.assert_array_equal(ybr.reshape(-1, 6)[:, 3], flat[:, 1])  # Y2


def test_ybr_full_as_rgb_false_keeps_stored_values():
    raw = RNG.integers(0, 256, size=4 * 6 * 3, dtype=np.uint8).tobytes()
    ds = dicomfast.dcmread(make_file(raw, spp=3, ba=8, pi="YBR_FULL", planar=0))
    kept = dicomfast.pixel_array(ds, as_rgb=False)
    assert kept.tobytes() == raw and not kept.flags.writeable


def test_ybr_to_rgb_every_8_bit_triplet():
    from pydicom.pixels.processing import convert_color_space

    v = np.arange(256, dtype=np.uint8)
    y, cb, cr = np.meshgrid(v, v, v, indexing="ij")
    arr = np.stack([y, cb, cr], -1).reshape(4096, 4096, 3)
    ref = convert_color_space(arr, "YBR_FULL", "RGB")
    out = np.empty_like(arr)
    dicomfast.pixels._native.ybr_full_to_rgb(arr.reshape(-1), out.reshape(-1))
    # pydicom's float32 matmul rounds like a fused multiply-add where the BLAS uses FMA; ours
    # always does. Without FMA, NumPy differs from both by one on a few dozen of 16.7 M triplets.
    mismatches = int((out != ref).sum())
    assert mismatches <= 64, mismatches


@pytest.mark.parametrize("keyword,ba,dtype", [("FloatPixelData", 32, np.float32),
                                              ("DoubleFloatPixelData", 64, np.float64)])
@pytest.mark.parametrize("syntax", [EXPLICIT_LE, EXPLICIT_BE])
def test_float_pixel_data(keyword, ba, dtype, syntax):
    values = RNG.normal(size=4 * 6 * 2).astype(dtype)
    values[3] = np.nan
    data = values.tobytes() if syntax != EXPLICIT_BE else values.astype(np.dtype(dtype).newbyteorder(">")).tobytes()
    blob = make_file(data, ba=ba, frames=2, keyword=keyword, syntax=syntax,
                     vr="OF" if ba == 32 else "OD")
    arr = check(blob)
    np.testing.assert_array_equal(arr.reshape(-1), values)


def test_big_endian_8_bit_ow_is_swapped_pairwise():
    for frames, rows, cols in ((None, 3, 5), (3, 1, 3), (2, 4, 4)):
        n = rows * cols * (frames or 1)
        raw = bytes(range(n)) + (b"\0" if n % 2 else b"")
        check(make_file(raw, rows=rows, cols=cols, ba=8, frames=frames, syntax=EXPLICIT_BE, vr="OW"))


def test_trailing_padding_and_excess_frames_as_pydicom():
    raw = bytes(range(24))
    check(make_file(raw + b"\0\0", ba=8))                # padding: ignored
    arr = check(make_file(raw * 3, ba=8))                 # three whole frames: pydicom keeps them
    assert arr.shape == (3, 4, 6)
    check(make_file(raw + b"\0" * 7, ba=8, rows=5, cols=5))  # 25 bytes + pad


def test_too_few_bytes_is_an_error():
    blob = make_file(bytes(46), ba=16)
    with pytest.raises(PixelDataLengthError):
        dicomfast.pixel_array(blob)
    with pytest.raises(ValueError):
        reference(blob)


@pytest.mark.parametrize("changes", [
    {"ba": 7}, {"ba": 0}, {"ba": 24}, {"ba": 72}, {"bs": 17}, {"bs": 0}, {"pr": 2}, {"spp": 2},
    {"spp": 4}, {"rows": 0}, {"cols": 0}, {"frames": -1}, {"pi": "NONSENSE"},
    {"rows": 60000, "cols": 60000}, {"frames": 100000}, {"spp": 3, "planar": 2},
    {"pi": "YBR_FULL_422", "spp": 1},
])
def test_bad_attributes_raise_dicom_errors(changes):
    kwargs = {"rows": 4, "cols": 6, "ba": 16, "bs": None}
    kwargs.update(changes)
    blob = make_file(bytes(48), **kwargs)
    with pytest.raises(DicomError):
        dicomfast.pixel_array(blob)


def test_missing_attributes_and_pixel_data():
    blob = make_file(bytes(48), extra={})
    ds = dicomfast.dcmread(blob)
    assert dicomfast.pixel_array(ds).shape == (4, 6)
    for keyword in ("Rows", "Columns", "BitsAllocated", "BitsStored", "PixelRepresentation",
                    "PhotometricInterpretation", "SamplesPerPixel"):
        pd_ds = pydicom.dcmread(io.BytesIO(blob))
        del pd_ds[keyword]
        out = io.BytesIO()
        pd_ds.save_as(out)
        if keyword in ("PixelRepresentation", "PhotometricInterpretation"):
            # a safe default (0; MONOCHROME2 for one sample), recorded; strict: a DefectError
            ds = dicomfast.dcmread(out.getvalue())
            assert np.array_equal(dicomfast.pixel_array(ds), dicomfast.pixel_array(blob))
            tag = 0x00280103 if keyword == "PixelRepresentation" else 0x00280004
            assert [(d.kind, d.tag, d.offset) for d in ds.defects] == [("pixel_attribute", tag, -1)]
            with pytest.raises(DefectError):
                dicomfast.pixel_array(out.getvalue(), strict=True)
            continue
        with pytest.raises(InvalidPixelAttributeError):
            dicomfast.pixel_array(out.getvalue())
    with pytest.raises(DicomError):
        dicomfast.pixel_array(dicomfast.dcmread(blob, stop_before_pixels=True))


def test_frame_argument():
    raw = bytes(range(72))
    ds = dicomfast.dcmread(make_file(raw, ba=8, frames=3))
    with pytest.raises(IndexError):
        dicomfast.pixel_array(ds, frame=3)
    with pytest.raises(IndexError):
        dicomfast.pixel_array(ds, frame=-1)
    with pytest.raises(TypeError):
        dicomfast.pixel_array(ds, frame=1.0)
    assert dicomfast.pixel_array(ds, frame=2).tobytes() == raw[48:]


def test_sources():
    path = _path("pd/CT_small.dcm")
    ref = dicomfast.dcmread(path).pixel_array
    np.testing.assert_array_equal(dicomfast.pixel_array(path), ref)
    np.testing.assert_array_equal(dicomfast.pixel_array(str(path)), ref)
    np.testing.assert_array_equal(dicomfast.pixel_array(path.read_bytes()), ref)
    with open(path, "rb") as f:
        np.testing.assert_array_equal(dicomfast.pixel_array(f), ref)
    with pytest.raises(TypeError):
        dicomfast.pixel_array(3)


# -- palette colour ------------------------------------------------------------------------------

def _palette_files():
    out = []
    for path in corpus_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(path, force=True, stop_before_pixels=True)
            except Exception:  # noqa: BLE001
                continue
        if "RedPaletteColorLookupTableDescriptor" in ds:
            out.append(path)
    return out


@pytest.mark.parametrize("path", _palette_files(), ids=corpus_id)
def test_apply_color_lut_matches_pydicom(path):
    pds, ref, _, _ = _reference(path)
    ds = dicomfast.dcmread(path, force=True)
    if ref is None:  # a palette file without pixels (pal/): map every stored value
        entries = pds.RedPaletteColorLookupTableDescriptor[0] or 65536
        ref = np.arange(-2, entries + 2, dtype=np.int64)
        ref = ref.astype(np.int32) if pds.get("PixelRepresentation") else ref[ref >= 0].astype(np.uint32)
    try:
        expected = pd_apply_color_lut(ref, pds)
    except Exception as exc:  # noqa: BLE001
        with pytest.raises(DicomError):
            dicomfast.apply_color_lut(ref, ds)
        pytest.skip(f"pydicom fails: {exc}")
    ours = dicomfast.apply_color_lut(ref, ds)
    assert ours.dtype == expected.dtype and ours.shape == expected.shape
    np.testing.assert_array_equal(ours, expected)


# -- fuzzing -------------------------------------------------------------------------------------

attribute_values = st.one_of(st.none(), st.integers(-2, 70), st.sampled_from([1, 8, 16, 32, 64, 65535, 65536]))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=attribute_values, cols=attribute_values, spp=attribute_values, ba=attribute_values,
       bs=attribute_values, pr=attribute_values, frames=attribute_values, planar=attribute_values,
       pi=st.sampled_from(["MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR", "X"]),
       length=st.integers(0, 600), syntax=st.sampled_from([EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE]),
       frame=st.one_of(st.none(), st.integers(0, 3)))
def test_fuzzed_attributes_never_crash(rows, cols, spp, ba, bs, pr, frames, planar, pi, length, syntax, frame):
    kwargs = dict(rows=rows, cols=cols, spp=spp, ba=ba, bs=bs, pr=pr, frames=frames, planar=planar, pi=pi)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    for k in ("rows", "cols", "spp", "ba", "bs", "pr", "planar"):
        if k in kwargs and not 0 <= kwargs[k] <= 65535:
            kwargs.pop(k)  # US cannot hold it
    if "ba" not in kwargs:
        kwargs["ba"] = 8
    data = bytes(RNG.integers(0, 256, size=length + length % 2, dtype=np.uint8))
    try:
        blob = make_file(data, syntax=syntax, **kwargs)
    except Exception:  # noqa: BLE001 - pydicom cannot write this combination
        return
    try:
        ref = reference(blob)
    except Exception:  # noqa: BLE001
        ref = None
    try:
        ours = dicomfast.pixel_array(blob, frame=frame)
    except (DicomError, IndexError):
        assert ref is None or frame is not None
        return
    if ref is not None and frame is None:
        _same(ours, ref)


def test_file_without_transfer_syntax_decodes_as_scanned():
    # pydicom refuses it (no Transfer Syntax UID); with the syntax set, it agrees with ours.
    path = _path("pdd/OT-PAL-8-face.dcm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pds = pydicom.dcmread(path, force=True)
    pds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2" if pds.is_implicit_VR else "1.2.840.10008.1.2.1"
    _same(dicomfast.pixel_array(dicomfast.dcmread(path, force=True)), pds.pixel_array)


def test_threads_get_the_same_arrays():
    from concurrent.futures import ThreadPoolExecutor

    raw = RNG.integers(0, 256, size=64 * 64 * 3 * 4, dtype=np.uint8).tobytes()
    blob = make_file(raw, rows=64, cols=64, spp=3, ba=8, pi="YBR_FULL", planar=0, frames=4)
    ds = dicomfast.dcmread(blob)
    expected = dicomfast.pixel_array(ds)
    with ThreadPoolExecutor(4) as pool:
        for arr in pool.map(lambda _: dicomfast.pixel_array(ds), range(16)):
            np.testing.assert_array_equal(arr, expected)


def _rle_files():
    return [p for p, (ok, _, syntax, _) in _summaries().items() if ok and syntax == "1.2.840.10008.1.2.5"]


@pytest.mark.parametrize("path", _rle_files(), ids=corpus_id)
def test_encapsulated_path_through_a_stand_in_decoder(path, monkeypatch):
    """The encapsulated path (frames from ``codecs.decode_frame``, then the unused-bit correction
    and colour conversion) with pydicom's RLE decoder standing in for dicomfast.pixels.codecs.decode_frame."""

    from pydicom.pixels import pixel_array as pd_pixel_array

    calls = []

    def decode_frame(ds, index, *, decoder=None, out=None, as_rgb=False):
        calls.append(index)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = pd_pixel_array(path, index=index, raw=not as_rgb)
        if out is None:
            return arr
        out[...] = arr
        return out

    monkeypatch.setattr(native, "decode_frame", decode_frame)
    _, ref, _, _ = _reference(path)
    ds = dicomfast.dcmread(path)
    _same(dicomfast.pixel_array(ds), ref)
    frames = pixels.pixel_info(ds).number_of_frames
    assert sorted(calls) == list(range(frames))
    calls.clear()
    last = dicomfast.pixel_array(ds, frame=frames - 1)
    assert calls == [frames - 1]
    _same(last, ref[-1] if frames > 1 else ref)
