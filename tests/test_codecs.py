"""Encapsulated pixel data (issue 3, "frames" and "codecs"), tested against pydicom.

* every encapsulated file of the corpus, frame by frame: ``decode_frame`` equals pydicom's
  ``pixel_array(path, index=i, raw=True)`` (no colour conversion), exactly for the lossless
  transfer syntaxes and within a small tolerance for the lossy ones;
* RLE files written by DCMTK's ``dcmcrle`` from pydicom's uncompressed test files (skipped without
  dcmcrle), with and without a Basic Offset Table and with several fragments per frame;
* the RLE kernel against pydicom's pure-Python RLE decoder on arbitrary bytes (hypothesis): the same
  array, or a DicomError exactly where pydicom raises; never a crash;
* damaged offset tables: a detectably wrong Basic or Extended Offset Table is ignored in favour of
  the next rule, and any table gives a frame or a DicomError, never a crash.
"""
from __future__ import annotations

import shutil
import struct
import subprocess
import threading
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dicomfast
from dicomfast import DicomError, MissingDecoderError, UnsupportedTransferSyntaxError
from dicomfast.pixels.codecs import pylibjpeg as decoders
from dicomfast.pixels.codecs._rle import decode_rle_frame
from dicomfast.pixels.codecs import decode_frame, decode_frame_record
from dicomfast.pixels.codecs import imagecodecs as imagecodecs_backend
from dicomfast.pixels.encapsulated import frame_bytes, frame_count, frame_fragments

pydicom = pytest.importorskip("pydicom")
from pydicom.pixels import pixel_array  # noqa: E402
from pydicom.pixels.decoders.rle import _rle_decode_frame  # noqa: E402

from corpus import corpus_files, corpus_id, corpus_roots  # noqa: E402

LOSSY = {
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51",  # JPEG Extended
    "1.2.840.10008.1.2.4.81",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.203",  # HTJ2K
}


def _encapsulated_corpus():
    found = []
    for path in corpus_files():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, stop_before_pixels=True)
            ts = ds.file_meta.TransferSyntaxUID
        except Exception:
            continue
        if ts.is_encapsulated:
            found.append(path)
    return found


ENCAPSULATED = _encapsulated_corpus()


def _reference(path):
    """pydicom's frames (frames, rows, cols[, samples]) before colour conversion, or its error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        arr = pixel_array(ds, raw=True)
    nframes = int(ds.get("NumberOfFrames", 1) or 1)
    return arr if nframes > 1 else arr[None], str(ds.file_meta.TransferSyntaxUID)


def _assert_frames_equal(ours, ref, lossy, what):
    assert ours.dtype == ref.dtype, what
    assert ours.shape == ref.shape, what
    if lossy:
        # pydicom may decode with another library than ours: a lossy decode may round differently,
        # never by much. On the corpus libjpeg-turbo (ours) and GDCM (both IJG's integer inverse
        # DCT) agree exactly; libjpeg (pylibjpeg, another IDCT and chroma upsampling) differs from
        # both by at most 3 (mean at most 0.12): the bound is max 4, mean 0.5.
        diff = np.abs(ours.astype(np.int64) - ref.astype(np.int64))
        assert diff.max() <= 4 and diff.mean() <= 0.5, (what, diff.max(), diff.mean())
    else:
        np.testing.assert_array_equal(ours, ref, err_msg=what)


@pytest.mark.parametrize("path", ENCAPSULATED, ids=corpus_id)
def test_corpus_frames_match_pydicom(path):
    try:
        ref, ts = _reference(path)
    except Exception as exc:  # pydicom cannot decode it: we raise DicomError, or decode it
        ref, ts = exc, None
    try:
        ds = dicomfast.dcmread(path)
    except DicomError as exc:
        if isinstance(ref, Exception):
            return
        pytest.skip(f"dicomfast's reader rejects the file, pydicom reads it: {exc}")
    if isinstance(ref, Exception):
        try:
            frames = [decode_frame(ds, i) for i in range(frame_count(ds))]
        except DicomError:
            return
        # pydicom fails where we decode (SC_rgb_jpeg.dcm: a damaged item pydicom's parser trips on)
        assert all(f.ndim >= 2 for f in frames)
        return
    assert frame_count(ds) == ref.shape[0]
    for i in range(ref.shape[0]):
        ours = decode_frame(ds, i)
        assert ours.flags.c_contiguous and ours.flags.writeable
        _assert_frames_equal(ours, ref[i], ts in LOSSY, f"frame {i}")


# ---------------------------------------------------------------------------- dcmcrle

DCMCRLE = shutil.which("dcmcrle")
DCMCRLE_SOURCES = [
    "CT_small.dcm",  # 16 bits, signed
    "MR_small.dcm",  # 16 bits, signed
    "MR_small_bigendian.dcm",
    "SC_rgb_small_odd.dcm",  # RGB, odd rows and columns
    "SC_rgb_small_odd_big_endian.dcm",
    "examples_rgb_color.dcm",
    "examples_palette.dcm",  # 8 bits palette
    "rtdose.dcm",  # 32 bits, 15 frames
]
DCMCRLE_VARIANTS = {
    "bot": [],  # default: a fragment per frame, a Basic Offset Table
    "nobot": ["-ot"],  # a fragment per frame, no table
    "frag1k": ["+fs", "1"],  # several 1 KB fragments per frame, found through the table
}


@pytest.mark.skipif(DCMCRLE is None, reason="DCMTK's dcmcrle is not installed")
@pytest.mark.parametrize("variant", sorted(DCMCRLE_VARIANTS))
@pytest.mark.parametrize("name", DCMCRLE_SOURCES)
def test_dcmcrle_files_match_pydicom(tmp_path, name, variant):
    source = corpus_roots()["pd"] / name
    out = tmp_path / name
    subprocess.run([DCMCRLE, *DCMCRLE_VARIANTS[variant], str(source), str(out)], check=True,
                   capture_output=True)
    ref, ts = _reference(out)
    assert ts == "1.2.840.10008.1.2.5"
    original, _ = _reference(source)
    ds = dicomfast.dcmread(out)
    assert frame_count(ds) == ref.shape[0]
    for i in range(ref.shape[0]):
        ours = decode_frame(ds, i)
        _assert_frames_equal(ours, ref[i], False, f"frame {i}")
        np.testing.assert_array_equal(ours, original[i].astype(ours.dtype, copy=False))


# ---------------------------------------------------------------------------- plugins and errors


def test_missing_plugin_names_the_package(monkeypatch):
    path = corpus_roots()["pd"] / "JPEG2000.dcm"
    ds = dicomfast.dcmread(path)
    monkeypatch.setitem(decoders._PLUGINS, "openjpeg", None)
    with pytest.raises(MissingDecoderError) as info:
        decode_frame(ds, 0, decoder="pylibjpeg")
    assert info.value.package == "pylibjpeg-openjpeg"
    assert "pip install" in str(info.value)

    ds = dicomfast.dcmread(corpus_roots()["pd"] / "SC_rgb_jpeg_dcmtk.dcm")
    monkeypatch.setitem(decoders._PLUGINS, "libjpeg", None)
    with pytest.raises(MissingDecoderError) as info:
        decode_frame(ds, 0, decoder="pylibjpeg")
    assert info.value.package == "pylibjpeg-libjpeg"
    # no backend of the default order installed: the first one's package is named
    monkeypatch.setattr(imagecodecs_backend, "library", lambda: None)
    with pytest.raises(MissingDecoderError) as info:
        decode_frame(ds, 0)
    assert info.value.package == "imagecodecs"


def test_default_order_falls_to_the_next_backend_and_says_so(monkeypatch):
    """A backend that is not installed, or that refuses a frame (a DicomError), is passed over in
    the default order, and the record names the backend that decoded the frame; a backend chosen
    with decoder= that fails raises."""
    ds = dicomfast.dcmread(corpus_roots()["pd"] / "JPEG2000.dcm")
    assert decode_frame_record(ds, 0).backend == "imagecodecs"
    ref = decode_frame(ds, 0, decoder="pylibjpeg")
    monkeypatch.setattr(imagecodecs_backend, "library", lambda: None)
    record = decode_frame_record(ds, 0)
    assert record.backend == "pylibjpeg" and record.refused == ()
    np.testing.assert_array_equal(record.array, ref)
    with pytest.raises(MissingDecoderError) as info:
        decode_frame(ds, 0, decoder="imagecodecs")
    assert info.value.package == "imagecodecs"
    monkeypatch.undo()

    def refuse(*args, **kwargs):
        raise DicomError("refused")

    class Refusing:
        jpeg2k_decode = staticmethod(refuse)

    monkeypatch.setattr(imagecodecs_backend, "library", lambda: Refusing)
    record = decode_frame_record(ds, 0)
    assert record.backend == "pylibjpeg"
    assert len(record.refused) == 1 and record.refused[0].startswith("imagecodecs:")
    np.testing.assert_array_equal(record.array, ref)
    with pytest.raises(DicomError, match="refused"):
        decode_frame(ds, 0, decoder="imagecodecs")


@pytest.mark.parametrize("bad", [3, "nope", b"imagecodecs"])
def test_decoder_option_is_checked(bad):
    ds = dicomfast.dcmread(corpus_roots()["pd"] / "JPEG2000.dcm")
    with pytest.raises((TypeError, ValueError)):
        decode_frame(ds, 0, decoder=bad)
    with pytest.raises((TypeError, ValueError)):
        dicomfast.pixels.pixel_array(ds, decoder=bad)
    with pytest.raises(UnsupportedTransferSyntaxError):
        decode_frame(dicomfast.dcmread(corpus_roots()["pd"] / "JPEG2000.dcm"), 0, decoder="dicomfast")


def test_native_pixel_data_is_not_for_decode_frame():
    ds = dicomfast.dcmread(corpus_roots()["pd"] / "CT_small.dcm")
    with pytest.raises(UnsupportedTransferSyntaxError):
        decode_frame(ds, 0)
    with pytest.raises(DicomError):
        frame_fragments(ds, 0)


def test_frame_index_out_of_range():
    ds = dicomfast.dcmread(corpus_roots()["pd"] / "SC_rgb_rle_2frame.dcm")
    assert frame_count(ds) == 2
    for bad in (2, -1):
        with pytest.raises(IndexError):
            decode_frame(ds, bad)


def test_single_fragment_frame_is_zero_copy():
    ds = dicomfast.dcmread(corpus_roots()["pd"] / "SC_rgb_rle_2frame.dcm")
    assert isinstance(frame_bytes(ds, 1), memoryview)


# ---------------------------------------------------------------------------- RLE kernel


def _packbits_literal(data: bytes) -> bytes:
    out = bytearray()
    for i in range(0, len(data), 128):
        chunk = data[i : i + 128]
        out.append(len(chunk) - 1)
        out += chunk
    return bytes(out)


def _rle_frame(segments: list[bytes]) -> bytes:
    header = [len(segments)]
    offset = 64
    for seg in segments:
        header.append(offset)
        offset += len(seg)
    header += [0] * (16 - len(header))
    return struct.pack("<16L", *header) + b"".join(segments)


def _pydicom_rle(data, rows, cols, samples, bits):
    """pydicom's decoded frame as (rows, cols[, samples]) unsigned little endian, or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = _rle_decode_frame(bytes(data), rows, cols, samples, bits)
    except ValueError:
        return None
    arr = np.frombuffer(raw, f"<u{bits // 8}").reshape(samples, rows, cols).transpose(1, 2, 0)
    return arr[..., 0] if samples == 1 else arr


@st.composite
def rle_frames(draw):
    rows = draw(st.integers(1, 6))
    cols = draw(st.integers(1, 6))
    bits = draw(st.sampled_from([8, 16, 32]))
    samples = draw(st.sampled_from([1, 3] if bits < 64 else [1]))
    nseg = samples * bits // 8
    if draw(st.booleans()):  # arbitrary segments: random runs, padding, short segments
        segments = [draw(st.binary(min_size=0, max_size=3 * rows * cols)) for _ in range(nseg)]
    else:  # valid literal-run segments
        segments = [_packbits_literal(draw(st.binary(min_size=rows * cols, max_size=rows * cols)))
                    for _ in range(nseg)]
    data = bytearray(_rle_frame(segments))
    for _ in range(draw(st.integers(0, 4))):  # corrupt a few bytes anywhere, the header too
        if data:
            pos = draw(st.integers(0, len(data) - 1))
            data[pos] = draw(st.integers(0, 255))
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data), rows, cols, samples, bits


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rle_frames())
def test_rle_kernel_matches_pydicom_or_raises(frame):
    data, rows, cols, samples, bits = frame
    expected = _pydicom_rle(data, rows, cols, samples, bits)
    if expected is None:
        with pytest.raises(DicomError):
            decode_rle_frame(data, rows, cols, samples, bits)
    else:
        got = decode_rle_frame(data, rows, cols, samples, bits)
        assert got.dtype == np.dtype(f"<u{bits // 8}")
        np.testing.assert_array_equal(got, expected)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 3]),
       st.sampled_from([8, 16, 32, 64]))
def test_rle_kernel_on_arbitrary_bytes(data, rows, cols, samples, bits):
    try:
        out = decode_rle_frame(data, rows, cols, samples, bits)
    except DicomError:
        return
    assert out.shape[:2] == (rows, cols)


def test_rle_kernel_out_argument_and_errors():
    seg = _packbits_literal(bytes(range(6)))
    data = _rle_frame([seg])
    out = np.zeros((2, 3), np.uint8)
    assert decode_rle_frame(data, 2, 3, 1, 8, out) is out
    assert out.ravel().tolist() == list(range(6))
    with pytest.raises(ValueError):
        decode_rle_frame(data, 2, 3, 1, 8, np.zeros((3, 2), np.uint8))
    with pytest.raises(ValueError):
        decode_rle_frame(data, 2, 3, 1, 12)
    with pytest.raises(DicomError):
        decode_rle_frame(data[:40], 2, 3, 1, 8)
    with pytest.raises(DicomError):  # two segments declared for one sample of 8 bits
        decode_rle_frame(_rle_frame([seg, seg]), 2, 3, 1, 8)
    # a replicate run longer than the plane is clipped, the rest is padding
    assert decode_rle_frame(_rle_frame([bytes([0x81, 7])]), 2, 3, 1, 8).ravel().tolist() == [7] * 6


def test_rle_kernel_releases_the_gil():
    import threading

    rows = cols = 512
    seg = bytes([0x81, 1]) * (rows * cols // 128 + 1)
    data = _rle_frame([seg, seg])
    results = []
    threads = [threading.Thread(target=lambda: results.append(decode_rle_frame(data, rows, cols, 1, 16)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all((r == 0x0101).all() for r in results)


# ---------------------------------------------------------------------------- offset tables


def _jpeg_like_frames(n, fragments_per_frame=2):
    """Frames shaped like JPEG codestreams (SOI ... EOI), split into fragments."""
    frames = []
    for k in range(n):
        body = bytes([0xFF, 0xD8]) + bytes([k + 1]) * (20 + 2 * k) + bytes([0xFF, 0xD9])
        frames.append(body)
    return frames, fragments_per_frame


def _encapsulated_file(frames, fragments_per_frame, bot=None, eot=None, nframes=None):
    from pydicom.dataset import FileMetaDataset
    from pydicom.encaps import itemize_frame
    from pydicom.uid import JPEGBaseline8Bit

    items = [b"".join(itemize_frame(f, fragments_per_frame)) for f in frames]
    offsets = np.cumsum([0] + [len(i) for i in items[:-1]]).tolist()
    if bot is None:
        bot = offsets
    table = struct.pack(f"<{len(bot)}L", *bot)
    value = b"\xfe\xff\x00\xe0" + struct.pack("<L", len(table)) + table + b"".join(items)
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.file_meta.MediaStorageSOPClassUID = "1.2.3"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    ds.Rows = ds.Columns = 1
    ds.NumberOfFrames = nframes or len(frames)
    if eot is not None:
        ds.ExtendedOffsetTable = struct.pack(f"<{len(eot[0])}Q", *eot[0])
        ds.ExtendedOffsetTableLengths = struct.pack(f"<{len(eot[1])}Q", *eot[1])
    ds.PixelData = value
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    import io

    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue(), offsets, [len(i) for i in items]


@pytest.mark.parametrize(
    "bot",
    [
        None,  # a correct table
        [],  # no table: found by the EOI markers
        "outside",  # offsets past the data
        "decreasing",
        "not_on_fragment",
        "short",  # fewer entries than frames
        "nonzero_start",
    ],
)
def test_basic_offset_table_fallbacks(bot):
    frames, per = _jpeg_like_frames(4)
    _, offsets, _ = _encapsulated_file(frames, per)
    table = {
        None: None,
        "outside": [0, 10_000, 20_000, 30_000],
        "decreasing": [0, offsets[2], offsets[1], offsets[3]],
        "not_on_fragment": [0, offsets[1] + 2, offsets[2], offsets[3]],
        "short": offsets[:2],
        "nonzero_start": [offsets[1], offsets[2], offsets[3], offsets[3] + 8],
    }.get(bot, bot) if not isinstance(bot, list) else bot
    data, _, _ = _encapsulated_file(frames, per, bot=table)
    ds = dicomfast.dcmread(data)
    for i, frame in enumerate(frames):
        assert bytes(frame_bytes(ds, i)) == frame


def test_extended_offset_table_is_used_and_checked():
    frames, _ = _jpeg_like_frames(3)
    # one fragment per frame, the EOT gives each frame's length without the fragment's padding
    _, offsets, lengths = _encapsulated_file(frames, 1)
    eot = (offsets, [len(f) for f in frames])
    data, _, _ = _encapsulated_file(frames, 1, bot=[], eot=eot)
    ds = dicomfast.dcmread(data)
    assert [bytes(frame_bytes(ds, i)) for i in range(3)] == frames
    # a wrong EOT (an offset not on a fragment, a length past it) falls back to the fragments
    for bad in ((offsets[:1] + [offsets[1] + 1] + offsets[2:], eot[1]),
                (offsets, [len(frames[0]) + 100] + eot[1][1:]),
                ([0], [1])):
        data, _, _ = _encapsulated_file(frames, 1, bot=[], eot=bad)
        ds = dicomfast.dcmread(data)
        for i, frame in enumerate(frames):
            assert bytes(frame_bytes(ds, i)).rstrip(b"\0") == frame


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), max_size=6), st.integers(1, 6),
       st.lists(st.integers(0, 2**40), max_size=4), st.lists(st.integers(0, 2**40), max_size=4),
       st.booleans())
def test_any_offset_table_gives_a_frame_or_an_error(bot, nframes, eot_offsets, eot_lengths, use_eot):
    frames, per = _jpeg_like_frames(3)
    eot = (eot_offsets, eot_lengths) if use_eot else None
    data, _, _ = _encapsulated_file(frames, per, bot=bot, eot=eot, nframes=nframes)
    ds = dicomfast.dcmread(data)
    for i in range(frame_count(ds)):
        try:
            got = frame_bytes(ds, i)
        except DicomError:
            continue
        assert isinstance(got, (bytes, memoryview))
        assert len(got) <= len(data)


JLS_FILES = [p for p in ENCAPSULATED if "jpeg_ls" in p.name.lower() or "jls" in p.name.lower()
             or "JPEGLS" in p.name]


@pytest.mark.parametrize("path", JLS_FILES, ids=corpus_id)
def test_jpeg_ls_through_pyjpegls_when_libjpeg_is_missing(monkeypatch, path):
    pytest.importorskip("jpeg_ls")
    monkeypatch.setitem(decoders._PLUGINS, "libjpeg", None)
    ref, ts = _reference(path)
    ds = dicomfast.dcmread(path)
    for i in range(ref.shape[0]):
        _assert_frames_equal(decode_frame(ds, i), ref[i], False, f"frame {i}")


@pytest.mark.parametrize("ts", ["1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202",
                                "1.2.840.10008.1.2.4.203"])
def test_htj2k_syntaxes_decode_through_openjpeg(tmp_path, ts):
    """No HTJ2K file in the corpus: a JPEG 2000 Part 1 codestream is valid under the HTJ2K
    transfer syntaxes (Part 15 decoders read Part 1), so relabel one and compare with pydicom."""
    source = corpus_roots()["pd"] / "MR_small_jp2klossless.dcm"
    ds = pydicom.dcmread(source)
    ds.file_meta.TransferSyntaxUID = ts
    out = tmp_path / "htj2k.dcm"
    ds.save_as(out, enforce_file_format=True)
    ref, _ = _reference(out)
    ours = decode_frame(dicomfast.dcmread(out), 0)
    _assert_frames_equal(ours, ref[0], False, ts)


@pytest.mark.parametrize("raised", [RuntimeError("bad marker"), OverflowError("value too large to convert to int"),
                                    MemoryError(), ValueError("x"), ZeroDivisionError("y")])
def test_a_plugin_failure_is_a_dicom_error(raised):
    # The pixel fuzzer found libjpeg raising OverflowError on a corrupt JPEG header: every failure
    # of a plugin on bad data must reach the caller as a DicomError naming the codestream.
    from dicomfast.pixels.codecs import pylibjpeg as decoders

    def plugin(data, version=2, **options):
        raise raised

    with pytest.raises(dicomfast.DicomError, match="JPEG codestream"):
        decoders._decode_with(plugin, b"\xff\xd8", "JPEG")


# ---------------------------------------------------------------------------- frames in parallel, decoder=


def _multiframe_encapsulated():
    found = []
    for path in ENCAPSULATED:
        try:
            ds = dicomfast.dcmread(path)
            if frame_count(ds) > 1:
                found.append(path)
        except DicomError:
            continue
    return found


@pytest.mark.parametrize("path", _multiframe_encapsulated(), ids=corpus_id)
def test_frames_on_threads_equal_frames_in_turn(path):
    """Frames decoded on 2 threads into one preallocated array equal the frames decoded one after
    another, and each frame alone; read_pixels and iter_frames take the same options."""
    ds = dicomfast.dcmread(path)
    serial = dicomfast.pixels.pixel_array(ds, workers=1)
    np.testing.assert_array_equal(dicomfast.pixels.pixel_array(ds, workers=2), serial)
    np.testing.assert_array_equal(dicomfast.pixels.pixel_array(ds), serial)
    for i, frame in enumerate(dicomfast.pixels.iter_frames(ds, decoder=None)):
        np.testing.assert_array_equal(frame, serial[i])
    stored = dicomfast.read_pixels(ds, rescale=False, workers=2, decoder=None)
    assert stored.shape[0] == serial.shape[0]
    with pytest.raises(ValueError):
        dicomfast.pixels.pixel_array(ds, workers=0)
    with pytest.raises(TypeError):
        dicomfast.read_pixels(ds, workers="2")


@pytest.mark.parametrize("path", [p for p in ENCAPSULATED if "RLE" not in p.name.upper()], ids=corpus_id)
def test_every_backend_decodes_like_pydicom(path):
    """decoder= picks one backend: each that decodes the file gives pydicom's frames (lossless
    exactly, lossy within the codecs' rounding)."""
    try:
        ref, ts = _reference(path)
        ds = dicomfast.dcmread(path)
    except Exception:
        pytest.skip("pydicom or dicomfast cannot read the file")
    for backend in ("imagecodecs", "pylibjpeg"):
        try:
            frames = [decode_frame(ds, i, decoder=backend) for i in range(frame_count(ds))]
        except DicomError:
            continue  # this backend refuses the file (the default order tries the next)
        for i, ours in enumerate(frames):
            _assert_frames_equal(ours, ref[i], ts in LOSSY, f"{backend} frame {i}")


# ---------------------------------------------------------------------------- JPEG colour space from the codestream

import codec_files  # noqa: E402
import make_reference_files  # noqa: E402


@pytest.mark.parametrize("name", codec_files.COLOUR)
def test_rgb_jpeg_colour_transform_from_the_codestream(name):
    """Photometric Interpretation RGB over a JPEG codestream: converted from YCbCr when the
    codestream says the encoder transformed it (JFIF APP0, Adobe APP14 transform 1, else component
    identifiers 1, 2, 3), not otherwise. References: libjpeg-turbo's own decision from the same
    markers (identical), and the image the file was encoded from (within the JPEG's loss: a mean
    error of a few levels, where false colours are off by ~70)."""
    imagecodecs = pytest.importorskip("imagecodecs")
    path = codec_files.COLOUR_DIR / f"{name}.dcm"
    if not path.exists():
        pytest.skip(f"{path} was not generated (Pillow or imagecodecs missing)")
    ds = dicomfast.dcmread(path)
    ours = dicomfast.pixels.pixel_array(ds)
    libjpeg_turbo = imagecodecs.jpeg8_decode(bytes(frame_bytes(ds, 0)))
    np.testing.assert_array_equal(ours, libjpeg_turbo)
    source = codec_files.colour_source(make_reference_files.pydicom_data_dir() / "test_files")
    assert np.abs(ours.astype(np.int64) - source).mean() < 3
    for backend in ("imagecodecs", "pylibjpeg"):  # the raw frame, whichever backend
        try:
            frame = decode_frame(ds, 0, decoder=backend)
        except DicomError:
            continue
        assert np.abs(frame.astype(np.int64) - source).mean() < 3, backend


# ---------------------------------------------------------------------------- GDCM and DCMTK beside pydicom

import pixel_report  # noqa: E402


@pytest.mark.parametrize("path", pixel_report.compressed_files(), ids=corpus_id)
def test_we_decode_what_any_reference_decodes(path):
    """pydicom, GDCM (gdcmconv --raw) and DCMTK (dcmdjpeg, dcmdjpls, dcmdrle): a compressed file
    that one of them decodes, dicomfast decodes, identical to (or, lossy, within the tolerance of
    pixel_report.py) pydicom when pydicom decodes it, and to at least one of them otherwise."""
    r = pixel_report.codec_outcome(path)
    if not r["decoded_by"]:
        return  # nobody decodes it: a DicomError from us (test_corpus_frames_match_pydicom)
    assert r["dicomfast"] is None, (r["dicomfast"], r["decoded_by"])
    agree = r["agreement"]
    if "pydicom" in agree:
        assert agree["pydicom"] != "differs", agree
    assert any(v != "differs" for v in agree.values()), agree


def test_codec_threads_policy(monkeypatch):
    """Threads inside one codec call: 1 for a small frame or off the main thread (a pool spreads the
    frames already); else the free cores."""
    from dicomfast.pixels import threads

    monkeypatch.setattr(threads, "_cores", lambda: 4)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (2.2, 0.0, 0.0))
    big = threads.THREADED_FRAME_BYTES
    assert threads.codec_threads(big - 1) == 1
    assert threads.codec_threads(big) == 3  # 4 cores, one busy besides this thread
    assert threads.frame_workers(10) == 3 and threads.frame_workers(2) == 2 and threads.frame_workers(1) == 1
    found = []
    t = threading.Thread(target=lambda: found.append(threads.codec_threads(big)))
    t.start()
    t.join()
    assert found == [1]
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (9.0, 0.0, 0.0))
    assert threads.codec_threads(big) == 1


def test_a_large_jpeg_2000_frame_decodes_on_the_free_cores(monkeypatch):
    """OpenJPEG gets codec_threads' count for a frame decoded on its own, and the frame is the same
    on one thread and on several."""
    ic = imagecodecs_backend.library()
    if ic is None:
        pytest.skip("imagecodecs is not installed")
    from dicomfast.pixels import threads

    path = corpus_roots()["pdd"] / "RG1_J2KR.dcm"
    if not path.exists():
        pytest.skip(f"{path.name} is not in this corpus")
    ds = dicomfast.dcmread(path)
    asked = []
    real = ic.jpeg2k_decode

    def spy(*args, **kwargs):
        asked.append(kwargs.get("numthreads"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ic, "jpeg2k_decode", spy)
    monkeypatch.setattr(threads, "_cores", lambda: 2)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    split = dicomfast.pixels.pixel_array(ds, decoder="imagecodecs")
    monkeypatch.setattr(threads, "_cores", lambda: 1)
    whole = dicomfast.pixels.pixel_array(ds, decoder="imagecodecs")
    assert asked == [2, 1]
    np.testing.assert_array_equal(split, whole)
