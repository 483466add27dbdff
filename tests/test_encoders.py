"""Encoders (issue 9): ``encode_frames`` of every native corpus image whose layout a syntax allows,
decoded back by dicomfast and by pydicom (and, for a few images, by GDCM and DCMTK: the references
of tests/pixel_report.py): identical for every lossless syntax, within the syntax's loss for the
lossy ones; the Image Pixel attributes the result carries; bad input is a ValueError."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import dicomfast
from dicomfast import uid
from dicomfast.pixels.codecs import EncodedFrames, encode_frames

pydicom = pytest.importorskip("pydicom")
pytest.importorskip("imagecodecs")
from pydicom.encaps import encapsulate  # noqa: E402

import pixel_report  # noqa: E402
from corpus import corpus_files, corpus_id  # noqa: E402

LOSSLESS = {
    uid.RLELossless: {"bits": (8, 16, 32)},
    uid.JPEGLSLossless: {"bits": (8, 16)},
    uid.JPEG2000Lossless: {"bits": (8, 16)},
    uid.HTJ2KLossless: {"bits": (8, 16)},
    uid.HTJ2KLosslessRPCL: {"bits": (8, 16)},
    uid.JPEGLosslessSV1: {"bits": (8, 16)},
}
# the sources: explicit VR little endian (pydicom rewrites them with other pixel data as they are;
# the implicit and big endian copies of the same images add no layout)
NATIVE = {"1.2.840.10008.1.2.1"}
MAX_SAMPLES = 3_000_000  # big images take long to encode in every syntax: the layouts repeat


def _native_images():
    """(path, stored values, Photometric Interpretation, Bits Stored) of each native corpus image
    that encoders can take: 8/16/32-bit integers, 1 or 3 samples, no subsampled YBR."""
    found = []
    for path in corpus_files():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = dicomfast.dcmread(path)
                if str(ds.file_meta.get("TransferSyntaxUID", "")) not in NATIVE or "PixelData" not in ds:
                    continue
                info = dicomfast.pixels.pixel_info(ds)
                if info.bits_allocated not in (8, 16, 32) or info.samples_per_pixel not in (1, 3):
                    continue
                if info.photometric_interpretation not in ("MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL"):
                    continue
                arr = dicomfast.pixels.pixel_array(ds, as_rgb=False)
        except Exception:
            continue
        if arr.size > MAX_SAMPLES or arr.dtype.kind not in "iu":
            continue
        found.append(pytest.param(path, id=corpus_id(path)))
    return found


IMAGES = _native_images()


def _source(path):
    ds = dicomfast.dcmread(path)
    info = dicomfast.pixels.pixel_info(ds)
    arr = np.ascontiguousarray(dicomfast.pixels.pixel_array(ds, as_rgb=False))
    return arr, info


def _dataset(path, encoded: EncodedFrames, frames: int) -> bytes:
    """The source file with its pixel data replaced by ``encoded``, as a Part 10 file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
    ds.PixelData = encapsulate(encoded.fragments)
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = encoded.transfer_syntax
    ds.PhotometricInterpretation = encoded.photometric_interpretation
    ds.BitsAllocated, ds.BitsStored = encoded.bits_allocated, encoded.bits_stored
    ds.HighBit = encoded.bits_stored - 1
    ds.PixelRepresentation = encoded.pixel_representation
    if encoded.planar_configuration is not None:
        ds.PlanarConfiguration = encoded.planar_configuration
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.LossyImageCompression = encoded.lossy_image_compression
    ds.set_original_encoding(False, True, ds.original_character_set)  # a big endian source too
    buf = io.BytesIO()
    ds.save_as(buf, implicit_vr=False, little_endian=True, enforce_file_format=True)
    return buf.getvalue()


@pytest.mark.parametrize("syntax", sorted(LOSSLESS), ids=lambda s: uid.uid_name(s).replace(" ", ""))
@pytest.mark.parametrize("path", IMAGES)
def test_lossless_round_trip(path, syntax):
    arr, info = _source(path)
    if info.bits_allocated not in LOSSLESS[syntax]["bits"]:
        pytest.skip(f"{uid.uid_name(syntax)} does not hold {info.bits_allocated} bits allocated")
    if syntax == uid.JPEGLosslessSV1 and info.bits_stored < 2:
        pytest.skip("JPEG lossless needs a precision of 2 bits or more")
    encoded = encode_frames(arr, syntax, photometric_interpretation=info.photometric_interpretation,
                            samples_per_pixel=info.samples_per_pixel, bits_stored=info.bits_stored)
    assert len(encoded.fragments) == info.number_of_frames
    assert all(len(f) % 2 == 0 for f in encoded.fragments)
    assert encoded.lossy_image_compression == "00" and encoded.lossy_image_compression_method is None
    data = _dataset(path, encoded, info.number_of_frames)
    ours = dicomfast.pixels.pixel_array(dicomfast.dcmread(data), as_rgb=False)
    np.testing.assert_array_equal(ours, arr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pydicom.dcmread(io.BytesIO(data)).pixel_array
    if encoded.photometric_interpretation == "YBR_FULL":
        from pydicom.pixels import pixel_array as pd_pixel_array
        theirs = pd_pixel_array(pydicom.dcmread(io.BytesIO(data)), raw=True)
    np.testing.assert_array_equal(theirs.astype(arr.dtype), arr)
    assert theirs.dtype.kind == arr.dtype.kind


# a few layouts through GDCM and DCMTK too: mono 8 and 16 bits signed and unsigned, RGB, multi-frame
REFERENCE_IMAGES = ["pd/CT_small.dcm", "pd/MR_small.dcm", "pd/SC_rgb.dcm", "pd/OBXXXX1A.dcm", "pd/emri_small.dcm",
                    "pd/SC_rgb_2frame.dcm", "pd/rtdose.dcm", "pdd/emri_small.dcm", "pdd/SC_rgb.dcm"]


@pytest.mark.parametrize("syntax", sorted(LOSSLESS), ids=lambda s: uid.uid_name(s).replace(" ", ""))
@pytest.mark.parametrize("path", [p for p in IMAGES if p.id in REFERENCE_IMAGES])
def test_gdcm_and_dcmtk_decode_what_we_encode(path, syntax, tmp_path):
    arr, info = _source(path)
    if info.bits_allocated not in LOSSLESS[syntax]["bits"]:
        pytest.skip(f"{uid.uid_name(syntax)} does not hold {info.bits_allocated} bits allocated")
    encoded = encode_frames(arr, syntax, photometric_interpretation=info.photometric_interpretation,
                            samples_per_pixel=info.samples_per_pixel, bits_stored=info.bits_stored)
    out = tmp_path / "encoded.dcm"
    out.write_bytes(_dataset(path, encoded, info.number_of_frames))
    refs = pixel_report.reference_arrays(out, syntax)
    for name, ref in refs.items():
        if name == "gdcm" and syntax in (uid.HTJ2KLossless, uid.HTJ2KLosslessRPCL):
            continue  # GDCM has no HTJ2K decoder
        assert isinstance(ref, np.ndarray), (name, ref)
        np.testing.assert_array_equal(ref.astype(arr.dtype), arr, err_msg=name)


LOSSY = {
    uid.JPEGBaseline8Bit: ({"quality": 95}, "ISO_10918_1"),
    uid.JPEGLSNearLossless: ({"near": 3}, "ISO_14495_1"),
    uid.JPEG2000: ({"psnr": 60}, "ISO_15444_1"),
}


@pytest.mark.parametrize("syntax", sorted(LOSSY), ids=lambda s: uid.uid_name(s).replace(" ", ""))
@pytest.mark.parametrize("name", ["pd/CT_small.dcm", "pd/SC_rgb.dcm", "pd/OBXXXX1A.dcm", "pdd/SC_rgb.dcm"])
def test_lossy_encodings(name, syntax):
    """Lossy: pydicom decodes our encoding like we do (within the decoders' rounding), the result is
    near the source (JPEG-LS: within NEAR), and the attributes say lossy, with the method."""
    matches = [p for p in IMAGES if p.id == name]
    if not matches:
        pytest.skip(f"{name} is not in the corpus")
    path = matches[0].values[0]
    arr, info = _source(path)
    options, method = LOSSY[syntax]
    if syntax == uid.JPEGBaseline8Bit and (info.bits_allocated != 8 or arr.dtype.kind == "i"):
        with pytest.raises(ValueError):
            encode_frames(arr, syntax, photometric_interpretation=info.photometric_interpretation,
                          samples_per_pixel=info.samples_per_pixel, bits_stored=info.bits_stored, **options)
        return
    encoded = encode_frames(arr, syntax, photometric_interpretation=info.photometric_interpretation,
                            samples_per_pixel=info.samples_per_pixel, bits_stored=info.bits_stored, **options)
    assert encoded.lossy_image_compression == "01" and encoded.lossy_image_compression_method == method
    assert encoded.lossy_image_compression_ratio > 1
    data = _dataset(path, encoded, info.number_of_frames)
    ours = dicomfast.pixels.pixel_array(dicomfast.dcmread(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pydicom.dcmread(io.BytesIO(data)).pixel_array
    assert ours.shape == theirs.shape == arr.shape
    diff = np.abs(ours.astype(np.int64) - theirs.astype(np.int64))
    assert diff.max() <= pixel_report.LOSSY_MAX and diff.mean() <= pixel_report.LOSSY_MEAN
    err = np.abs(ours.astype(np.int64) - arr.astype(np.int64))
    if syntax == uid.JPEGLSNearLossless:
        assert err.max() <= options["near"]
    else:
        span = float(arr.max()) - float(arr.min()) or 1.0
        assert err.mean() < 0.03 * span


@pytest.mark.parametrize("bad", [
    lambda: encode_frames(np.zeros((4, 4), np.float32), uid.RLELossless),
    lambda: encode_frames(np.zeros((4, 4), np.uint8), "1.2.3.4"),
    lambda: encode_frames(np.zeros((4, 4), np.uint8), uid.ExplicitVRLittleEndian),
    lambda: encode_frames(np.full((4, 4), 300, np.uint16), uid.RLELossless, bits_stored=8),
    lambda: encode_frames(np.zeros((4, 4), np.uint16), uid.JPEGBaseline8Bit),
    lambda: encode_frames(np.zeros((4, 4, 2), np.uint8), uid.RLELossless, samples_per_pixel=3),
    lambda: encode_frames(np.zeros((4, 4), np.uint8), uid.JPEGLSLossless, near=2),
    lambda: encode_frames(np.zeros((4, 4), np.uint32), uid.JPEG2000Lossless),
    lambda: encode_frames(np.zeros((0, 4), np.uint8), uid.RLELossless),
])
def test_bad_input_is_a_value_error(bad):
    with pytest.raises(ValueError):
        bad()
