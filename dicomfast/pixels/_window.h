/* Inner loops of dicomfast.window: plain pointer loops over one contiguous block.
 *
 * Used by dicomfast/_transform.pyx, which validates nothing further: pointers are valid for n
 * elements and do not overlap except element for element. Every function here runs without the GIL.
 *
 * Three kernels for the linear window to an integer dtype ("kind 0" in _transform.pyx); for 16-bit
 * input to uint8, _transform.pyx tries a plan of kernel 3, then of kernel 2, then runs kernel 1:
 *
 * 1. df_linear_int: the reference. For each x, v = (double)x * a2 + b2 (a multiply then an add, two
 *    roundings: setup.py builds with -ffp-contract=off so no clone fuses them into an FMA, and every
 *    machine gives the same bits), clamped to [0, scale] and truncated. Plain loops that GCC
 *    vectorizes; target_clones adds an AVX2 copy chosen at load time.
 *
 * 2. df_fixed_*: 16-bit integer input to uint8, in 16-bit SIMD lanes (16 per AVX2 register,
 *    against 4 doubles). For integer x the output is a non-decreasing step function of x (a2 > 0),
 *    constant below the window and above it, so only the N + 1 values x_off .. x_off + N in between
 *    matter. df_fixed_plan evaluates the reference there and fits
 *        out(u) = (u * P + C * M) >> K,   u = clamp(x - x_off, 0, N),
 *    with P, C 16-bit and M a power of two (one pmaddwd of the pairs (u, M) and (P, C)); the few u where the fit
 *    differs from the reference (near ties) are stored and patched by compare-and-blend. The plan
 *    covers every u, and u saturates outside [0, N] where the reference is constant, so the output is
 *    identical to kernel 1 for every input. When no plan fits (window too wide, too many patches,
 *    a2 <= 0) or the CPU has no AVX2, the caller uses kernel 1.
 *
 * 3. df_mulhi_*: 16-bit integer input to uint8 with one 16-bit multiply (pmulhuw/pmulhw/pmulhrsw)
 *    per pixel and no unpacking: 3 to 5 operations per 16 pixels against about 10 for kernel 2, so
 *    about 2x faster on a CPU that executes 256-bit AVX2 as two halves; exact by the same argument
 *    (a plan checked against kernel 1 on every value that matters). See its section below.
 */
#ifndef DICOMFAST_WINDOW_H
#define DICOMFAST_WINDOW_H

#include <stddef.h>
#include <stdint.h>
#include <math.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define DF_X86 1
#include <immintrin.h>
#define DF_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DF_X86 0
#define DF_CLONES
#endif

/* Source dtype codes (the order of the fused src_t in _transform.pyx does not matter: these are ours). */
enum { DF_I8 = 0, DF_I16, DF_I32, DF_U8, DF_U16, DF_U32, DF_F32, DF_F64 };
/* Destination dtype codes for df_linear_int. */
enum { DF_OUT_U8 = 0, DF_OUT_U16 = 1 };

#define DF_LINEAR_LOOP(S, D)                                                   \
    do {                                                                       \
        const S* s_ = (const S*)src;                                           \
        D* d_ = (D*)dst;                                                       \
        for (ptrdiff_t i = 0; i < n; i++) {                                    \
            double t = (double)s_[i] * a2 + b2;                                \
            t = t > 0.0 ? t : 0.0; /* NaN gives 0 */                           \
            t = t < scale ? t : scale;                                         \
            d_[i] = (D)(int32_t)t;                                             \
        }                                                                      \
    } while (0)

#define DF_LINEAR_CASES(D)                                                     \
    switch (stype) {                                                           \
    case DF_I8: DF_LINEAR_LOOP(int8_t, D); break;                              \
    case DF_I16: DF_LINEAR_LOOP(int16_t, D); break;                            \
    case DF_I32: DF_LINEAR_LOOP(int32_t, D); break;                            \
    case DF_U8: DF_LINEAR_LOOP(uint8_t, D); break;                             \
    case DF_U16: DF_LINEAR_LOOP(uint16_t, D); break;                           \
    case DF_U32: DF_LINEAR_LOOP(uint32_t, D); break;                           \
    case DF_F32: DF_LINEAR_LOOP(float, D); break;                              \
    default: DF_LINEAR_LOOP(double, D); break;                                 \
    }

/* dst[i] = trunc(clamp((double)src[i] * a2 + b2, 0, scale)) for the linear window to uint8/uint16. */
DF_CLONES static void df_linear_int(const void* src, int stype, void* dst, int dtype, ptrdiff_t n,
                                    double a2, double b2, double scale)
{
    if (dtype == DF_OUT_U8) {
        DF_LINEAR_CASES(uint8_t)
    } else {
        DF_LINEAR_CASES(uint16_t)
    }
}

/* The reference value of one integer input: the loop body above, for the planner. */
static inline int32_t df_linear_one(double x, double a2, double b2, double scale)
{
    double t = x * a2 + b2;
    t = t > 0.0 ? t : 0.0;
    t = t < scale ? t : scale;
    return (int32_t)t;
}

#define DF_FIXED_MAX_SPAN 4096   /* N: values inside the window the planner evaluates */
#define DF_FIXED_MAX_PATCHES 8

typedef struct {
    int32_t x_off;      /* u = clamp(x - x_off, 0, n_span) */
    int32_t n_span;
    int32_t p, c, k;    /* out(u) = (u * p + c * m) >> k */
    int32_t m;          /* a power of two: c * m is the offset, c and m int16 */
    int32_t npatch;
    uint16_t patch_u[DF_FIXED_MAX_PATCHES];
    uint8_t patch_v[DF_FIXED_MAX_PATCHES];
} df_fixed_plan_t;

/* Whether this CPU runs the AVX2 fixed-point loop. */
static int df_have_avx2(void)
{
#if DF_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

static int df_fixed_mismatches(const uint8_t* ref, int32_t n_span, int32_t p, int32_t c, int32_t m,
                               int32_t k, df_fixed_plan_t* plan, int record)
{
    int count = 0;
    for (int32_t u = 0; u <= n_span; u++) {
        int64_t w = ((int64_t)u * p + (int64_t)c * m) >> k;
        int32_t v = w < 0 ? 0 : (w > 255 ? 255 : (int32_t)w);   /* the saturating packs */
        if (v != ref[u]) {
            if (record && count < DF_FIXED_MAX_PATCHES) {
                plan->patch_u[count] = (uint16_t)u;
                plan->patch_v[count] = ref[u];
            }
            count++;
        }
    }
    return count;
}

/* Fit a fixed-point plan for the linear window to uint8 (scale 255) of 16-bit integers in
 * [lo, hi] (the dtype's range).
 * Returns 1 with *plan filled, or 0 when no plan fits (the caller then uses df_linear_int). */
static int df_fixed_plan(double a2, double b2, int32_t lo, int32_t hi, df_fixed_plan_t* plan)
{
    uint8_t ref[DF_FIXED_MAX_SPAN + 1];
    if (!(a2 > 0.0) || !isfinite(a2) || !isfinite(b2)) {
        return 0;
    }
    /* First x whose output is >= 1 and first whose output is 255, from the real-valued line,
     * then corrected by the reference itself (the line may be off by rounding). */
    double xa_real = ceil((1.0 - b2) / a2), xb_real = ceil((255.0 - b2) / a2);
    if (!(xa_real > lo - 2.0 && xb_real < hi + 2.0 && xb_real - xa_real < DF_FIXED_MAX_SPAN - 8)) {
        return 0;   /* the window is (mostly) outside the dtype's range, or too wide */
    }
    int32_t xa = (int32_t)xa_real, xb = (int32_t)xb_real;
    while (xa > lo && df_linear_one(xa - 1, a2, b2, 255.0) >= 1) xa--;
    while (xa <= hi && df_linear_one(xa, a2, b2, 255.0) < 1) xa++;
    while (xb > lo && df_linear_one(xb - 1, a2, b2, 255.0) >= 255) xb--;
    while (xb <= hi && df_linear_one(xb, a2, b2, 255.0) < 255) xb++;
    int32_t x_off = xa - 1 < lo ? lo : xa - 1;
    int32_t x_end = xb > hi ? hi : xb;
    int32_t n_span = x_end - x_off;
    if (n_span < 1 || n_span > DF_FIXED_MAX_SPAN) {
        return 0;
    }
    for (int32_t u = 0; u <= n_span; u++) {
        ref[u] = (uint8_t)df_linear_one((double)(x_off + u), a2, b2, 255.0);
    }
    /* The largest k with p = a2 * 2**k inside int16; u * p + c * m then fits in int32
     * (u <= 4096, |c * m| < 2**20). */
    int32_t k = 0;
    while (k < 30 && a2 * ldexp(1.0, k + 1) < 32767.0) k++;
    /* The offset is c * m with c int16 and m = 2**s: the smallest s that fits. */
    double c_real = ((double)x_off * a2 + b2) * ldexp(1.0, k);
    int32_t p0 = (int32_t)lrint(a2 * ldexp(1.0, k));
    int32_t sh = 0;
    while (sh < 14 && !(fabs(c_real) < ldexp(32000.0, sh))) sh++;
    if (p0 < 1 || p0 > 32767 || !(fabs(c_real) < ldexp(32000.0, sh))) {
        return 0;
    }
    int32_t m = 1 << sh;
    /* For each slope near the rounded one, the offsets that satisfy every u form an interval
     * (floor(w / 2**k) == ref[u] is two linear inequalities, one where ref saturates): take a c
     * inside it, or, when it is empty, the c at either end or between with fewest differences. */
    int best = -1;
    int32_t best_p = 0, best_c = 0;
    const int64_t one = (int64_t)1 << k;
    for (int32_t dp = 0; dp <= 4 && best != 0; dp++) {
        int32_t p = p0 + (dp & 1 ? (dp + 1) / 2 : -(dp / 2));   /* p0, p0+1, p0-1, p0+2, p0-2 */
        if (p < 1 || p > 32767) continue;
        int64_t lo_c = INT64_MIN, hi_c = INT64_MAX;
        for (int32_t u = 0; u <= n_span; u++) {
            int64_t up = (int64_t)u * p;
            if (ref[u] > 0) {       /* w >= ref * 2**k: c * m >= ref * 2**k - u * p */
                int64_t need = (int64_t)ref[u] * one - up;
                int64_t c_min = -((-need) >> sh);                      /* ceil(need / m) */
                if (c_min > lo_c) lo_c = c_min;
            }
            if (ref[u] < 255) {     /* w < (ref + 1) * 2**k */
                int64_t room = ((int64_t)ref[u] + 1) * one - 1 - up;
                int64_t c_max = room >> sh;                            /* floor(room / m) */
                if (c_max < hi_c) hi_c = c_max;
            }
        }
        int64_t tries[3] = {lo_c, hi_c, lo_c / 2 + hi_c / 2};
        for (int t = 0; t < 3 && best != 0; t++) {
            int64_t c = tries[t];
            if (c < -32768 || c > 32767) continue;
            int bad = df_fixed_mismatches(ref, n_span, p, (int32_t)c, m, k, plan, 0);
            if (best < 0 || bad < best) {
                best = bad;
                best_p = p;
                best_c = (int32_t)c;
            }
        }
    }
    if (best < 0 || best > DF_FIXED_MAX_PATCHES) {
        return 0;
    }
    plan->x_off = x_off;
    plan->n_span = n_span;
    plan->p = best_p;
    plan->c = best_c;
    plan->k = k;
    plan->m = m;
    plan->npatch = df_fixed_mismatches(ref, n_span, best_p, best_c, m, k, plan, 1);
    return 1;
}

#if DF_X86
/* The fixed-point loop over 16-bit integers; flip = 0x8000 for int16 (to unsigned order), 0 for
 * uint16. Handles n rounded down to a multiple of 32 and returns that count; the caller does the
 * rest with df_linear_int (identical results). */
__attribute__((target("avx2")))
static ptrdiff_t df_fixed_avx2(const uint16_t* src, uint16_t flip, uint8_t* dst, ptrdiff_t n,
                               const df_fixed_plan_t* plan)
{
    const __m256i vflip = _mm256_set1_epi16((short)flip);
    const __m256i voff = _mm256_set1_epi16((short)(uint16_t)((uint32_t)plan->x_off ^ flip));
    const __m256i vspan = _mm256_set1_epi16((short)plan->n_span);
    const __m256i ones = _mm256_set1_epi16((short)plan->m);
    const __m256i pc = _mm256_set1_epi32((int)(((uint32_t)(uint16_t)plan->c << 16) | (uint16_t)plan->p));
    const __m128i shift = _mm_cvtsi32_si128(plan->k);
    __m256i pu[DF_FIXED_MAX_PATCHES], pv[DF_FIXED_MAX_PATCHES];
    const int npatch = plan->npatch;
    for (int j = 0; j < npatch; j++) {
        pu[j] = _mm256_set1_epi16((short)plan->patch_u[j]);
        pv[j] = _mm256_set1_epi16((short)plan->patch_v[j]);
    }
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i x0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)(src + i)), vflip);
        __m256i x1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)(src + i + 16)), vflip);
        __m256i r[2];
        for (int h = 0; h < 2; h++) {
            __m256i u = _mm256_min_epu16(_mm256_subs_epu16(h ? x1 : x0, voff), vspan);
            __m256i wl = _mm256_madd_epi16(_mm256_unpacklo_epi16(u, ones), pc);
            __m256i wh = _mm256_madd_epi16(_mm256_unpackhi_epi16(u, ones), pc);
            __m256i v = _mm256_packs_epi32(_mm256_sra_epi32(wl, shift), _mm256_sra_epi32(wh, shift));
            for (int j = 0; j < npatch; j++) {
                v = _mm256_blendv_epi8(v, pv[j], _mm256_cmpeq_epi16(u, pu[j]));
            }
            r[h] = v;
        }
        /* packus works within 128-bit lanes: put the two halves' quadwords back in order. */
        __m256i out = _mm256_permute4x64_epi64(_mm256_packus_epi16(r[0], r[1]), 0xD8);
        _mm256_storeu_si256((__m256i*)(dst + i), out);
    }
    return i;
}
#endif

/* The whole 16-bit -> uint8 linear window through the plan where AVX2 exists; returns the number of
 * leading elements done (a multiple of 32, possibly 0). */
static ptrdiff_t df_fixed_run(const void* src, int is_signed, uint8_t* dst, ptrdiff_t n,
                              const df_fixed_plan_t* plan)
{
#if DF_X86
    return df_fixed_avx2((const uint16_t*)src, is_signed ? 0x8000u : 0u, dst, n, plan);
#else
    (void)src; (void)is_signed; (void)dst; (void)n; (void)plan;
    return 0;
#endif
}


/* 3. df_mulhi_*: 16-bit integer input to uint8 with one 16-bit multiply per pixel and no unpacking,
 *    three to five AVX2 operations per 16 pixels (kernel 2 takes about ten): tried first.
 *
 *    y  = adds(x, A): saturation pins every x >= x_top to the type's top, so that y = x - x_top + top
 *         below it (for int16 windows below zero, subs(x, A) pins x <= x_bot to the bottom instead);
 *         [clamped variants] then max (min) with L clamps the other side at the window's edge, and
 *         y' = y << s (mod 2**16) for slopes above 1 (narrow windows);
 *    z  = the high half of y' * P: pmulhuw (unsigned), pmulhw (signed), or pmulhrsw (signed,
 *         floor((2 y P + 2**15) / 2**16)), whichever keeps P largest;
 *    t  = z + C (mod 2**16), read as int16; out = packus(t >> r) (arithmetic shift; r = 0, no shift,
 *         for slopes from 1/2 to 1: the soft-tissue windows of CT stored values).
 *
 *    The unclamped variants (three operations: adds, multiply, add) leave the values below the window
 *    unclamped: t falls with x down to the type's minimum and packus maps all of them to 0, as long as
 *    t does not wrap, which the planner checks at the minimum (t is monotone in x).
 *
 *    Since floor((floor(w / 2**16) + C) / 2**r) = floor((w + C * 2**16) / 2**(16 + r)) for integer C,
 *    out(x) is exactly floor((w(x) + C * 2**16) / 2**(16 + r)), w = y'P (or 2yP + 2**15): a line of
 *    15- or 16-bit slope whose offset is C (steps of 2**-r of an output unit) plus where the pin sits
 *    (x_top, or x_bot, moved by k values outside the window: steps of one slope, which, P being an
 *    integer, fall in between). For each P near the ideal slope, the offsets that satisfy every x of
 *    the window are one interval (two inequalities per x, exact in 64-bit integers); the planner takes
 *    the first (P, k, C) inside it, then checks the plan by emulating its operations on every x from
 *    below the window to beyond the pin, and at the type's minimum and maximum. So, as kernel 2, it is
 *    identical to kernel 1.
 */
enum { DF_PIN_TOP_S = 0, DF_PIN_BOTTOM_S = 1, DF_PIN_TOP_U = 2 };
enum { DF_MUL_HI_U = 0, DF_MUL_HI_S = 1, DF_MUL_HRS_S = 2 };
#define DF_MULHI_MAX_SPAN 8192

typedef struct {
    int32_t mode;       /* DF_PIN_*: int16 pinned at the top or bottom, uint16 pinned at the top */
    int32_t clamp;      /* whether the max (min) with l clamps the other side */
    int32_t mul;        /* DF_MUL_* */
    uint16_t a;         /* the saturating add (sub) constant */
    uint16_t l;         /* the bound of the max (min) */
    uint16_t p;         /* the multiplier */
    uint16_t c;         /* added after the multiply, mod 2**16 */
    int32_t s, r;       /* left shift before the multiply (slopes above 1), right shift after (below 1/2) */
} df_mulhi_plan_t;

/* y' of one value: the saturation, the clamp and the shift, as a signed (DF_MUL_HI_S, DF_MUL_HRS_S)
 * or unsigned (DF_MUL_HI_U) 16-bit lane. */
static inline int32_t df_mulhi_y(int32_t x, const df_mulhi_plan_t* q)
{
    int32_t y;
    if (q->mode == DF_PIN_TOP_U) {
        y = x + q->a;
        y = y > 65535 ? 65535 : y;                               /* adds_epu16 */
        if (q->clamp) y = y > q->l ? y : q->l;                   /* max_epu16 */
    } else if (q->mode == DF_PIN_TOP_S) {
        y = x + (int16_t)q->a;
        y = y > 32767 ? 32767 : (y < -32768 ? -32768 : y);       /* adds_epi16 */
        if (q->clamp) y = y > (int16_t)q->l ? y : (int16_t)q->l; /* max_epi16 */
    } else {
        y = x - (int16_t)q->a;
        y = y > 32767 ? 32767 : (y < -32768 ? -32768 : y);       /* subs_epi16 */
        if (q->clamp) y = y < (int16_t)q->l ? y : (int16_t)q->l; /* min_epi16 */
    }
    uint32_t y2 = ((uint32_t)(uint16_t)y << q->s) & 0xFFFFu;      /* sll_epi16 */
    return q->mul == DF_MUL_HI_U ? (int32_t)y2 : (int32_t)(int16_t)y2;
}

/* z of y': the high half of the product, as the multiply instruction gives it. */
static inline int64_t df_mulhi_z(int64_t y, int mul, int64_t p)
{
    if (mul == DF_MUL_HRS_S) {
        return (2 * y * p + 32768) >> 16;      /* pmulhrsw: floor((2yP + 2**15) / 2**16) */
    }
    return (y * p) >> 16;                      /* pmulhuw / pmulhw (arithmetic: floor) */
}

/* One value through the plan's operations, exactly as the AVX2 loop computes it. */
static inline int32_t df_mulhi_one(int32_t x, const df_mulhi_plan_t* q)
{
    int64_t z = df_mulhi_z(df_mulhi_y(x, q), q->mul, q->mul == DF_MUL_HI_U ? q->p : (int16_t)q->p);
    uint32_t t = (uint32_t)(z + q->c) & 0xFFFFu;                 /* add_epi16 */
    int32_t v = (int16_t)(uint16_t)t >> q->r;                    /* sra_epi16 */
    return v < 0 ? 0 : (v > 255 ? 255 : v);                      /* packus_epi16 */
}

/* The window's edges for 16-bit integers in [lo, hi]: x_off (the last x whose output is 0, or lo) and
 * x_end (the first whose output is 255, or hi), from the real-valued line corrected by the reference. */
static int df_window_edges(double a2, double b2, int32_t lo, int32_t hi, int32_t max_span,
                           int32_t* x_off_out, int32_t* x_end_out)
{
    if (!(a2 > 0.0) || !isfinite(a2) || !isfinite(b2)) {
        return 0;
    }
    /* The window may reach past the type's range on either side: only the part inside matters. */
    double xa_real = fmax(ceil((1.0 - b2) / a2), lo), xb_real = fmin(ceil((255.0 - b2) / a2), hi + 1.0);
    if (!(xa_real <= hi && xb_real >= lo && xb_real - xa_real < max_span - 8)) {
        return 0;   /* the window is outside the type's range (a constant image), or too wide */
    }
    int32_t xa = (int32_t)xa_real, xb = (int32_t)xb_real;
    while (xa > lo && df_linear_one(xa - 1, a2, b2, 255.0) >= 1) xa--;
    while (xa <= hi && df_linear_one(xa, a2, b2, 255.0) < 1) xa++;
    while (xb > lo && df_linear_one(xb - 1, a2, b2, 255.0) >= 255) xb--;
    while (xb <= hi && df_linear_one(xb, a2, b2, 255.0) < 255) xb++;
    int32_t x_off = xa - 1 < lo ? lo : xa - 1;
    int32_t x_end = xb > hi ? hi : xb;
    if (x_end - x_off < 1 || x_end - x_off > max_span) {
        return 0;
    }
    *x_off_out = x_off;
    *x_end_out = x_end;
    return 1;
}

/* Try one variant (mode, clamp, mul, s, r) of the plan around the slope p0; 1 with *q filled and
 * checked. ref holds the reference outputs of x_off .. x_end. */
static int df_mulhi_try(double a2, double b2, int is_signed, int32_t x_off, int32_t x_end,
                        const uint8_t* ref, int mode, int clamp, int mul, int32_t s, int32_t r,
                        int32_t p0, df_mulhi_plan_t* q)
{
    const int32_t lo = is_signed ? -32768 : 0, hi = is_signed ? 32767 : 65535;
    const int32_t n_span = x_end - x_off;
    const int top = mode != DF_PIN_BOTTOM_S;
    const int is_u = mul == DF_MUL_HI_U;
    const int32_t p_max = is_u ? 65535 : 32767;
    /* y' at the pinned end for k = 0 (the type's top or bottom, shifted, in the multiply's domain),
     * and the range y' must stay in over the window. */
    int64_t y_pin;
    if (top) {
        y_pin = ((int64_t)(mode == DF_PIN_TOP_U ? 0xFFFF : 0x7FFF) << s) & 0xFFFF;
    } else {
        y_pin = ((int64_t)0x8000 << s) & 0xFFFF;
    }
    if (!is_u && y_pin > 32767) y_pin -= 65536;
    const int64_t y_lo = is_u ? 0 : -32768, y_hi = is_u ? 65535 : 32767;
    const int64_t step = (int64_t)1 << s;
    /* Largest k: y' stays inside its range over the window, the pin inside the type; and a bound on
     * the search (a fit is usually found within about n_span steps). */
    int64_t k_max = top ? (y_pin - y_lo) / step - n_span : (y_hi - y_pin) / step - n_span;
    int64_t room = top ? 65535 - (int64_t)x_end          /* x_top <= 65535 */
                       : (int64_t)x_off + 32768;         /* x_bot >= -32768 */
    if (room < k_max) k_max = room;
    if (k_max > 4 * n_span + 256) k_max = 4 * n_span + 256;
    if (k_max < 0) {
        return 0;
    }
    /* t = z + C is read as an int16 (its arithmetic shift packed with unsigned saturation): any t
     * below 2**r gives 0, any t from 255 * 2**r gives 255. */
    const int64_t t_min = -32768, t_max = 32767;
    const int64_t one = (int64_t)1 << 16;
    for (int32_t dp = 0; dp <= 12; dp++) {
        int32_t p = p0 + (dp & 1 ? (dp + 1) / 2 : -(dp / 2));     /* p0, p0+1, p0-1, p0+2, ... */
        if (p < 1 || p > p_max) continue;
        /* w = what z is the floor of, times 2**16; one step of k moves it by qk. */
        const int64_t qk = (mul == DF_MUL_HRS_S ? 2 * (int64_t)p : (int64_t)p) << s;
        /* The interval of C * 2**16 -+ k * qk satisfying every x of the window, with w at k = 0. */
        int64_t i_lo = INT64_MIN, i_hi = INT64_MAX;
        for (int32_t u = 0; u <= n_span; u++) {
            int64_t y2 = top ? y_pin - ((int64_t)(n_span - u) << s) : y_pin + ((int64_t)u << s);
            int64_t w = mul == DF_MUL_HRS_S ? 2 * y2 * p + 32768 : y2 * p;
            int64_t v = ref[u];
            int64_t t_lo = v == 0 ? t_min : v << r, t_hi = v == 255 ? t_max : ((v + 1) << r) - 1;
            int64_t a = t_lo * one - w, b = (t_hi + 1) * one - 1 - w;
            if (a > i_lo) i_lo = a;
            if (b < i_hi) i_hi = b;
        }
        if (i_lo > i_hi) continue;
        /* The pinned end (and the values beyond the window on that side) stays in range. */
        const int64_t z_pin = df_mulhi_z(y_pin, mul, p);
        for (int64_t k = 0; k <= k_max; k++) {
            int64_t shift = top ? k * qk : -k * qk;                  /* C * 2**16 must be in [i_lo, i_hi] + shift */
            int64_t lo_c = i_lo + shift, hi_c = i_hi + shift;
            int64_t c = lo_c >= 0 ? (lo_c + one - 1) / one : -((-lo_c) / one);   /* ceil */
            if (c * one > hi_c) continue;
            if (top ? (z_pin + c > t_max) : (z_pin + c < t_min)) continue;
            df_mulhi_plan_t cand;
            cand.mode = mode;
            cand.clamp = clamp;
            cand.mul = mul;
            cand.s = s;
            cand.r = r;
            cand.p = (uint16_t)p;
            cand.c = (uint16_t)(c & 0xFFFF);
            if (top) {
                int32_t x_top = x_end + (int32_t)k;
                int32_t topv = mode == DF_PIN_TOP_U ? 65535 : 32767;
                if (topv - x_top < (mode == DF_PIN_TOP_U ? 0 : -32768)) break;
                cand.a = (uint16_t)(topv - x_top);
                cand.l = (uint16_t)(x_off + (topv - x_top));
            } else {
                int32_t x_bot = x_off - (int32_t)k;
                cand.a = (uint16_t)(x_bot + 32768);
                cand.l = (uint16_t)(x_end - (x_bot + 32768));
            }
            if (!clamp) {
                /* Unclamped below the window: t must not wrap down to the type's minimum. */
                int64_t t_lo = df_mulhi_z(df_mulhi_y(lo, &cand), mul, p) + c;
                if (t_lo < t_min) continue;
            }
            /* Check every x from below the window to beyond the pin (outside, the saturations hold
             * the output constant, as the reference is, or, unclamped, t falls monotonically). */
            int32_t v_lo = (top ? x_off : x_off - (int32_t)k) - 2, v_hi = (top ? x_end + (int32_t)k : x_end) + 2;
            v_lo = v_lo < lo ? lo : v_lo;
            v_hi = v_hi > hi ? hi : v_hi;
            int ok = df_mulhi_one(lo, &cand) == df_linear_one(lo, a2, b2, 255.0)
                     && df_mulhi_one(hi, &cand) == df_linear_one(hi, a2, b2, 255.0);
            for (int32_t x = v_lo; ok && x <= v_hi; x++) {
                int32_t want = x < x_off ? ref[0] : (x > x_end ? ref[n_span] : ref[x - x_off]);
                ok = df_mulhi_one(x, &cand) == want;
            }
            if (ok) {
                *q = cand;
                return 1;
            }
            break;   /* the interval said yes but the check no: should not happen; try the next P */
        }
    }
    return 0;
}

/* The largest r in [0, 7] with a2 * 2**(e + r) rounding inside p_max (e: the multiply's scale). */
static int32_t df_mulhi_r(double a2, int32_t e, int32_t p_max)
{
    int32_t r = 0;
    while (r < 7 && lrint(a2 * ldexp(1.0, e + r + 1)) <= p_max) r++;
    return r;
}

/* Fit a plan of kernel 3 for the linear window to uint8 of int16 (is_signed) or uint16 values: the
 * unclamped variant where it fits, else the clamped one. Returns 1 with *q filled and checked, 0 when
 * none fits (the caller then tries df_fixed_plan). */
static int df_mulhi_plan(double a2, double b2, int is_signed, df_mulhi_plan_t* q)
{
    const int32_t lo = is_signed ? -32768 : 0, hi = is_signed ? 32767 : 65535;
    int32_t x_off, x_end;
    if (!df_window_edges(a2, b2, lo, hi, DF_MULHI_MAX_SPAN, &x_off, &x_end)) {
        return 0;
    }
    const int32_t n_span = x_end - x_off;
    uint8_t ref[DF_MULHI_MAX_SPAN + 1];
    for (int32_t u = 0; u <= n_span; u++) {
        ref[u] = (uint8_t)df_linear_one((double)(x_off + u), a2, b2, 255.0);
    }
    int32_t r, p0;
    /* Unclamped, pinned at the top: slopes below 1. */
    if (a2 * 65536.0 < 65535.0) {
        if (!is_signed) {
            r = df_mulhi_r(a2, 16, 65535);
            p0 = (int32_t)lrint(a2 * ldexp(1.0, 16 + r));
            if (df_mulhi_try(a2, b2, 0, x_off, x_end, ref, DF_PIN_TOP_U, 0, DF_MUL_HI_U, 0, r, p0, q)) return 1;
        } else if (x_end >= 0) {
            int mul = a2 * 32768.0 >= 32767.0 * 0.5 ? DF_MUL_HRS_S : DF_MUL_HI_S;
            int32_t e = mul == DF_MUL_HRS_S ? 15 : 16;
            r = df_mulhi_r(a2, e, 32767);
            p0 = (int32_t)lrint(a2 * ldexp(1.0, e + r));
            if (df_mulhi_try(a2, b2, 1, x_off, x_end, ref, DF_PIN_TOP_S, 0, mul, 0, r, p0, q)) return 1;
        }
    }
    /* Clamped on both sides, unsigned multiply: P in [2**15, 2**16) where possible, s = r = 0 (no
     * shift) for slopes from 1/2 to 1, a left shift s for narrower windows, a right shift r for wider. */
    const int mode = !is_signed ? DF_PIN_TOP_U : (x_end >= 0 ? DF_PIN_TOP_S : DF_PIN_BOTTOM_S);
    int32_t s = 0;
    while (s < 12 && lrint(a2 * ldexp(1.0, 16 - s)) > 65535) s++;
    r = s == 0 ? df_mulhi_r(a2, 16, 65535) : 0;
    p0 = (int32_t)lrint(a2 * ldexp(1.0, 16 - s + r));
    if (p0 < 2 || p0 > 65535 || ((int64_t)(n_span + 1) << s) > 65535) {
        return 0;
    }
    return df_mulhi_try(a2, b2, is_signed, x_off, x_end, ref, mode, 1, DF_MUL_HI_U, s, r, p0, q);
}

#if DF_X86
/* One block of 16: y' (Y), the multiply (MUL), + C, then the arithmetic shift where r > 0 (POST). */
#define DF_MULHI_STEP(Y, MUL, POST, X) POST(_mm256_add_epi16(MUL(Y(X), vp), vc))

#define DF_MULHI_LOOP(Y, MUL, POST)                                                    \
    for (; i + 64 <= n; i += 64) {                                                     \
        __m256i x0 = _mm256_loadu_si256((const __m256i*)(src + i));                    \
        __m256i x1 = _mm256_loadu_si256((const __m256i*)(src + i + 16));               \
        __m256i x2 = _mm256_loadu_si256((const __m256i*)(src + i + 32));               \
        __m256i x3 = _mm256_loadu_si256((const __m256i*)(src + i + 48));               \
        __m256i o0 = _mm256_packus_epi16(DF_MULHI_STEP(Y, MUL, POST, x0),              \
                                         DF_MULHI_STEP(Y, MUL, POST, x1));             \
        __m256i o1 = _mm256_packus_epi16(DF_MULHI_STEP(Y, MUL, POST, x2),              \
                                         DF_MULHI_STEP(Y, MUL, POST, x3));             \
        /* packus works within 128-bit lanes: put the quadwords back in order. */      \
        _mm256_storeu_si256((__m256i*)(dst + i), _mm256_permute4x64_epi64(o0, 0xD8));  \
        _mm256_storeu_si256((__m256i*)(dst + i + 32), _mm256_permute4x64_epi64(o1, 0xD8)); \
    }

/* Saturate, clamp, then (narrow windows only) shift left. Vector shifts run on one pipe of Zen 1,
 * which is why the usual cases have none. */
#define DF_Y_TOP_S(X) _mm256_adds_epi16((X), va)
#define DF_Y_TOP_U(X) _mm256_adds_epu16((X), va)
#define DF_Y_TOP_S_CL(X) _mm256_max_epi16(_mm256_adds_epi16((X), va), vl)
#define DF_Y_BOTTOM_S_CL(X) _mm256_min_epi16(_mm256_subs_epi16((X), va), vl)
#define DF_Y_TOP_U_CL(X) _mm256_max_epu16(_mm256_adds_epu16((X), va), vl)
#define DF_Y_TOP_S_CL_SH(X) _mm256_sll_epi16(DF_Y_TOP_S_CL(X), vs)
#define DF_Y_BOTTOM_S_CL_SH(X) _mm256_sll_epi16(DF_Y_BOTTOM_S_CL(X), vs)
#define DF_Y_TOP_U_CL_SH(X) _mm256_sll_epi16(DF_Y_TOP_U_CL(X), vs)
#define DF_POST_NONE(X) (X)
#define DF_POST_SRA(X) _mm256_sra_epi16((X), vr)

#define DF_MULHI_LOOP_R(Y, MUL)                                                        \
    if (q->r > 0) {                                                                    \
        DF_MULHI_LOOP(Y, MUL, DF_POST_SRA)                                             \
    } else {                                                                           \
        DF_MULHI_LOOP(Y, MUL, DF_POST_NONE)                                            \
    }

/* The loop of kernel 3 over n rounded down to a multiple of 64; returns that count (the caller does
 * the rest with df_linear_int, identical results). */
__attribute__((target("avx2")))
static ptrdiff_t df_mulhi_avx2(const uint16_t* src, uint8_t* dst, ptrdiff_t n, const df_mulhi_plan_t* q)
{
    const __m256i va = _mm256_set1_epi16((short)q->a);
    const __m256i vl = _mm256_set1_epi16((short)q->l);
    const __m256i vp = _mm256_set1_epi16((short)q->p);
    const __m256i vc = _mm256_set1_epi16((short)q->c);
    const __m128i vs = _mm_cvtsi32_si128(q->s);
    const __m128i vr = _mm_cvtsi32_si128(q->r);
    ptrdiff_t i = 0;
    if (!q->clamp) {
        if (q->mode == DF_PIN_TOP_U) {
            DF_MULHI_LOOP_R(DF_Y_TOP_U, _mm256_mulhi_epu16)
        } else if (q->mul == DF_MUL_HRS_S) {
            DF_MULHI_LOOP_R(DF_Y_TOP_S, _mm256_mulhrs_epi16)
        } else {
            DF_MULHI_LOOP_R(DF_Y_TOP_S, _mm256_mulhi_epi16)
        }
    } else if (q->s == 0) {
        if (q->mode == DF_PIN_TOP_S) {
            DF_MULHI_LOOP_R(DF_Y_TOP_S_CL, _mm256_mulhi_epu16)
        } else if (q->mode == DF_PIN_BOTTOM_S) {
            DF_MULHI_LOOP_R(DF_Y_BOTTOM_S_CL, _mm256_mulhi_epu16)
        } else {
            DF_MULHI_LOOP_R(DF_Y_TOP_U_CL, _mm256_mulhi_epu16)
        }
    } else {   /* s > 0 comes with r = 0 */
        if (q->mode == DF_PIN_TOP_S) {
            DF_MULHI_LOOP(DF_Y_TOP_S_CL_SH, _mm256_mulhi_epu16, DF_POST_NONE)
        } else if (q->mode == DF_PIN_BOTTOM_S) {
            DF_MULHI_LOOP(DF_Y_BOTTOM_S_CL_SH, _mm256_mulhi_epu16, DF_POST_NONE)
        } else {
            DF_MULHI_LOOP(DF_Y_TOP_U_CL_SH, _mm256_mulhi_epu16, DF_POST_NONE)
        }
    }
    return i;
}
#endif

/* The loop of kernel 3 where AVX2 exists; returns the number of leading elements done (possibly 0). */
static ptrdiff_t df_mulhi_run(const void* src, uint8_t* dst, ptrdiff_t n, const df_mulhi_plan_t* q)
{
#if DF_X86
    return df_mulhi_avx2((const uint16_t*)src, dst, n, q);
#else
    (void)src; (void)dst; (void)n; (void)q;
    return 0;
#endif
}

#endif
