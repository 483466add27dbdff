# The Image Pixel module of a dataset in one compiled call, as one typed record.
#
# pixel_info checks a dozen attributes and read_pixels reads a few more: as Python attribute reads
# of a fresh dataset they cost ~1 us each (each lookup walks the records, the first value resolves
# the character set, the second lookup builds the dataset's index), more than the rest of a header
# read. Here one walk of the dataset's records finds them all, and the values are decoded in the
# same call, through the dataset's own C API (dicomfast/core/_dataset.pxd). Values are exactly what
# `ds.Keyword` gives (the same decoder, cached the same way); the checks are in module.py.

cimport cython
from libc.stdint cimport uint32_t

from dicomfast.core._dataset cimport DatasetBase

from dicomfast.core._dataset import DELETED as _DELETED

cdef enum:
    EDITED = -2          # in found[]: the element is an edit's, not a record


cdef enum:
    N_MODULE = 26
    # positions in _MODULE_TAGS (ascending, for the walk's merge)
    M_CHARSET = 0
    M_SAMPLES = 1
    M_PHOTOMETRIC = 2
    M_PLANAR = 3
    M_FRAMES = 4
    M_ROWS = 5
    M_COLUMNS = 6
    M_BITS_ALLOCATED = 7
    M_BITS_STORED = 8
    M_HIGH_BIT = 9
    M_PIXEL_REPRESENTATION = 10
    M_WINDOW_CENTER = 11
    M_WINDOW_WIDTH = 12
    M_RESCALE_INTERCEPT = 13
    M_RESCALE_SLOPE = 14
    M_RESCALE_TYPE = 15
    M_VOI_FUNCTION = 16
    M_PALETTE = 17
    M_MODALITY_LUT = 18
    M_VOI_LUT = 19
    M_SHARED_GROUPS = 20
    M_PER_FRAME_GROUPS = 21
    M_FLOAT_PIXELS = 22
    M_DOUBLE_PIXELS = 23
    M_PIXELS = 24
    M_END = 25           # a sentinel above every tag (c_find_sorted's end)

cdef uint32_t _MODULE_TAGS[N_MODULE]
_MODULE_TAGS[:] = [
    0x00080005,                                      # Specific Character Set
    0x00280002, 0x00280004, 0x00280006, 0x00280008,  # Samples per Pixel, Photometric, Planar, Frames
    0x00280010, 0x00280011,                          # Rows, Columns
    0x00280100, 0x00280101, 0x00280102, 0x00280103,  # Bits Allocated, Stored, High Bit, Pixel Representation
    0x00281050, 0x00281051,                          # Window Center, Window Width
    0x00281052, 0x00281053, 0x00281054,              # Rescale Intercept, Slope, Type
    0x00281056,                                      # VOI LUT Function
    0x00281101,                                      # Red Palette Color Lookup Table Descriptor
    0x00283000, 0x00283010,                          # Modality LUT Sequence, VOI LUT Sequence
    0x52009229, 0x52009230,                          # Shared, Per-Frame Functional Groups Sequence
    0x7FE00008, 0x7FE00009, 0x7FE00010,              # Float, Double Float Pixel Data, Pixel Data
    0xFFFFFFFF,
]


cdef object _module_value(DatasetBase ds, Py_ssize_t index, int k, bint us, bint fast):
    """``getattr(ds, keyword, None)`` of the element at record ``index`` (-1: absent), except that
    a value that fails to decode is kept as a _Failed holding its exception: the PixelModule raises
    it when the value is read, so errors come in the order of the checks that read them. ``us``:
    the tag is US in the dictionary; ``fast``: the character set is resolved."""
    if index == -1:
        return None
    try:
        if index == EDITED:
            return ds._edits[_MODULE_TAGS[k]].value
        return ds.c_value_at(index, us and fast)
    except Exception as exc:  # raised by the PixelModule when the value is read
        return _Failed(exc)


@cython.final
cdef class _Failed:
    """A value whose decoding raised ``error``."""

    cdef object error

    def __cinit__(self, error):
        self.error = error


cdef inline object _get(object value):
    if type(value) is _Failed:
        raise (<_Failed>value).error
    return value


cdef inline bint _exact_or_none(object value, type kind):
    return value is None or type(value) is kind


# Values of the record, by position in PixelModule.values
DEF V_BITS_ALLOCATED = 0
DEF V_BITS_STORED = 1
DEF V_HIGH_BIT = 2
DEF V_PIXEL_REPRESENTATION = 3
DEF V_ROWS = 4
DEF V_COLUMNS = 5
DEF V_SAMPLES = 6
DEF V_PLANAR = 7
DEF V_PHOTOMETRIC = 8
DEF V_FRAMES = 9
DEF V_RESCALE_SLOPE = 10
DEF V_RESCALE_INTERCEPT = 11
DEF V_RESCALE_TYPE = 12
DEF V_WINDOW_CENTER = 13
DEF V_WINDOW_WIDTH = 14
DEF V_VOI_FUNCTION = 15


@cython.final
cdef class PixelModule:
    """The Image Pixel module of a dataset and what the pixel paths need besides, read in one walk
    of its records (:func:`pixel_module`). Unchecked: :func:`dicomfast.pixels.module.check` turns
    it into a checked ``PixelInfo``.

    Each attribute value is what ``getattr(ds, keyword, None)`` gives, and like it, reading one
    whose value does not decode raises that value's error (a record made without the transform
    values reads them as None).
    """

    cdef readonly object transfer_syntax_value   # the root's (0002,0010), or None; may hold an error
    cdef readonly bint big_endian          # how the dataset's tape was scanned
    cdef readonly bint explicit_vr
    cdef readonly int pixel_count          # how many of Pixel Data, Float and Double Float Pixel Data
    cdef readonly uint32_t pixel_tag       # the first of them present (0 if none) ...
    cdef readonly Py_ssize_t pixel_index   # ... its record (-1 if none)
    cdef readonly bint encapsulated
    cdef readonly uint32_t pixel_length
    cdef readonly str pixel_vr             # Tape.vr of the pixel data: "" for implicit VR
    cdef readonly bint has_modality_lut    # Modality LUT Sequence present
    cdef readonly bint has_voi_lut         # VOI LUT Sequence present
    cdef readonly bint has_shared_groups   # Shared Functional Groups Sequence present
    cdef readonly bint has_per_frame_groups
    cdef readonly bint has_palette         # Red Palette Color LUT Descriptor present
    cdef readonly object key               # see pixel_module
    cdef tuple values
    cdef DatasetBase dataset
    cdef object edited_pixels              # the DataElement of pixel data set by an edit, or None

    def __init__(self, *args, **kwargs):
        raise TypeError("a PixelModule is made by pixel_module(ds)")

    @property
    def transfer_syntax(self):
        return _get(self.transfer_syntax_value)

    @property
    def enhanced(self):
        """Shared or Per-Frame Functional Groups are present (an enhanced multi-frame image)."""
        return self.has_shared_groups or self.has_per_frame_groups

    @property
    def bits_allocated(self):
        return _get(self.values[V_BITS_ALLOCATED])

    @property
    def bits_stored(self):
        return _get(self.values[V_BITS_STORED])

    @property
    def high_bit(self):
        return _get(self.values[V_HIGH_BIT])

    @property
    def pixel_representation(self):
        return _get(self.values[V_PIXEL_REPRESENTATION])

    @property
    def rows(self):
        return _get(self.values[V_ROWS])

    @property
    def columns(self):
        return _get(self.values[V_COLUMNS])

    @property
    def samples_per_pixel(self):
        return _get(self.values[V_SAMPLES])

    @property
    def planar_configuration(self):
        return _get(self.values[V_PLANAR])

    @property
    def photometric_interpretation(self):
        return _get(self.values[V_PHOTOMETRIC])

    @property
    def number_of_frames(self):
        return _get(self.values[V_FRAMES])

    @property
    def rescale_slope(self):
        return _get(self.values[V_RESCALE_SLOPE])

    @property
    def rescale_intercept(self):
        return _get(self.values[V_RESCALE_INTERCEPT])

    @property
    def rescale_type(self):
        return _get(self.values[V_RESCALE_TYPE])

    @property
    def window_center(self):
        return _get(self.values[V_WINDOW_CENTER])

    @property
    def window_width(self):
        return _get(self.values[V_WINDOW_WIDTH])

    @property
    def voi_lut_function(self):
        return _get(self.values[V_VOI_FUNCTION])

    def pixel_bytes(self):
        """The pixel data element's value bytes, zero-copy (a read-only memoryview on the bytes the
        dataset was read from), or None without pixel data."""
        if self.edited_pixels is not None:
            return self.edited_pixels.raw_value()
        if self.pixel_index < 0:
            return None
        return self.dataset.c_raw(self.pixel_index)

    def __repr__(self):
        return (f"<PixelModule {self.pixel_count} pixel element(s), tag 0x{self.pixel_tag:08X}, "
                f"encapsulated={self.encapsulated}, length={self.pixel_length}>")


def pixel_module(DatasetBase ds, bint transform_values=True):
    """The :class:`PixelModule` of ``ds``: the Image Pixel module and what the pixel paths need
    besides, in one walk of its records.

    * ``transfer_syntax``: the root's file meta Transfer Syntax UID (None without one);
    * ``big_endian``, ``explicit_vr``: how the dataset's records were scanned;
    * ``pixel_count``: how many of Pixel Data, Float Pixel Data and Double Float Pixel Data are
      present; ``pixel_tag`` ... ``pixel_vr``: the first of them in that order (its tag, record,
      whether it is encapsulated, its length and VR), or 0, -1, False, 0, "" when there is none;
    * ``has_modality_lut`` ... ``has_palette``: which of those sequences and LUTs are present;
    * the module's values (Bits Allocated ... Number of Frames) and, with ``transform_values``, the
      rescale and window attributes (else they read as None whatever the dataset holds);
    * ``key``: when the values the checks read have exact types (the syntax, Planar Configuration
      and Number of Frames a str / an int or None; Bits Allocated, Bits Stored, Pixel
      Representation, Rows, Columns and Samples per Pixel an int; Photometric Interpretation a
      str), a tuple of them all (and of the byte order and VR encoding, but not High Bit), so that
      equal keys mean equal checks (module.py caches them); else None.
    """
    cdef DatasetBase root = ds
    cdef object meta, syntax = None
    cdef Py_ssize_t found[N_MODULE]
    cdef Py_ssize_t index, pixel_index = -1
    cdef int k, npixel = 0
    cdef uint32_t pixel_tag = 0
    cdef bint fast = True
    cdef uint32_t length = 0
    cdef bint encapsulated = False
    cdef PixelModule m = PixelModule.__new__(PixelModule)
    while root._parent is not None:
        root = <DatasetBase>root._parent
    meta = root.file_meta
    if meta is not None:
        if isinstance(meta, DatasetBase) and not (<DatasetBase>meta)._edits:
            index = (<DatasetBase>meta).c_find(0x00020010)
            syntax = _module_value(<DatasetBase>meta, index, -1, False, False)
        else:
            syntax = meta.get("TransferSyntaxUID")
    ds.c_find_sorted(_MODULE_TAGS, N_MODULE, found)
    if ds._edits:
        # edits over the records: an edited element's value is the edit's, a deleted one is absent
        for k in range(M_END):
            edited = ds._edits.get(_MODULE_TAGS[k])
            if edited is not None:
                found[k] = -1 if edited is _DELETED else EDITED
    if not ds.c_encodings_resolved():
        try:
            ds.c_resolve_encodings(found[M_CHARSET])
        except Exception:
            fast = False  # left unresolved: each value's decode raises it, as ds.Keyword would
    for k in (M_PIXELS, M_FLOAT_PIXELS, M_DOUBLE_PIXELS):
        if found[k] >= 0 or found[k] == EDITED:
            npixel += 1
            if pixel_tag == 0:
                pixel_index = found[k]
                pixel_tag = _MODULE_TAGS[k]
    m.transfer_syntax_value = syntax
    m.dataset = ds
    m.big_endian = ds.c_big_endian()
    m.explicit_vr = ds.c_explicit_vr()
    m.pixel_count = npixel
    m.pixel_tag = pixel_tag
    m.pixel_index = pixel_index
    m.encapsulated = False
    m.pixel_length = 0
    m.pixel_vr = ""
    if pixel_index >= 0:
        m.pixel_vr = ds.c_record(pixel_index, &length, &encapsulated)
        m.pixel_length = length
        m.encapsulated = encapsulated
    elif pixel_index == EDITED:
        edited = ds._edits[pixel_tag]
        m.pixel_index = -1
        m.pixel_vr = edited.VR
        if hasattr(edited.value, "frame_fragments"):  # encapsulated pixel data set by an edit
            m.encapsulated = True
            m.pixel_length = 0xFFFFFFFF
        else:
            m.pixel_length = len(edited.raw_value())
            m.edited_pixels = edited
    m.has_modality_lut = found[M_MODALITY_LUT] >= 0 or found[M_MODALITY_LUT] == EDITED
    m.has_voi_lut = found[M_VOI_LUT] >= 0 or found[M_VOI_LUT] == EDITED
    m.has_shared_groups = found[M_SHARED_GROUPS] >= 0 or found[M_SHARED_GROUPS] == EDITED
    m.has_per_frame_groups = found[M_PER_FRAME_GROUPS] >= 0 or found[M_PER_FRAME_GROUPS] == EDITED
    m.has_palette = found[M_PALETTE] >= 0 or found[M_PALETTE] == EDITED
    values = (_module_value(ds, found[M_BITS_ALLOCATED], M_BITS_ALLOCATED, True, fast),
              _module_value(ds, found[M_BITS_STORED], M_BITS_STORED, True, fast),
              _module_value(ds, found[M_HIGH_BIT], M_HIGH_BIT, True, fast),
              _module_value(ds, found[M_PIXEL_REPRESENTATION], M_PIXEL_REPRESENTATION, True, fast),
              _module_value(ds, found[M_ROWS], M_ROWS, True, fast),
              _module_value(ds, found[M_COLUMNS], M_COLUMNS, True, fast),
              _module_value(ds, found[M_SAMPLES], M_SAMPLES, True, fast),
              _module_value(ds, found[M_PLANAR], M_PLANAR, True, fast),
              _module_value(ds, found[M_PHOTOMETRIC], M_PHOTOMETRIC, False, fast),
              _module_value(ds, found[M_FRAMES], M_FRAMES, False, fast))
    if transform_values:
        values += (_module_value(ds, found[M_RESCALE_SLOPE], M_RESCALE_SLOPE, False, fast),
                   _module_value(ds, found[M_RESCALE_INTERCEPT], M_RESCALE_INTERCEPT, False, fast),
                   _module_value(ds, found[M_RESCALE_TYPE], M_RESCALE_TYPE, False, fast),
                   _module_value(ds, found[M_WINDOW_CENTER], M_WINDOW_CENTER, False, fast),
                   _module_value(ds, found[M_WINDOW_WIDTH], M_WINDOW_WIDTH, False, fast),
                   _module_value(ds, found[M_VOI_FUNCTION], M_VOI_FUNCTION, False, fast))
    else:
        values += (None, None, None, None, None, None)
    m.values = values
    m.key = None
    if (_exact_or_none(syntax, str) and type(values[0]) is int and type(values[1]) is int
            and type(values[3]) is int and type(values[4]) is int and type(values[5]) is int
            and type(values[6]) is int and _exact_or_none(values[7], int) and type(values[8]) is str
            and _exact_or_none(values[9], int)):
        m.key = (syntax, m.big_endian, m.explicit_vr, values[0], values[1], values[3], values[4],
                 values[5], values[6], values[7], values[8], values[9])
    return m
