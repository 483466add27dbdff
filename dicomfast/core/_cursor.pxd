# Cython view of _cursor.h: byte-order loads that cannot fail and need no GIL.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

cdef extern from "_cursor.h" nogil:
    uint16_t df_u16le(const uint8_t* p) noexcept
    uint32_t df_u32le(const uint8_t* p) noexcept
    uint64_t df_u64le(const uint8_t* p) noexcept
    uint16_t df_u16be(const uint8_t* p) noexcept
    uint32_t df_u32be(const uint8_t* p) noexcept
    uint64_t df_u64be(const uint8_t* p) noexcept
    uint16_t df_u16(const uint8_t* p, int big) noexcept
    uint32_t df_u32(const uint8_t* p, int big) noexcept
    uint64_t df_u64(const uint8_t* p, int big) noexcept
    void DF_ASSERT(bint x) noexcept
