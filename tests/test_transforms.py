"""Transforms (dicomfast/transforms.py, dicomfast/_transform.pyx) against pydicom and NumPy references.

* ``apply_modality_lut`` / ``apply_voi_lut`` / ``apply_windowing`` are compared with pydicom's
  functions of the same names, on random arrays of every input dtype with random attributes
  (hypothesis), the datasets built with pydicom and read back by dicomfast, and on the corpus files
  that carry Modality LUT, VOI LUT and enhanced multi-frame functional groups.
* ``window`` is compared with the DICOM formula evaluated in float64 with NumPy.

Tolerances. Rescale and LUTs are exact. Windowing folds rescale, centre and width into one affine
map ``x * a + b``, so its rounding differs from pydicom's step-by-step expression by a few ulps of
``|x * a| + |b|``: float outputs are compared with rtol 1e-7 plus an atol of 1e-9 of the output range
(the atol covers values near zero that come from cancelling ``t * range + y_min``). Integer outputs
of ``window`` are exact except where the scaled value is within 1e-6 of a rounding tie (x.5), where
that few-ulp difference may decide the tie: one unit is allowed there, nowhere else.
"""
from __future__ import annotations

import io
import sys
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pydicom.dataset import Dataset as PDataset
from pydicom.dataset import FileMetaDataset
from pydicom.pixels import processing as pp
from pydicom.sequence import Sequence as PSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

import dicomfast
from dicomfast.pixels import _transform
from dicomfast.pixels.transforms import _window_coefficients as transforms_coefficients
from dicomfast.pixels.transforms import frame_parameters
from package import needs_checkout

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(pydicom.__file__).resolve().parents[1]
PYDICOM_FILES = SITE / "pydicom" / "data" / "test_files"
STORE_FILES = SITE / "data_store" / "data"

INPUT_DTYPES = ["int8", "int16", "int32", "uint8", "uint16", "uint32", "float32", "float64"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------------------------------------
# helpers


def to_dicomfast(pds: PDataset) -> dicomfast.Dataset:
    """Write a pydicom dataset (explicit VR little endian) and read it back with dicomfast."""
    pds = pds.copy()
    pds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    pds.SOPInstanceUID = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = pds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = pds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    pds.file_meta = meta
    buf = io.BytesIO()
    pds.save_as(buf, enforce_file_format=True)
    return dicomfast.dcmread(buf.getvalue())


def stored_arrays(dtype: str, lo: int = -(2**16), hi: int = 2**16):
    """Arrays of ``dtype`` with values in [lo, hi] (intersected with the dtype's range)."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=8 * dt.itemsize)
    else:
        info = np.iinfo(dt)
        elements = st.integers(max(lo, int(info.min)), min(hi, int(info.max)))
    shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=12)
    return hnp.arrays(dt, shapes, elements=elements)


finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
slopes = st.floats(-8, 8, allow_nan=False).filter(lambda s: abs(s) > 1e-3)
functions = st.sampled_from(["LINEAR", "LINEAR_EXACT", "SIGMOID"])


def reference_t(x, center, width, slope, intercept, function):
    """t in [0, 1] of DICOM PS3.3 C.11.2.1.2, in float64, step by step."""
    y = x.astype(np.float64) * slope + intercept
    function = function.upper()
    if function == "LINEAR":
        c, w = center - 0.5, width - 1
        if w == 0:
            return np.where(y > c, 1.0, 0.0)
        return np.clip((y - c) / w + 0.5, 0.0, 1.0)
    if function == "LINEAR_EXACT":
        return np.clip((y - center) / width + 0.5, 0.0, 1.0)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-4.0 * (y - center) / width))


def assert_rounded(ours, t, scale):
    """ours == floor(t * scale + 0.5) exactly, except by one unit within 1e-6 of a tie."""
    v = t * scale + 0.5
    ref = np.floor(v)
    diff = np.abs(ours.astype(np.int64) - ref.astype(np.int64))
    near_tie = np.abs(v - np.round(v)) < 1e-6
    assert diff.max(initial=0) <= 1
    assert not np.any(diff[~near_tie]), (ours[~near_tie & (diff > 0)], ref[~near_tie & (diff > 0)])


def assert_float_close(ours, ref, y_range=1.0):
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-9 * max(1.0, abs(y_range)))


# ------------------------------------------------------------------------------------------------
# the float16 conversion (dicomfast/_half.h)


def test_half_conversion_matches_numpy_on_unit_interval():
    """Every float16 in [0, 1], the midpoints between them and their neighbours: as numpy rounds."""
    halves = np.arange(0, 0x3C01, dtype=np.uint16).view(np.float16).astype(np.float64)
    mids = (halves[:-1] + halves[1:]) / 2
    x = np.concatenate([halves, mids, np.nextafter(mids, 0), np.nextafter(mids, 1)])
    x = x.astype(np.float32).astype(np.float64)  # the kernel rounds to float32 first
    x = x[(x >= 0) & (x <= 1)]
    dst = np.empty(x.size, np.uint16)
    _transform.window(x, dst, _transform.FUNC_LINEAR, 1.0, 0.0, 1.0, 0.0, True)
    np.testing.assert_array_equal(dst, x.astype(np.float32).astype(np.float16).view(np.uint16))


# ------------------------------------------------------------------------------------------------
# window


@SETTINGS
@given(
    dtype=st.sampled_from(INPUT_DTYPES),
    data=st.data(),
    center=finite,
    width=st.floats(1, 1e4),
    slope=slopes,
    intercept=finite,
    function=functions,
    out_dtype=st.sampled_from(["uint8", "uint16", "float16", "float32"]),
)
def test_window_matches_reference(dtype, data, center, width, slope, intercept, function, out_dtype):
    arr = data.draw(stored_arrays(dtype))
    ours = dicomfast.window(arr, center, width, slope=slope, intercept=intercept,
                            function=function.lower(), dtype=out_dtype)
    assert ours.dtype == np.dtype(out_dtype) and ours.shape == arr.shape
    t = reference_t(arr, center, width, slope, intercept, function)
    if out_dtype == "uint8":
        assert_rounded(ours, t, 255.0)
    elif out_dtype == "uint16":
        assert_rounded(ours, t, 65535.0)
    elif out_dtype == "float32":
        np.testing.assert_allclose(ours, t.astype(np.float32), rtol=1e-6, atol=1e-7)
    else:
        # Computed in float64, rounded to float32, then to float16: one float16 ulp at most.
        ref = t.astype(np.float16).view(np.uint16).astype(np.int32)
        assert np.abs(ours.view(np.uint16).astype(np.int32) - ref).max(initial=0) <= 1


@pytest.mark.skipif(not _transform.HAVE_FIXED, reason="the fixed-point window loop needs AVX2")
@settings(max_examples=150, deadline=None)
@given(
    dtype=st.sampled_from(["int16", "uint16"]),
    center=st.one_of(finite, st.integers(-2000, 5000).map(float), st.integers(-4000, 10000).map(lambda v: v / 2)),
    width=st.one_of(st.floats(1.01, 5000), st.sampled_from([2.0, 3.0, 17.0, 256.0, 257.0, 400.0, 1024.0, 2048.0])),
    slope=st.one_of(st.floats(0.01, 8), st.sampled_from([1.0, 0.5, 2.0, 0.25, 1 / 3])),
    intercept=st.one_of(finite, st.sampled_from([-1024.0, 0.0, -32768.0, 1000.5])),
)
def test_window_fixed_point_path_is_exact(dtype, center, width, slope, intercept):
    """The 16-bit fixed-point loop (``_window.h``) against the float64 loop, over every stored value.

    Both paths must give identical bytes, ties included; and both match the float64 reference.
    """
    info = np.iinfo(dtype)
    arr = np.arange(int(info.min), int(info.max) + 1).astype(dtype)
    func, a, b = transforms_coefficients("LINEAR", center, width, slope, intercept)
    fast = np.empty(arr.size, np.uint8)
    slow = np.empty(arr.size, np.uint8)
    _transform.window(arr, fast, func, a, b, 255.0, 0.0, False, True)
    _transform.window(arr, slow, func, a, b, 255.0, 0.0, False, False)
    np.testing.assert_array_equal(fast, slow)
    ours = dicomfast.window(arr, center, width, slope=slope, intercept=intercept)
    np.testing.assert_array_equal(ours, fast)
    assert_rounded(ours, reference_t(arr, center, width, slope, intercept, "LINEAR"), 255.0)


def test_window_fixed_point_on_a_ct_slice_and_odd_lengths():
    """A CT-like slice, whole and cut to lengths that leave a tail after the 32-wide SIMD blocks."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_transform import make_slice
    finally:
        sys.path.pop(0)
    arr = make_slice(256).reshape(-1)
    for n in (arr.size, 8192 + 31, 9001):
        part = arr[:n]
        ours = dicomfast.window(part, 40, 400, intercept=-1024)
        slow = np.empty(n, np.uint8)
        func, a, b = transforms_coefficients("LINEAR", 40.0, 400.0, 1.0, -1024.0)
        _transform.window(part, slow, func, a, b, 255.0, 0.0, False, False)
        np.testing.assert_array_equal(ours, slow)


def test_window_threads_give_the_same_output():
    arr = np.random.default_rng(1).integers(-1100, 3000, 3 * (1 << 17) + 5).astype(np.int16)
    one = dicomfast.window(arr, 40, 400, intercept=-1024)
    old = _transform.set_num_threads(2)
    try:
        two = dicomfast.window(arr, 40, 400, intercept=-1024)
    finally:
        _transform.set_num_threads(old)
    np.testing.assert_array_equal(one, two)
    with pytest.raises(ValueError):
        _transform.set_num_threads(0)


# Windows chosen to take each variant of kernel 3 (_window.h: the pmulhuw/pmulhrsw plans) and the
# fallbacks: (dtype, center, width, intercept, the plan kind's prefix).
PLAN_CASES = [
    ("int16", 40, 400, -1024, "mulhi-hrs"),                   # soft tissue: 3 operations, no shift
    ("int16", -600, 1500, -1024, "mulhi-signed-r1"),         # lung: pmulhw and an arithmetic shift
    ("int16", 40, 80, -1024, "mulhi-clamped-unsigned-s2"),   # brain: a left shift, both sides clamped
    ("int16", -3000, 400, 0, "mulhi-clamped-unsigned"),      # below zero: pinned at the bottom
    ("int16", 40, 400, -32768, "mulhi-clamped-unsigned"),    # near the type's top
    ("uint16", 40, 400, -1024, "mulhi-unsigned"),
    ("uint16", -600, 1500, -1024, "mulhi"),                  # reaches below 0, the type's minimum
    ("uint16", 40, 80, -1024, "mulhi-clamped-unsigned-s2"),
    ("uint16", 40000, 1200, 0, "mulhi-clamped-unsigned-r2"), # high: the unclamped t would wrap at 0
    ("int16", 400, 1800, -1024, "madd"),                     # no pmulhw fit: pmaddwd with patches
    ("int16", 0, 30000, 0, "float64"),                       # too wide for either plan
]


def _plan_kind(dtype, center, width, slope, intercept):
    func, a, b = transforms_coefficients("LINEAR", float(center), float(width), float(slope), float(intercept))
    return _transform.plan_kind(a * 255.0, b * 255.0 + 0.5, dtype == "int16")


@pytest.mark.skipif(not _transform.HAVE_FIXED, reason="the fixed-point window loops need AVX2")
@pytest.mark.parametrize("dtype, center, width, intercept, kind", PLAN_CASES)
def test_window_plans_take_each_variant_and_are_exact(dtype, center, width, intercept, kind):
    """Each plan variant gives the float64 loop's bytes for every 16-bit value (and through the
    compiled entry of ``window`` with ``out=``)."""
    assert _plan_kind(dtype, center, width, 1.0, intercept).startswith(kind)
    info = np.iinfo(dtype)
    arr = np.arange(int(info.min), int(info.max) + 1).astype(dtype)
    func, a, b = transforms_coefficients("LINEAR", float(center), float(width), 1.0, float(intercept))
    fast = np.empty(arr.size, np.uint8)
    slow = np.empty(arr.size, np.uint8)
    _transform.window(arr, fast, func, a, b, 255.0, 0.0, False, True)
    _transform.window(arr, slow, func, a, b, 255.0, 0.0, False, False)
    np.testing.assert_array_equal(fast, slow)
    out = np.empty(arr.size, np.uint8)
    assert dicomfast.window(arr, center, width, intercept=intercept, out=out) is out
    np.testing.assert_array_equal(out, slow)


@pytest.mark.skipif(not _transform.HAVE_FIXED, reason="the fixed-point window loops need AVX2")
def test_window_common_ct_windows_take_kernel_3():
    """The usual CT presets (int16 stored values, intercept -1024) take the pmulhw/pmulhrsw loops."""
    presets = [(40, 400), (50, 350), (60, 400), (40, 80), (35, 80), (-600, 1500), (-500, 1400), (300, 1500), (90, 450)]
    for center, width in presets:
        assert _plan_kind("int16", center, width, 1.0, -1024.0).startswith("mulhi"), (center, width)
    # Random CT-like windows: most take kernel 3 (the rest fall back to kernel 2 or the float64 loop).
    rng = np.random.default_rng(5)
    kinds = [_plan_kind("int16", c, w, 1.0, -1024.0) for c, w in zip(rng.uniform(-700, 1000, 300), rng.uniform(20, 2500, 300))]
    assert sum(k.startswith("mulhi") for k in kinds) >= 0.85 * len(kinds)


def test_window_compiled_entry_declines_what_it_does_not_handle():
    """``_transform.window_linear_u8`` (window's fast path) returns None for any call it does not
    handle; window() then takes the general path, with the same results and errors."""
    arr = np.random.default_rng(3).integers(-1100, 3000, (64, 64)).astype(np.int16)
    out = np.empty(arr.shape, np.uint8)
    fast = _transform.window_linear_u8
    assert fast(arr, out, 40, 400, 1, -1024) is out
    expected = dicomfast.window(arr, 40.0, 400.0, intercept=-1024.0)   # the general path (no out)
    np.testing.assert_array_equal(out, expected)
    declined = [
        (arr.astype(np.int32), out, 40, 400, 1, -1024),                # not 16-bit
        (arr.astype(">i2"), out, 40, 400, 1, -1024),                   # byte-swapped
        (arr[:, ::2], out[:, :32], 40, 400, 1, -1024),                 # not contiguous
        (arr, out.astype(np.uint16), 40, 400, 1, -1024),               # not uint8
        (arr, out[:32], 40, 400, 1, -1024),                            # another shape
        (arr, out.reshape(-1), 40, 400, 1, -1024),                     # another number of dimensions
        (arr, out, np.float64(40), 400, 1, -1024),                     # not a plain number
        (arr, out, 40, True, 1, -1024),
        (arr, out, 40, 1, 1, -1024),                                   # width 1: a step
        (arr, out, 40, 400, 1, float("inf")),
        (arr, out, 40, 400, 1, 10**400),
        (arr.tolist(), out, 40, 400, 1, -1024),
    ]
    for args in declined:
        assert fast(*args) is None
    ro = out.copy()
    ro.flags.writeable = False
    assert fast(arr, ro, 40, 400, 1, -1024) is None
    buf = np.zeros(2 * arr.size, np.uint8)
    overlapping = buf[1 : 1 + arr.size].reshape(arr.shape)
    assert fast(buf.view(np.int16).reshape(arr.shape), overlapping, 40, 400, 1, -1024) is None
    # The same calls through window() give the general path's results (or its errors).
    np.testing.assert_array_equal(dicomfast.window(arr, np.float64(40), 400, intercept=-1024, out=out), expected)
    np.testing.assert_array_equal(dicomfast.window(arr, 40, 400, slope=1, intercept=-1024, function="LINEAR", out=out), expected)
    with pytest.raises(ValueError, match="shape"):
        dicomfast.window(arr, 40, 400, out=out[:32])


def test_window_in_a_forked_child_after_threads():
    """libgomp cannot run a parallel region in a child forked after the parent ran one (it hangs):
    a forked child windows serially."""
    import os

    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    arr = np.random.default_rng(1).integers(-1100, 3000, 3 * (1 << 17)).astype(np.int16)
    out = np.empty(arr.shape, np.uint8)
    old = _transform.set_num_threads(2)
    try:
        dicomfast.window(arr, 40, 400, intercept=-1024, out=out)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                ok = _transform.set_num_threads(1) == 1
                dicomfast.window(arr, 40, 400, intercept=-1024, out=out)
            finally:
                os._exit(0 if ok else 3)
        import time

        deadline = time.monotonic() + 60
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung in the window kernel")
            time.sleep(0.01)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        _transform.set_num_threads(old)


def test_window_width_one_linear_is_a_step():
    arr = np.arange(-3, 4, dtype=np.int16)
    out = dicomfast.window(arr, 0.5, 1.0)
    np.testing.assert_array_equal(out, np.where(arr > 0, 255, 0).astype(np.uint8))


def test_window_nan_inputs():
    arr = np.array([np.nan, 0.0, 1.0], np.float32)
    assert dicomfast.window(arr, 0.5, 2, dtype=np.uint8)[0] == 0
    assert np.isnan(dicomfast.window(arr, 0.5, 2, dtype=np.float32)[0])


def test_window_readonly_noncontiguous_and_byteswapped_inputs():
    base = np.random.default_rng(1).integers(-2000, 2000, (64, 64)).astype(np.int16)
    ref = dicomfast.window(base, 40, 400, intercept=-1024)
    ro = base.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(dicomfast.window(ro, 40, 400, intercept=-1024), ref)
    big = base.astype(">i2")
    np.testing.assert_array_equal(dicomfast.window(big, 40, 400, intercept=-1024), ref)
    wide = np.zeros((64, 128), np.int16)
    wide[:, ::2] = base
    np.testing.assert_array_equal(dicomfast.window(wide[:, ::2], 40, 400, intercept=-1024), ref)
    np.testing.assert_array_equal(dicomfast.window(base.astype(np.int64), 40, 400, intercept=-1024), ref)


def test_window_out():
    arr = np.random.default_rng(2).integers(0, 4096, (32, 48)).astype(np.uint16)
    out = np.empty((32, 48), np.uint8)
    got = dicomfast.window(arr, 2048, 4096, out=out)
    assert got is out
    np.testing.assert_array_equal(out, dicomfast.window(arr, 2048, 4096))
    out16 = np.empty((32, 48), np.float16)
    assert dicomfast.window(arr, 2048, 4096, dtype=np.float16, out=out16) is out16
    # In place, element for element: float32 over float32.
    f = arr.astype(np.float32)
    expected = dicomfast.window(f, 2048, 4096, dtype=np.float32)
    assert dicomfast.window(f, 2048, 4096, dtype=np.float32, out=f) is f
    np.testing.assert_array_equal(f, expected)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"out": np.empty((4, 5), np.uint8)}, ValueError, "shape"),
        ({"out": np.empty((4, 4), np.uint16)}, TypeError, "dtype"),
        ({"out": np.empty((4, 8), np.uint8)[:, ::2]}, ValueError, "C-contiguous"),
        ({"out": [0] * 16}, TypeError, "numpy.ndarray"),
        ({"dtype": np.int32}, TypeError, "dtype must be one of"),
        ({"function": "cubic"}, ValueError, "Unsupported VOI LUT function"),
        ({"function": 3}, TypeError, "function must be a str"),
        ({"slope": "a"}, TypeError, "slope must be a real number"),
        ({"intercept": float("nan")}, ValueError, "intercept must be finite"),
    ],
)
def test_window_bad_arguments(kwargs, exc, match):
    arr = np.zeros((4, 4), np.int16)
    with pytest.raises(exc, match=match):
        dicomfast.window(arr, 0, 10, **kwargs)


def test_window_bad_out_readonly_and_overlapping():
    arr = np.zeros((4, 4), np.int16)
    out = np.empty((4, 4), np.uint8)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        dicomfast.window(arr, 0, 10, out=out)
    f = np.zeros(8, np.float32)
    with pytest.raises(ValueError, match="overlaps"):
        dicomfast.window(f[:4], 0, 10, dtype=np.float32, out=f[1:5])


@pytest.mark.parametrize(
    "function, width, match",
    [("linear", 0.5, "greater than or equal to 1"), ("linear_exact", 0, "greater than 0"), ("sigmoid", -1, "greater than 0")],
)
def test_window_bad_width(function, width, match):
    with pytest.raises(ValueError, match=match):
        dicomfast.window(np.zeros(3, np.int16), 0, width, function=function)


def test_window_bad_array():
    with pytest.raises(TypeError, match="numpy.ndarray"):
        dicomfast.window([1, 2, 3], 0, 10)
    with pytest.raises(TypeError, match="integer or floating point"):
        dicomfast.window(np.zeros(3, complex), 0, 10)


def test_window_per_frame_parameters():
    arr = np.random.default_rng(3).integers(0, 4096, (3, 8, 8)).astype(np.uint16)
    centers, widths, intercepts = [100, 200, 300], [50, 400, 1000], [0, -10, -1024]
    got = dicomfast.window(arr, centers, widths, intercept=intercepts)
    for k in range(3):
        np.testing.assert_array_equal(got[k], dicomfast.window(arr[k], centers[k], widths[k], intercept=intercepts[k]))
    with pytest.raises(ValueError, match="2 values for 3 frames"):
        dicomfast.window(arr, [1, 2], 10)


# ------------------------------------------------------------------------------------------------
# apply_modality_lut


@SETTINGS
@given(dtype=st.sampled_from(INPUT_DTYPES), data=st.data(), slope=slopes, intercept=finite)
def test_rescale_matches_pydicom(dtype, data, slope, intercept):
    arr = data.draw(stored_arrays(dtype, -(2**31), 2**32))
    pds = PDataset()
    pds.RescaleSlope = slope
    pds.RescaleIntercept = intercept
    ref = pp.apply_modality_lut(arr, pds)
    ours = dicomfast.apply_modality_lut(arr, pds)
    assert ours.dtype == ref.dtype == np.float64
    np.testing.assert_array_equal(ours, ref)


def _lut_item(entries, first_map, depth, data):
    item = PDataset()
    item.LUTDescriptor = [entries % 65536, first_map, depth]
    item.LUTData = data
    item["LUTDescriptor"].VR = "SS" if first_map < 0 else "US"
    return item


@st.composite
def luts(draw, depths):
    depth = draw(st.sampled_from(depths))
    entries = draw(st.integers(2, 300))  # pydicom reads a one-entry LUT Data as a scalar and fails
    first_map = draw(st.integers(-500, 500))
    top = 255 if depth == 8 else 2**depth - 1
    data = draw(st.lists(st.integers(0, top), min_size=entries, max_size=entries))
    return entries, first_map, depth, data


def _pydicom_lut_defined(arr, first_map, lut_dtype):
    """pydicom's LUT code computes ``arr - first_map`` in arr's dtype and stores it in an index array of
    the LUT's (VOI) or arr's (modality) dtype; compare only where that arithmetic cannot wrap."""
    if arr.dtype.kind == "f":
        mapped = arr[arr >= first_map] - arr.dtype.type(first_map)
        return mapped.size == 0 or float(mapped.max()) < np.iinfo(lut_dtype).max
    d = arr.astype(np.int64) - first_map
    info = np.iinfo(arr.dtype)
    if not info.min <= first_map <= info.max:
        return False
    mapped = d[arr.astype(np.int64) >= first_map]
    limit = min(int(info.max), int(np.iinfo(lut_dtype).max))
    return mapped.size == 0 or int(mapped.max()) <= limit


@SETTINGS
@given(dtype=st.sampled_from(INPUT_DTYPES[:6]), data=st.data(), lut=luts([8, 16]))
def test_modality_lut_matches_pydicom(dtype, data, lut):
    entries, first_map, depth, values = lut
    arr = data.draw(stored_arrays(dtype, -1000, 1000))
    assume(_pydicom_lut_defined(arr, first_map, arr.dtype))
    pds = PDataset()
    pds.ModalityLUTSequence = PSequence([_lut_item(entries, first_map, depth, values)])
    pds["ModalityLUTSequence"][0]["LUTData"].VR = "US"
    ref = pp.apply_modality_lut(arr, pds)
    ours = dicomfast.apply_modality_lut(arr, pds)
    assert ours.dtype == ref.dtype
    np.testing.assert_array_equal(ours, ref)


def test_modality_lut_float_input():
    """pydicom cannot index its LUT with a float array; dicomfast truncates toward the LUT's start."""
    pds = PDataset()
    pds.ModalityLUTSequence = PSequence([_lut_item(4, -2, 8, [10, 20, 30, 40])])
    arr = np.array([-5.0, -2.0, -1.5, -0.5, 0.99, 1.0, 7.0, np.nan])
    np.testing.assert_array_equal(dicomfast.apply_modality_lut(arr, pds), [10, 10, 10, 20, 30, 40, 40, 10])


# ------------------------------------------------------------------------------------------------
# apply_voi_lut / apply_windowing


@SETTINGS
@given(dtype=st.sampled_from(INPUT_DTYPES), data=st.data(), lut=luts([8, 10, 12, 16]))
def test_voi_lut_matches_pydicom(dtype, data, lut):
    entries, first_map, depth, values = lut
    arr = data.draw(stored_arrays(dtype, -1000, 1000))
    assume(_pydicom_lut_defined(arr, first_map, np.uint8 if depth == 8 else np.uint16))
    pds = PDataset()
    pds.VOILUTSequence = PSequence([_lut_item(entries, first_map, depth, values)])
    pds["VOILUTSequence"][0]["LUTData"].VR = "US"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about float input
        ref = pp.apply_voi_lut(arr, pds)
    ours = dicomfast.apply_voi_lut(arr, pds)
    assert ours.dtype == ref.dtype
    np.testing.assert_array_equal(ours, ref)


@st.composite
def window_datasets(draw):
    pds = PDataset()
    pds.PhotometricInterpretation = draw(st.sampled_from(["MONOCHROME1", "MONOCHROME2"]))
    pds.BitsStored = draw(st.integers(1, 16))
    pds.PixelRepresentation = draw(st.integers(0, 1))
    function = draw(st.sampled_from(["LINEAR", "LINEAR_EXACT", "SIGMOID", None]))
    if function is not None:
        pds.VOILUTFunction = function
    n = draw(st.integers(1, 3))
    # DS values are written as text of at most 16 characters: round them so that both read the same.
    pds.WindowCenter = [round(draw(finite), 3) for _ in range(n)] if n > 1 else round(draw(finite), 3)
    w = [round(draw(st.floats(1, 1e4)), 3) for _ in range(n)]
    pds.WindowWidth = w if n > 1 else w[0]
    if draw(st.booleans()):
        pds.RescaleSlope = round(draw(slopes), 4)
        pds.RescaleIntercept = round(draw(finite), 3)
    if draw(st.booleans()):
        pds.ModalityLUTSequence = PSequence([_lut_item(4, 0, draw(st.sampled_from([8, 16])), [0, 1, 2, 3])])
        pds["ModalityLUTSequence"][0]["LUTData"].VR = "US"
    return pds, n


def _y_range(pds):
    if "ModalityLUTSequence" in pds:
        lo, hi = 0, 2 ** pds.ModalityLUTSequence[0].LUTDescriptor[2] - 1
    elif pds.PixelRepresentation == 0:
        lo, hi = 0, 2**pds.BitsStored - 1
    else:
        lo, hi = -(2 ** (pds.BitsStored - 1)), 2 ** (pds.BitsStored - 1) - 1
    s, i = float(pds.get("RescaleSlope", 1)), float(pds.get("RescaleIntercept", 0))
    return abs(hi * s + i) + abs(lo * s + i)


@SETTINGS
@given(dtype=st.sampled_from(INPUT_DTYPES), data=st.data(), case=window_datasets(), prefer_lut=st.booleans())
def test_windowing_matches_pydicom(dtype, data, case, prefer_lut):
    pds, n = case
    index = data.draw(st.integers(0, n - 1))
    arr = data.draw(stored_arrays(dtype))
    fds = to_dicomfast(pds)
    ref = pp.apply_windowing(arr, pds, index)
    for ds in (fds, pds):
        assert_float_close(dicomfast.apply_windowing(arr, ds, index), ref, _y_range(pds))
        assert_float_close(dicomfast.apply_voi_lut(arr, ds, index, prefer_lut), ref, _y_range(pds))


def test_windowing_errors_match_pydicom():
    pds = PDataset()
    pds.PhotometricInterpretation = "RGB"
    pds.WindowCenter, pds.WindowWidth = 10, 10
    arr = np.zeros(4, np.int16)
    with pytest.raises(ValueError, match="MONOCHROME1"):
        dicomfast.apply_windowing(arr, pds)
    pds.PhotometricInterpretation = "MONOCHROME2"
    pds.BitsStored, pds.PixelRepresentation = 12, 0
    pds.VOILUTFunction = "CUBIC"
    with pytest.raises(ValueError, match="Unsupported"):
        dicomfast.apply_windowing(arr, pds)
    pds.VOILUTFunction = "LINEAR"
    pds.WindowWidth = 0.5
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        dicomfast.apply_windowing(arr, pds)
    del pds.BitsStored
    pds.WindowWidth = 5
    with pytest.raises(dicomfast.DicomError, match="Bits Stored"):
        dicomfast.apply_windowing(arr, pds)


def test_nothing_to_apply_returns_input():
    arr = np.arange(6, dtype=np.int16)
    empty = PDataset()
    assert dicomfast.apply_modality_lut(arr, empty) is arr
    assert dicomfast.apply_voi_lut(arr, empty) is arr
    assert dicomfast.apply_windowing(arr, empty) is arr


def test_lut_data_ow_bytes_and_short_data():
    """LUT Data written as OW reaches dicomfast as bytes; too few entries is a DicomError."""
    arr = np.arange(-10, 300, dtype=np.int16)
    values = list(range(0, 4096, 16))
    pds = PDataset()
    pds.BitsStored, pds.PixelRepresentation = 12, 1
    pds.ModalityLUTSequence = PSequence([_lut_item(256, 0, 16, np.array(values, "<u2").tobytes())])
    pds.ModalityLUTSequence[0]["LUTData"].VR = "OW"
    fds = to_dicomfast(pds)
    assert isinstance(fds.ModalityLUTSequence[0].LUTData, (bytes, memoryview))
    ref = np.array(values, np.uint16)[np.clip(arr, 0, 255)]
    np.testing.assert_array_equal(dicomfast.apply_modality_lut(arr, fds), ref)
    short = PDataset()
    short.VOILUTSequence = PSequence([_lut_item(300, 0, 8, [1, 2, 3])])
    with pytest.raises(dicomfast.DicomError, match="3 entries"):
        dicomfast.apply_voi_lut(arr, short)


def test_lut_clips_where_pydicom_wraps():
    """A documented difference: values past the end of a VOI LUT map to its last entry (PS3.3
    C.11.2.1.1); pydicom computes the index in the LUT's dtype, which wraps past 255 for 8-bit LUTs."""
    pds = PDataset()
    pds.VOILUTSequence = PSequence([_lut_item(4, 0, 8, [10, 20, 30, 40])])
    arr = np.array([0, 3, 4, 256, 1000], np.int16)
    np.testing.assert_array_equal(dicomfast.apply_voi_lut(arr, pds), [10, 40, 40, 40, 40])


# ------------------------------------------------------------------------------------------------
# real files


CORPUS = {
    "MLUT_16_SS_4096": STORE_FILES / "mlut_18.dcm",  # Modality LUT, 4096 entries from -2048, 16 bits
    "VOILUT_8_256": STORE_FILES / "vlut_04.dcm",  # VOI LUT, 256 entries, 16 bits
    "CT_RESCALE": PYDICOM_FILES / "CT_small.dcm",  # Rescale Slope/Intercept, no window
    "MR_WINDOW": PYDICOM_FILES / "MR_small.dcm",  # Window Center/Width, no rescale
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_file_matches_pydicom(name):
    path = CORPUS[name]
    if not path.exists():
        pytest.skip(f"{path.name} is not installed")
    pds = pydicom.dcmread(path)
    fds = dicomfast.dcmread(path)
    arr = pds.pixel_array
    ref_m = pp.apply_modality_lut(arr, pds)
    ours_m = dicomfast.apply_modality_lut(arr, fds)
    assert ours_m.dtype == ref_m.dtype
    np.testing.assert_array_equal(ours_m, ref_m)
    ref_v = pp.apply_voi_lut(ref_m, pds)
    ours_v = dicomfast.apply_voi_lut(ours_m, fds)
    assert ours_v.dtype == ref_v.dtype
    np.testing.assert_allclose(ours_v, ref_v, rtol=1e-7, atol=1e-9 * 65536)


ENHANCED = {
    "ENHANCED_CT_2F": STORE_FILES / "eCT_Supplemental.dcm",  # shared Pixel Value Transformation + Frame VOI LUT
    "ENHANCED_MR_LIVER": STORE_FILES / "liver.dcm",
}


def _frame_dataset(pds, k):
    """A single-frame pydicom dataset with frame k's functional group attributes at top level."""
    ds = PDataset()
    for kw in ("PhotometricInterpretation", "BitsStored", "PixelRepresentation"):
        setattr(ds, kw, pds[kw].value)
    groups = []
    if "PerFrameFunctionalGroupsSequence" in pds:
        groups.append(pds.PerFrameFunctionalGroupsSequence[k])
    if "SharedFunctionalGroupsSequence" in pds:
        groups.append(pds.SharedFunctionalGroupsSequence[0])
    for seq_kw in ("PixelValueTransformationSequence", "FrameVOILUTSequence"):
        for g in groups:
            if seq_kw in g:
                for elem in g[seq_kw][0]:
                    ds.add(elem)
                break
    return ds


@pytest.mark.parametrize("name", sorted(ENHANCED))
def test_enhanced_multiframe_per_frame(name):
    path = ENHANCED[name]
    if not path.exists():
        pytest.skip(f"{path.name} is not installed")
    pds = pydicom.dcmread(path)
    fds = dicomfast.dcmread(path)
    arr = pds.pixel_array
    if arr.ndim == 2:
        arr = arr[None]
    frames = [_frame_dataset(pds, k) for k in range(arr.shape[0])]
    ours = dicomfast.apply_modality_lut(arr, fds)
    if not any("RescaleSlope" in f for f in frames):
        assert ours is arr
        return
    for k, f in enumerate(frames):
        np.testing.assert_array_equal(ours[k], pp.apply_modality_lut(arr[k], f))
    if all("WindowCenter" in f for f in frames):
        voi = dicomfast.apply_voi_lut(ours, fds)
        params = frame_parameters(fds)
        win = dicomfast.window(arr, **params)
        for k, f in enumerate(frames):
            ref = pp.apply_voi_lut(pp.apply_modality_lut(arr[k], f), f)
            assert_float_close(voi[k], ref, 2 * 65536 * float(f.get("RescaleSlope", 1)))
            t = reference_t(arr[k], params["center"][k], params["width"][k], params["slope"][k],
                            params["intercept"][k], params["function"])
            assert_rounded(win[k], t, 255.0)


# ------------------------------------------------------------------------------------------------
# the benchmark runs once (benchmarks/bench_transform.py); its times are printed, never asserted


@needs_checkout  # it runs the checkout's benchmark
def test_transform_benchmark_runs():
    bench_dir = ROOT / "benchmarks"
    if str(bench_dir) not in sys.path:
        sys.path.insert(0, str(bench_dir))
    import bench_transform

    result = bench_transform.run(repeat=3, number=1, size=64, threads=2)
    assert result["times"]
    for case, median in result["times"].items():
        assert median > 0, case
    for ratio in result["ratios"].values():
        assert ratio > 0
    assert "dicomfast_window_uint8" in bench_transform.format_report(result)
