"""RLE Lossless (PS3.5 Annex G) decoding, with the GIL released.

A frame is a 64-byte header (the segment count, then up to 15 segment offsets, little-endian
uint32) followed by PackBits-encoded segments, one per byte plane: for each sample, the most
significant byte plane first. The output is interleaved (planar configuration 0) and little
endian, so a frame of ``bits_allocated`` 16 is a plain ``uint16`` array.

Safety: every offset is checked against the frame's length before a segment is read, every
literal or replicate run is clipped to both the segment and the byte plane, so corrupt input
raises :class:`~dicomfast.errors.DicomError` and never reads or writes outside the buffers.
"""
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

import numpy
cimport numpy as cnp

from dicomfast.errors import DicomError

cnp.import_array()

_DTYPES = {8: numpy.dtype("<u1"), 16: numpy.dtype("<u2"), 32: numpy.dtype("<u4"), 64: numpy.dtype("<u8")}

cdef extern from *:
    """
    #include <string.h>
    static inline uint32_t df_rle_load_u32le(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, 4);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap32(v);
    #endif
        return v;
    }
    static inline void df_rle_store_u16le(uint8_t *p, uint16_t v) {
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap16(v);
    #endif
        memcpy(p, &v, 2);
    }
    static inline void df_rle_store_u32le(uint8_t *p, uint32_t v) {
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap32(v);
    #endif
        memcpy(p, &v, 4);
    }
    """
    uint32_t df_rle_load_u32le(const uint8_t* p) noexcept nogil
    void df_rle_store_u16le(uint8_t* p, uint16_t v) noexcept nogil
    void df_rle_store_u32le(uint8_t* p, uint32_t v) noexcept nogil


cdef Py_ssize_t _decode_segment(const uint8_t* src, Py_ssize_t n, uint8_t* dst,
                                Py_ssize_t count, Py_ssize_t stride) noexcept nogil:
    """Decode one PackBits segment of ``n`` bytes into ``count`` bytes ``stride`` apart.

    Returns how many output bytes the segment filled (at most ``count``); a short return means
    the segment ended early. Input beyond ``count`` decoded bytes is ignored (padding).
    """
    cdef Py_ssize_t pos = 0, k = 0, run, i
    cdef uint8_t h, value
    while pos < n and k < count:
        h = src[pos]
        pos += 1
        if h < 128:  # literal run of h + 1 bytes
            run = h + 1
            if run > n - pos:
                run = n - pos
            if run > count - k:
                run = count - k
            if stride == 1:
                memcpy(dst + k, src + pos, <size_t>run)
            else:
                for i in range(run):
                    dst[(k + i) * stride] = src[pos + i]
            pos += h + 1
            k += run
        elif h > 128:  # replicate the next byte 257 - h times
            if pos >= n:
                break
            value = src[pos]
            pos += 1
            run = 257 - h
            if run > count - k:
                run = count - k
            if stride == 1:
                memset(dst + k, value, <size_t>run)
            else:
                for i in range(run):
                    dst[(k + i) * stride] = value
            k += run
        # h == 128: no operation
    return k


cdef int _decode_frame(const uint8_t* src, Py_ssize_t n, const uint32_t* offsets, int nseg,
                       uint8_t* dst, Py_ssize_t pixels, int samples, int bps) noexcept nogil:
    """Decode every segment; return -1, or the index of the first short segment, or -2 when out
    of memory.

    One 8-bit sample decodes straight into the output. Otherwise each segment decodes into its
    own contiguous byte plane, and one pass interleaves the planes into little-endian samples:
    contiguous runs (memcpy, memset) and a loop the compiler vectorises, instead of strided bytes.
    """
    cdef int s, j, seg
    cdef Py_ssize_t begin, end, k
    cdef Py_ssize_t stride = <Py_ssize_t>samples * bps
    cdef uint8_t* planes
    cdef const uint8_t* p0
    cdef const uint8_t* p1
    cdef const uint8_t* p2
    cdef const uint8_t* p3
    cdef uint8_t* out
    if samples == 1 and bps == 1:
        end = offsets[1] if nseg > 1 else n
        return 0 if _decode_segment(src + offsets[0], end - offsets[0], dst, pixels, 1) < pixels else -1
    planes = <uint8_t*>malloc(<size_t>(pixels * nseg))
    if planes == NULL:
        return -2
    for seg in range(nseg):
        begin = offsets[seg]
        end = offsets[seg + 1] if seg + 1 < nseg else n
        if _decode_segment(src + begin, end - begin, planes + seg * pixels, pixels, 1) < pixels:
            free(planes)
            return seg
    # segment j of a sample holds byte (bps - 1 - j) of each value: most significant first
    for s in range(samples):
        p0 = planes + (s * bps) * pixels
        out = dst + s * bps
        if bps == 1:
            for k in range(pixels):
                out[k * stride] = p0[k]
        elif bps == 2:
            p1 = p0 + pixels
            for k in range(pixels):
                df_rle_store_u16le(out + k * stride, <uint16_t>((<uint16_t>p0[k] << 8) | p1[k]))
        elif bps == 4:
            p1 = p0 + pixels
            p2 = p1 + pixels
            p3 = p2 + pixels
            for k in range(pixels):
                df_rle_store_u32le(out + k * stride,
                                   (<uint32_t>p0[k] << 24) | (<uint32_t>p1[k] << 16)
                                   | (<uint32_t>p2[k] << 8) | p3[k])
        else:
            for j in range(bps):
                p1 = p0 + j * pixels
                for k in range(pixels):
                    out[k * stride + (bps - 1 - j)] = p1[k]
    free(planes)
    return -1


def decode_rle_frame(const uint8_t[::1] data, Py_ssize_t rows, Py_ssize_t columns,
                     int samples_per_pixel, int bits_allocated, out=None):
    """Decode one RLE Lossless frame.

    Returns a C-contiguous array of shape ``(rows, columns)`` (one sample) or
    ``(rows, columns, samples_per_pixel)``, dtype the little-endian unsigned integer of
    ``bits_allocated`` (8, 16, 32 or 64 bits). ``out``, if given, must be such an array (writable,
    C-contiguous) and is filled and returned. Sign and unused bits are left to the caller.

    Raises :class:`~dicomfast.errors.DicomError` for a header or segment that does not hold the
    frame, ``ValueError`` for bad arguments.
    """
    dtype = _DTYPES.get(bits_allocated)
    if dtype is None:
        raise ValueError(f"RLE Lossless cannot hold {bits_allocated} bits allocated")
    if rows < 0 or columns < 0 or samples_per_pixel < 1:
        raise ValueError("rows and columns must be >= 0 and samples per pixel >= 1")
    cdef int bps = bits_allocated // 8
    cdef int samples = samples_per_pixel
    cdef tuple shape = (rows, columns)
    if samples != 1:
        shape = (rows, columns, samples)
    if out is None:
        out = numpy.empty(shape, dtype=dtype)
    else:
        if (not isinstance(out, numpy.ndarray) or out.dtype != dtype or out.shape != shape
                or not out.flags.c_contiguous or not out.flags.writeable):
            raise ValueError(f"out must be a writable C-contiguous {dtype} array of shape {shape}")

    cdef Py_ssize_t n = data.shape[0]
    if n < 64:
        raise DicomError(f"RLE frame of {n} bytes is shorter than its 64-byte header")
    cdef const uint8_t* src = &data[0]
    cdef uint32_t nseg = df_rle_load_u32le(src)
    if nseg > 15:
        raise DicomError(f"RLE header gives {nseg} segments (at most 15)")
    if nseg != <uint32_t>(samples * bps):
        raise DicomError(
            f"RLE header gives {nseg} segments, {samples * bps} expected "
            f"({samples} samples of {bits_allocated} bits)"
        )
    cdef uint32_t offsets[15]
    cdef uint32_t i
    for i in range(nseg):
        offsets[i] = df_rle_load_u32le(src + 4 + 4 * i)
        if offsets[i] > n:
            raise DicomError(f"RLE segment {i} starts at {offsets[i]}, past the frame's {n} bytes")
        if i and offsets[i] < offsets[i - 1]:
            raise DicomError(f"RLE segment offsets are not increasing ({offsets[i - 1]}, {offsets[i]})")

    cdef Py_ssize_t pixels = rows * columns
    cdef uint8_t* dp = <uint8_t*>cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef int bad = -1
    if pixels:
        with nogil:
            bad = _decode_frame(src, n, offsets, nseg, dp, pixels, samples, bps)
    if bad == -2:
        raise MemoryError()
    if bad >= 0:
        raise DicomError(f"RLE segment {bad} decodes to fewer than the frame's {pixels} bytes")
    return out


# -- encoding ------------------------------------------------------------------------------------

cdef Py_ssize_t _encode_row(const uint8_t* src, Py_ssize_t width, Py_ssize_t stride,
                            uint8_t* dst) noexcept nogil:
    """PackBits one row of a byte plane (``width`` bytes ``stride`` apart) into ``dst`` (room for
    ``width + width // 128 + 1`` bytes); returns the bytes written. A run of 3 or more equal bytes
    (at most 128) is a replicate run; anything else goes into literal runs of at most 128."""
    cdef Py_ssize_t i = 0, j, start, k, o = 0
    cdef uint8_t v
    while i < width:
        v = src[i * stride]
        j = i + 1
        while j < width and j - i < 128 and src[j * stride] == v:
            j += 1
        if j - i >= 3:
            dst[o] = <uint8_t>(257 - (j - i))
            dst[o + 1] = v
            o += 2
            i = j
            continue
        start = i
        while i < width and i - start < 128:
            if (i + 2 < width and src[i * stride] == src[(i + 1) * stride]
                    and src[i * stride] == src[(i + 2) * stride]):
                break
            i += 1
        dst[o] = <uint8_t>(i - start - 1)
        o += 1
        for k in range(start, i):
            dst[o] = src[k * stride]
            o += 1
    return o


cdef Py_ssize_t _encode_frame(const uint8_t* src, Py_ssize_t rows, Py_ssize_t columns, int samples,
                              int bps, uint8_t* dst) noexcept nogil:
    """The whole frame (header, then one segment a byte plane, each of even length); returns its
    length. ``dst`` has room for :func:`_bound`."""
    cdef int nseg = samples * bps, seg, s, j
    cdef Py_ssize_t o = 64, r, stride = <Py_ssize_t>samples * bps
    memset(dst, 0, 64)
    df_rle_store_u32le(dst, <uint32_t>nseg)
    for seg in range(nseg):
        s = seg // bps
        j = seg % bps  # byte plane j of a sample: most significant first
        df_rle_store_u32le(dst + 4 + 4 * seg, <uint32_t>o)
        for r in range(rows):
            o += _encode_row(src + r * columns * stride + s * bps + (bps - 1 - j), columns, stride, dst + o)
        if o & 1:
            dst[o] = 0
            o += 1
    return o


def encode_rle_frame(const uint8_t[::1] data, Py_ssize_t rows, Py_ssize_t columns,
                     int samples_per_pixel, int bits_allocated):
    """Encode one frame as RLE Lossless (PS3.5 Annex G): ``data`` is the frame's bytes, interleaved
    little-endian samples of ``bits_allocated`` (8, 16, 32, 64), ``rows * columns *
    samples_per_pixel`` of them. Each row of each byte plane is encoded on its own (runs never cross
    a row), segments are padded to an even length. Returns the frame's bytes."""
    if bits_allocated not in _DTYPES:
        raise ValueError(f"RLE Lossless cannot hold {bits_allocated} bits allocated")
    cdef int bps = bits_allocated // 8
    cdef int samples = samples_per_pixel
    if rows < 1 or columns < 1 or samples < 1:
        raise ValueError("rows, columns and samples per pixel must be positive")
    if samples * bps > 15:
        raise ValueError(f"RLE Lossless holds at most 15 byte planes, not {samples * bps}")
    if data.shape[0] != rows * columns * samples * bps:
        raise ValueError(f"the frame has {data.shape[0]} bytes, {rows * columns * samples * bps} expected")
    cdef Py_ssize_t bound = 64 + samples * bps * (rows * (columns + columns // 128 + 1) + 1)
    out = numpy.empty(bound, numpy.uint8)
    cdef uint8_t* dp = <uint8_t*>cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef const uint8_t* src = &data[0]
    cdef Py_ssize_t n
    with nogil:
        n = _encode_frame(src, rows, columns, samples, bps, dp)
    return out[:n].tobytes()
