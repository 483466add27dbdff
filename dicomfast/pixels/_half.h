/* float -> IEEE 754 binary16 bits, round to nearest even (what numpy's astype(float16) does).
 *
 * C has no portable half type and Cython has none at all, so the conversion is done on the bits.
 * Used by dicomfast/_transform.pyx for float16 output; tests/test_transforms.py checks it against
 * numpy over every float16 value and the midpoints between them.
 */
#ifndef DICOMFAST_HALF_H
#define DICOMFAST_HALF_H

#include <stdint.h>
#include <string.h>

static inline uint16_t df_float_to_half(float value)
{
    uint32_t f;
    memcpy(&f, &value, 4);
    uint32_t sign = (f >> 16) & 0x8000u;
    uint32_t abs = f & 0x7fffffffu;

    if (abs >= 0x7f800000u) {                       /* inf or NaN: keep NaN quiet and non-zero */
        return (uint16_t)(sign | 0x7c00u | (abs > 0x7f800000u ? 0x0200u | (abs >> 13) : 0u));
    }
    if (abs >= 0x477ff000u) {                       /* rounds to >= 65520: overflow to inf */
        return (uint16_t)(sign | 0x7c00u);
    }
    if (abs >= 0x38800000u) {                       /* normal half (|x| >= 2**-14) */
        uint32_t mant = abs & 0x007fffffu;
        uint32_t exp = (abs >> 23) - 112u;         /* rebias 127 -> 15 */
        uint32_t h = (exp << 10) | (mant >> 13);
        uint32_t rest = mant & 0x1fffu;            /* the 13 dropped bits */
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) {
            h += 1u;                               /* may carry into the exponent: still right */
        }
        return (uint16_t)(sign | h);
    }
    if (abs < 0x33000000u) {                        /* below half the smallest subnormal: zero */
        return (uint16_t)sign;
    }
    /* subnormal half: value = mant * 2**-24 */
    {
        uint32_t e = abs >> 23;                    /* 102 .. 112 */
        uint32_t mant = (abs & 0x007fffffu) | 0x00800000u;
        uint32_t shift = 126u - e;                 /* 14 .. 24 */
        uint32_t h = mant >> shift;
        uint32_t rest = mant & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rest > half || (rest == half && (h & 1u))) {
            h += 1u;
        }
        return (uint16_t)(sign | h);
    }
}

#endif
