/* Byte-order loads for the scanner and the value decoders.
 *
 * Every load goes through memcpy, so unaligned access is safe on every platform and the
 * compiler turns it into one instruction. DF_PORTABLE_LOADS forces the shift-based branch that
 * a big-endian host would use; tests/test_cursor.py compiles it so it cannot go stale.
 * Nothing here knows DICOM: the callers check lengths before they load.
 */
#ifndef DICOMFAST_CURSOR_H
#define DICOMFAST_CURSOR_H

#include <stdint.h>
#include <string.h>

#if !defined(DF_PORTABLE_LOADS) && defined(__BYTE_ORDER__) && \
    (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) && (defined(__GNUC__) || defined(__clang__))
#define DF_HOST_LE 1
#else
#define DF_HOST_LE 0
#endif

static inline uint16_t df_u16le(const uint8_t *p) {
#if DF_HOST_LE
    uint16_t v; memcpy(&v, p, 2); return v;
#else
    return (uint16_t)(p[0] | ((uint16_t)p[1] << 8));
#endif
}

static inline uint32_t df_u32le(const uint8_t *p) {
#if DF_HOST_LE
    uint32_t v; memcpy(&v, p, 4); return v;
#else
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
#endif
}

static inline uint64_t df_u64le(const uint8_t *p) {
#if DF_HOST_LE
    uint64_t v; memcpy(&v, p, 8); return v;
#else
    return (uint64_t)df_u32le(p) | ((uint64_t)df_u32le(p + 4) << 32);
#endif
}

static inline uint16_t df_u16be(const uint8_t *p) {
#if DF_HOST_LE
    uint16_t v; memcpy(&v, p, 2); return __builtin_bswap16(v);
#else
    return (uint16_t)(((uint16_t)p[0] << 8) | p[1]);
#endif
}

static inline uint32_t df_u32be(const uint8_t *p) {
#if DF_HOST_LE
    uint32_t v; memcpy(&v, p, 4); return __builtin_bswap32(v);
#else
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
#endif
}

static inline uint64_t df_u64be(const uint8_t *p) {
#if DF_HOST_LE
    uint64_t v; memcpy(&v, p, 8); return __builtin_bswap64(v);
#else
    return ((uint64_t)df_u32be(p) << 32) | (uint64_t)df_u32be(p + 4);
#endif
}

/* Loads in the byte order of the data, chosen at run time. */
static inline uint16_t df_u16(const uint8_t *p, int big) { return big ? df_u16be(p) : df_u16le(p); }
static inline uint32_t df_u32(const uint8_t *p, int big) { return big ? df_u32be(p) : df_u32le(p); }
static inline uint64_t df_u64(const uint8_t *p, int big) { return big ? df_u64be(p) : df_u64le(p); }

/* Internal assertions: compiled in by the debug build only (DICOMFAST_DEBUG). Not assert(): the
 * compiler flags Python passes to extensions define NDEBUG, which would compile assert() out of the
 * debug build too. A failed assertion is a bug in dicomfast, never bad input: it names the check and
 * aborts, so that the debug test run (and a fuzzer) stops on it. */
#ifdef DICOMFAST_DEBUG
#include <stdio.h>
#include <stdlib.h>
static inline void df_assert_failed(const char *check, const char *file, int line) {
    fprintf(stderr, "dicomfast internal check failed: %s (%s:%d)\n", check, file, line);
    abort();
}
#define DF_ASSERT(x) ((x) ? (void)0 : df_assert_failed(#x, __FILE__, __LINE__))
#else
#define DF_ASSERT(x) ((void)0)
#endif

#endif /* DICOMFAST_CURSOR_H */
