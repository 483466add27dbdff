"""Compiled kernels of the pixel value transforms (modality LUT, rescale, VOI LUT, windowing).

The kernels trust their inputs: ``dicomfast/transforms.py`` checks dtypes, shapes, contiguity and
parameters and hands over flat C-contiguous arrays (inputs as ``const`` memoryviews, so read-only
arrays work). Every loop runs without the GIL.

Input and output dtypes vary independently: ``src_t`` and ``dst_t`` are two fused types, so Cython
compiles every (input, output) pair.

Window functions, as ``t`` in [0, 1] of the stored value ``x`` (the caller folds rescale and the
window into ``a`` and ``b``):

* ``FUNC_LINEAR`` (LINEAR with width > 1, and LINEAR_EXACT): ``t = clip(x * a + b, 0, 1)``
* ``FUNC_STEP`` (LINEAR with width == 1): ``t = 1 if x * a + b > 0 else 0``
* ``FUNC_SIGMOID``: ``t = 1 / (1 + exp(x * a + b))``

Integer outputs are ``floor(t * scale + 0.5)`` (round half up; NaN gives 0); float outputs are
``t * scale + offset`` (NaN stays NaN); half outputs are ``t * scale + offset`` rounded to binary16.
"""
from libc.math cimport exp
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t

cdef extern from "_half.h" nogil:
    uint16_t df_float_to_half(float value) noexcept

ctypedef fused src_t:
    int8_t
    int16_t
    int32_t
    uint8_t
    uint16_t
    uint32_t
    float
    double

# Declared separately so that it varies independently of src_t (the cross product).
ctypedef fused dst_t:
    uint8_t
    uint16_t
    float
    double

ctypedef fused lut_t:
    uint8_t
    uint16_t

FUNC_LINEAR = 0
FUNC_STEP = 1
FUNC_SIGMOID = 2
HALF = 1  # with a uint16 destination: store binary16 bits rather than rounded integers

cdef enum:
    F_LINEAR = 0
    F_STEP = 1
    F_SIGMOID = 2


cdef inline double _t_of(double x, int func, double a, double b) noexcept nogil:
    cdef double t = x * a + b
    if func == F_LINEAR:
        return t
    if func == F_STEP:
        return 1.0 if t > 0.0 else 0.0
    return 1.0 / (1.0 + exp(t))


def window(const src_t[::1] src, dst_t[::1] dst, int func, double a, double b,
           double scale, double offset, bint half=False):
    """dst[i] = output(t(src[i])) for every i; see the module docstring. len(dst) == len(src)."""
    cdef Py_ssize_t i, n = src.shape[0]
    cdef double t, a2, b2
    with nogil:
        if dst_t is uint8_t or dst_t is uint16_t:
            if half:
                if dst_t is uint16_t:
                    for i in range(n):
                        t = _t_of(<double>src[i], func, a, b)
                        if func == F_LINEAR:
                            t = 0.0 if t < 0.0 else t
                            t = 1.0 if t > 1.0 else t
                        dst[i] = df_float_to_half(<float>(t * scale + offset))
            elif func == F_LINEAR:
                # The hot loop. Scale and the rounding offset are folded into the affine map, and
                # the clamp is on the scaled value followed by a truncation through int32: the form
                # that GCC vectorizes (clamping t to [0, 1] first, then scaling, it does not).
                a2 = a * scale
                b2 = b * scale + 0.5
                for i in range(n):
                    t = <double>src[i] * a2 + b2
                    t = t if t > 0.0 else 0.0
                    t = t if t < scale else scale
                    dst[i] = <dst_t><int32_t>t
            else:
                for i in range(n):
                    t = _t_of(<double>src[i], func, a, b)
                    t = t if t > 0.0 else 0.0
                    dst[i] = <dst_t>(t * scale + 0.5)
        else:
            if func == F_LINEAR:
                for i in range(n):
                    t = <double>src[i] * a + b
                    t = 0.0 if t < 0.0 else t
                    t = 1.0 if t > 1.0 else t
                    dst[i] = <dst_t>(t * scale + offset)
            else:
                for i in range(n):
                    t = _t_of(<double>src[i], func, a, b)
                    dst[i] = <dst_t>(t * scale + offset)


def rescale(const src_t[::1] src, double[::1] dst, double slope, double intercept):
    """dst[i] = float64(src[i]) * slope + intercept, rounded after each operation (as NumPy does)."""
    cdef Py_ssize_t i, n = src.shape[0]
    cdef double v
    with nogil:
        for i in range(n):
            v = <double>src[i] * slope
            dst[i] = v + intercept


def lookup(const src_t[::1] src, const lut_t[::1] lut, lut_t[::1] dst, int64_t first_map):
    """dst[i] = lut[clip(src[i] - first_map, 0, len(lut) - 1)]; values below first_map (and NaN) map to lut[0].

    Float values are truncated toward zero after subtracting first_map (in the input's precision,
    as NumPy would). ``lut`` is not empty.
    """
    cdef Py_ssize_t i, n = src.shape[0]
    cdef int64_t last = lut.shape[0] - 1
    cdef int64_t k
    cdef double d
    with nogil:
        for i in range(n):
            if src_t is float:
                # In float32, as NumPy subtracts a Python int from a float32 array (pydicom does).
                d = <double>(src[i] - <float>first_map)
            elif src_t is double:
                d = src[i] - <double>first_map
            if src_t is float or src_t is double:
                if not (d >= 0.0):
                    k = 0
                elif d >= <double>last:
                    k = last
                else:
                    k = <int64_t>d
            else:
                k = <int64_t>src[i] - first_map
                k = 0 if k < 0 else k
                k = last if k > last else k
            dst[i] = lut[k]
