/* Inner loops of dicomfast.window: plain pointer loops over one contiguous block.
 *
 * Used by dicomfast/_transform.pyx, which validates nothing further: pointers are valid for n
 * elements and do not overlap except element for element. Every function here runs without the GIL.
 *
 * Two kernels for the linear window to an integer dtype ("kind 0" in _transform.pyx):
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

#endif
