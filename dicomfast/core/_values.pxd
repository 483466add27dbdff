# The internal C API of value decoders: the VR codes shared with the scanner, and the one entry
# point that turns an element's value bytes into a Python value.

cdef enum:
    # A VR as one integer: its two ASCII characters packed as vr[0] | vr[1] << 8
    # (so the two bytes of an explicit-VR element, loaded little-endian, give the code).
    VR_AE = 0x4541
    VR_AS = 0x5341
    VR_AT = 0x5441
    VR_CS = 0x5343
    VR_DA = 0x4144
    VR_DS = 0x5344
    VR_DT = 0x5444
    VR_FD = 0x4446
    VR_FL = 0x4C46
    VR_IS = 0x5349
    VR_LO = 0x4F4C
    VR_LT = 0x544C
    VR_OB = 0x424F
    VR_OD = 0x444F
    VR_OF = 0x464F
    VR_OL = 0x4C4F
    VR_OV = 0x564F
    VR_OW = 0x574F
    VR_PN = 0x4E50
    VR_SH = 0x4853
    VR_SL = 0x4C53
    VR_SQ = 0x5153
    VR_SS = 0x5353
    VR_ST = 0x5453
    VR_SV = 0x5653
    VR_TM = 0x4D54
    VR_UC = 0x4355
    VR_UI = 0x4955
    VR_UL = 0x4C55
    VR_UN = 0x4E55
    VR_UR = 0x5255
    VR_US = 0x5355
    VR_UT = 0x5455
    VR_UV = 0x5655


cdef inline unsigned int vr_code(const unsigned char* p) noexcept nogil:
    """The VR code of the two bytes at p (the caller checked that they exist)."""
    return p[0] | (<unsigned int>p[1] << 8)


# Decode the n value bytes at p of an element with VR vr, as pydicom 3 does by default.
# Reads only [p, p + n); p may be NULL when n == 0. encodings: the list from
# dicomfast.charset.python_encodings, or None for the default repertoire.
# Raises InvalidValueError for a value that cannot be decoded (and for SQ and unknown VRs).
cdef object decode_value(const unsigned char* p, Py_ssize_t n, unsigned int vr, bint big_endian,
                         object encodings)
