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
cimport numpy as cnp
from cpython.float cimport PyFloat_AS_DOUBLE
from cython.parallel cimport prange
from libc.math cimport exp
from libc.stdlib cimport free, malloc
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t

cdef extern from "_half.h" nogil:
    uint16_t df_float_to_half(float value) noexcept

cdef extern from "_window.h" nogil:
    ctypedef struct df_fixed_plan_t:
        pass
    ctypedef struct df_mulhi_plan_t:
        int32_t mode, clamp, mul, s, r
    int df_mulhi_plan(double a2, double b2, int is_signed, df_mulhi_plan_t* plan) noexcept
    Py_ssize_t df_mulhi_run(const void* src, uint8_t* dst, Py_ssize_t n, const df_mulhi_plan_t* plan) noexcept
    enum:
        DF_I8, DF_I16, DF_I32, DF_U8, DF_U16, DF_U32, DF_F32, DF_F64
        DF_OUT_U8, DF_OUT_U16
    int df_have_avx2() noexcept
    int df_fixed_plan(double a2, double b2, int32_t lo, int32_t hi, df_fixed_plan_t* plan) noexcept
    Py_ssize_t df_fixed_run(const void* src, int is_signed, uint8_t* dst, Py_ssize_t n,
                            const df_fixed_plan_t* plan) noexcept
    void df_linear_int(const void* src, int stype, void* dst, int dtype, Py_ssize_t n,
                       double a2, double b2, double scale) noexcept

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

cnp.import_array()

FUNC_LINEAR = 0
FUNC_STEP = 1
FUNC_SIGMOID = 2
HALF = 1  # with a uint16 destination: store binary16 bits rather than rounded integers
#: Whether the 16-bit fixed-point loop of _window.h can run here (AVX2).
HAVE_FIXED = bool(df_have_avx2())
cdef bint _have_fixed = HAVE_FIXED
# Below this many elements the fixed-point plan (a few microseconds) costs more than it saves.
cdef Py_ssize_t _FIXED_MIN = 8192
# Elements per OpenMP chunk of the linear window (a multiple of 32, the fixed-point loop's step):
# below two chunks the loop stays on the calling thread, where waking a team costs more than it saves.
cdef Py_ssize_t _CHUNK = 1 << 17
#: Threads for the linear window of large arrays (1: serial). Set by set_num_threads.
cdef int _threads = 1


def _serial_after_fork():
    # GNU libgomp's thread pool does not survive fork(): a child that enters a parallel region
    # after its parent used one hangs. A forked child (a DataLoader worker) windows serially.
    global _threads
    _threads = 1


import os as _os
_os.register_at_fork(after_in_child=_serial_after_fork)


def set_num_threads(int n):
    """Threads the linear window kernel may use for large arrays (1 turns OpenMP off); returns the old value."""
    global _threads
    if n < 1:
        raise ValueError("n must be at least 1")
    old = _threads
    _threads = n
    return old

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


cdef inline double _value(double x, int func, double a, double b, double a2, double b2,
                         double scale, double offset, int kind) noexcept nogil:
    """One output value before its store: kind 0 integer (to truncate), 1 float, 2 half (to convert)."""
    cdef double t
    if kind == 0:
        if func == F_LINEAR:
            t = x * a2 + b2
            t = t if t > 0.0 else 0.0
            return t if t < scale else scale
        t = _t_of(x, func, a, b)
        t = t if t > 0.0 else 0.0
        return t * scale + 0.5
    t = _t_of(x, func, a, b)
    if func == F_LINEAR:
        t = 0.0 if t < 0.0 else t
        t = 1.0 if t > 1.0 else t
    return t * scale + offset


cdef inline void _store(dst_t* d, Py_ssize_t i, double v, int kind) noexcept nogil:
    if dst_t is uint8_t:
        d[i] = <uint8_t><int32_t>v
    elif dst_t is uint16_t:
        if kind == 2:
            d[i] = df_float_to_half(<float>v)
        else:
            d[i] = <uint16_t><int32_t>v
    else:
        d[i] = <dst_t>v


cdef inline int _stype(const src_t* s) noexcept nogil:
    if src_t is int8_t:
        return DF_I8
    elif src_t is int16_t:
        return DF_I16
    elif src_t is int32_t:
        return DF_I32
    elif src_t is uint8_t:
        return DF_U8
    elif src_t is uint16_t:
        return DF_U16
    elif src_t is uint32_t:
        return DF_U32
    elif src_t is float:
        return DF_F32
    else:
        return DF_F64


# The 16-bit -> uint8 plans of _window.h: PLAN_MULHI (one pmulhuw per pixel, tried first),
# PLAN_MADD (pmaddwd with patches), or PLAN_NONE (the float64 loop).
cdef enum:
    PLAN_NONE = 0
    PLAN_MULHI = 1
    PLAN_MADD = 2

ctypedef struct plan_t:
    int kind
    df_mulhi_plan_t mulhi
    df_fixed_plan_t madd

# The last plan made, per input signedness: a series or a data loader windows slice after slice
# with the same parameters, and a plan costs a few microseconds. Read and written with the GIL held.
cdef double _cache_a2[2]
cdef double _cache_b2[2]
cdef plan_t _cache_plan[2]
cdef bint _cache_valid[2]
_cache_valid[0] = False
_cache_valid[1] = False


cdef void _make_plan(double a2, double b2, bint is_signed, plan_t* plan) noexcept:
    """The fastest exact plan for the linear window of int16 (is_signed) or uint16 to uint8, cached.

    Called with the GIL held (the cache is shared)."""
    cdef int k = 1 if is_signed else 0
    if _cache_valid[k] and _cache_a2[k] == a2 and _cache_b2[k] == b2:
        plan[0] = _cache_plan[k]
        return
    plan.kind = PLAN_NONE
    if df_mulhi_plan(a2, b2, is_signed, &plan.mulhi):
        plan.kind = PLAN_MULHI
    elif df_fixed_plan(a2, b2, -32768 if is_signed else 0, 32767 if is_signed else 65535, &plan.madd):
        plan.kind = PLAN_MADD
    _cache_a2[k] = a2
    _cache_b2[k] = b2
    _cache_plan[k] = plan[0]
    _cache_valid[k] = True


def plan_kind(double a2, double b2, bint is_signed):
    """Which loop the linear window of int16 (``is_signed``) or uint16 input to uint8 takes for the
    folded map ``x * a2 + b2`` (for tests and benchmarks): ``"float64"``, ``"madd"`` (kernel 2 of
    ``_window.h``), or for kernel 3 ``"mulhi"`` plus ``"-clamped"`` when it clamps both sides,
    ``"-hrs"``/``"-signed"``/``"-unsigned"`` for its multiply, ``"-s<n>"``/``"-r<n>"`` for its shifts."""
    cdef plan_t plan
    _make_plan(a2, b2, is_signed, &plan)
    if plan.kind != PLAN_MULHI:
        return ("float64", "mulhi", "madd")[plan.kind]
    name = "mulhi" + ("-clamped" if plan.mulhi.clamp else "")
    name += ("-unsigned", "-signed", "-hrs")[plan.mulhi.mul]
    if plan.mulhi.s:
        name += f"-s{plan.mulhi.s}"
    if plan.mulhi.r:
        name += f"-r{plan.mulhi.r}"
    return name


cdef void _linear_int(const src_t* s, dst_t* d, Py_ssize_t n, double a2, double b2, double scale,
                      const plan_t* plan) noexcept nogil:
    """The linear window to uint8/uint16 over n elements, through ``plan`` where there is one."""
    cdef Py_ssize_t c, nchunks = (n + _CHUNK - 1) // _CHUNK
    cdef int threads = _threads if _threads < nchunks else <int>nchunks
    if threads <= 1:
        _linear_chunk(s, d, n, a2, b2, scale, plan)
        return
    for c in prange(nchunks, num_threads=threads, schedule="static"):
        _linear_chunk(s + c * _CHUNK, d + c * _CHUNK, min(_CHUNK, n - c * _CHUNK), a2, b2, scale, plan)


cdef void _linear_chunk(const src_t* s, dst_t* d, Py_ssize_t n, double a2, double b2, double scale,
                        const plan_t* plan) noexcept nogil:
    cdef Py_ssize_t done = 0
    if (src_t is int16_t or src_t is uint16_t) and dst_t is uint8_t:
        if plan != NULL and plan.kind == PLAN_MULHI:
            done = df_mulhi_run(s, <uint8_t*>d, n, &plan.mulhi)
        elif plan != NULL and plan.kind == PLAN_MADD:
            done = df_fixed_run(s, src_t is int16_t, <uint8_t*>d, n, &plan.madd)
    if dst_t is uint8_t:
        df_linear_int(s + done, _stype(s), d + done, DF_OUT_U8, n - done, a2, b2, scale)
    elif dst_t is uint16_t:
        df_linear_int(s + done, _stype(s), d + done, DF_OUT_U16, n - done, a2, b2, scale)


def window(const src_t[::1] src, dst_t[::1] dst, int func, double a, double b,
           double scale, double offset, bint half=False, bint fixed=True):
    """dst[i] = output(t(src[i])) for every i; see the module docstring. len(dst) == len(src).

    The linear window to uint8/uint16 runs the loops of ``_window.h`` (an AVX2 clone where the CPU
    has it; for 16-bit input to uint8 a fixed-point plan, identical in output, unless ``fixed`` is
    false, which tests use to compare the two).

    Elsewhere (sigmoid, the width-1 step, float and half outputs), 8- and 16-bit integer inputs go
    through a table of the outputs of every value between the input's minimum and maximum, when that
    table is smaller than a quarter of the input: the same per-value code fills it, so the results
    are identical, and a sigmoid costs one exp per distinct value.
    """
    cdef Py_ssize_t i, n = src.shape[0]
    if n == 0:
        return
    # Raw pointers in locals: a store through a memoryview may alias the view's own fields, which
    # stops GCC from vectorizing.
    cdef const src_t* s = &src[0]
    cdef dst_t* d = &dst[0]
    cdef dst_t* table = NULL
    cdef int kind = 2 if half else (0 if (dst_t is uint8_t or dst_t is uint16_t) else 1)
    # Scale and the rounding offset folded into the affine map, the clamp on the scaled value, then
    # a truncation through int32 (round half up).
    cdef double a2 = a * scale
    cdef double b2 = b * scale + 0.5
    cdef int32_t lo, hi, v
    cdef bint done = False
    cdef plan_t plan
    plan.kind = PLAN_NONE
    if (src_t is int16_t or src_t is uint16_t) and dst_t is uint8_t:
        if kind == 0 and func == F_LINEAR and fixed and _have_fixed and n >= _FIXED_MIN:
            _make_plan(a2, b2, src_t is int16_t, &plan)
    with nogil:
        if kind == 0 and func == F_LINEAR:
            if dst_t is uint8_t or dst_t is uint16_t:
                _linear_int(s, d, n, a2, b2, scale, &plan)
            done = True
        elif src_t is int8_t or src_t is uint8_t or src_t is int16_t or src_t is uint16_t:
            lo = s[0]
            hi = s[0]
            for i in range(n):
                v = s[i]
                lo = v if v < lo else lo
                hi = v if v > hi else hi
            if (<Py_ssize_t>(hi - lo) + 1) * 4 <= n:
                table = <dst_t*>malloc((hi - lo + 1) * sizeof(dst_t))
            if table != NULL:
                for v in range(lo, hi + 1):
                    _store(table, v - lo, _value(<double>v, func, a, b, a2, b2, scale, offset, kind), kind)
                for i in range(n):
                    d[i] = table[s[i] - lo]
                free(table)
                done = True
        if not done:
            for i in range(n):
                _store(d, i, _value(<double>s[i], func, a, b, a2, b2, scale, offset, kind), kind)


ctypedef fused real_t:
    float
    double


def rescale(const src_t[::1] src, real_t[::1] dst, double slope, double intercept):
    """dst[i] = float64(src[i]) * slope + intercept, rounded after each operation (as NumPy does),
    then to float32 for a float32 ``dst`` (pydicom's float64 result, cast)."""
    cdef Py_ssize_t i, n = src.shape[0]
    cdef double v
    if n == 0:
        return
    cdef const src_t* s = &src[0]
    cdef real_t* d = &dst[0]
    with nogil:
        for i in range(n):
            v = <double>s[i] * slope
            d[i] = <real_t>(v + intercept)


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


cdef inline bint _plain_number(object v, double* out) noexcept:
    """A finite Python float or int (not bool, not a subclass) as a double."""
    if type(v) is float:
        out[0] = PyFloat_AS_DOUBLE(v)
    elif type(v) is int:
        try:
            out[0] = <double>v
        except OverflowError:
            return False
    else:
        return False
    return out[0] - out[0] == 0.0   # finite


def window_linear_u8(object arr, object out, object center, object width, object slope, object intercept):
    """The common call of ``dicomfast.window`` with its checks done here, in C: a LINEAR window with
    width > 1 of a C-contiguous native int16 or uint16 ndarray into a given uint8 ``out`` of its shape
    (C-contiguous, writeable, not overlapping), the four parameters plain finite numbers.

    Returns ``out`` when it did the work, or None when the call is not of that form (the caller then
    takes the general path, which also gives the errors).
    """
    cdef double c, w, sl, ic
    if not (_plain_number(center, &c) and _plain_number(width, &w) and _plain_number(slope, &sl)
            and _plain_number(intercept, &ic)) or not w > 1.0:
        return None
    if type(arr) is not cnp.ndarray or type(out) is not cnp.ndarray:
        return None
    cdef cnp.ndarray src = <cnp.ndarray>arr
    cdef cnp.ndarray dst = <cnp.ndarray>out
    cdef int t = cnp.PyArray_TYPE(src)
    if t != cnp.NPY_INT16 and t != cnp.NPY_UINT16:
        return None
    if cnp.PyArray_TYPE(dst) != cnp.NPY_UINT8 or not cnp.PyArray_ISNOTSWAPPED(src):
        return None
    if not (cnp.PyArray_IS_C_CONTIGUOUS(src) and cnp.PyArray_IS_C_CONTIGUOUS(dst)
            and cnp.PyArray_ISWRITEABLE(dst)):
        return None
    cdef int nd = cnp.PyArray_NDIM(src), i
    if cnp.PyArray_NDIM(dst) != nd:
        return None
    for i in range(nd):
        if cnp.PyArray_DIM(src, i) != cnp.PyArray_DIM(dst, i):
            return None
    cdef Py_ssize_t n = cnp.PyArray_SIZE(src)
    cdef const char* sp = <const char*>cnp.PyArray_DATA(src)
    cdef char* dp = <char*>cnp.PyArray_DATA(dst)
    if n > 0 and dp < sp + 2 * n and sp < dp + n:
        return None   # overlapping: the general path decides
    # The same arithmetic as transforms._window_coefficients ("LINEAR") and window() above.
    cdef double a = sl / (w - 1.0)
    cdef double b = (ic - (c - 0.5)) / (w - 1.0) + 0.5
    cdef double a2 = a * 255.0
    cdef double b2 = b * 255.0 + 0.5
    cdef plan_t plan
    plan.kind = PLAN_NONE
    if n == 0:
        return out
    if _have_fixed and n >= _FIXED_MIN:
        _make_plan(a2, b2, t == cnp.NPY_INT16, &plan)
    with nogil:
        if t == cnp.NPY_INT16:
            _linear_int(<const int16_t*>sp, <uint8_t*>dp, n, a2, b2, 255.0, &plan)
        else:
            _linear_int(<const uint16_t*>sp, <uint8_t*>dp, n, a2, b2, 255.0, &plan)
    return out
