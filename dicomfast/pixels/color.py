"""Palette colour: PALETTE COLOR pixel values through the dataset's palette LUTs, plain or
segmented, as pydicom's ``apply_color_lut(arr, ds)``."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidPixelAttributeError, PixelDataError
from .module import to_dataset

__all__ = ["apply_color_lut"]

_MAX_LUT = 1 << 16


def _expand_segmented(data: np.ndarray, limit: int, count: int | None = None,
                      previous: int | None = None, depth: int = 0) -> list[int]:
    """Expand segmented palette LUT data (PS3.3 C.7.9.2) as pydicom does, bounded: at most
    ``limit`` entries, indirect segments nested at most 8 deep."""
    if depth > 8:
        raise InvalidPixelAttributeError("segmented palette LUT: indirect segments nest too deeply")
    values = data.tolist()
    out: list[int] = []
    pos = 0
    segments = 0
    n = len(values)
    while pos + 1 < n:
        opcode, length = values[pos], values[pos + 1]
        pos += 2
        if opcode == 0:
            out.extend(values[pos:pos + length])
            pos += length
        elif opcode == 1:
            if out:
                y0 = out[-1]
            elif previous:
                y0 = previous
            else:
                raise InvalidPixelAttributeError("segmented palette LUT: the first segment is linear")
            if pos >= n:
                raise InvalidPixelAttributeError("segmented palette LUT: a linear segment is truncated")
            y1 = values[pos]
            pos += 1
            if y0 == y1 or length == 0:
                out.extend([y1] * length)
            else:
                step = (y1 - y0) / length
                out.extend(int(v) for v in np.around(np.linspace(y0 + step, y1, length)))
        elif opcode == 2:
            if not out:
                raise InvalidPixelAttributeError("segmented palette LUT: the first segment is indirect")
            if data.dtype.itemsize == 1:
                if pos + 4 > n:
                    raise InvalidPixelAttributeError("segmented palette LUT: an indirect segment is truncated")
                b = values[pos:pos + 4]
                order = (3, 2, 1, 0) if data.dtype.byteorder != ">" else (2, 3, 0, 1)
                b = [b[i] for i in order]
                offset = (b[0] << 8 | b[1]) << 16 | (b[2] << 8 | b[3])
                pos += 4
            else:
                if pos + 2 > n:
                    raise InvalidPixelAttributeError("segmented palette LUT: an indirect segment is truncated")
                offset = values[pos + 1] << 16 | values[pos]
                pos += 2
            out.extend(_expand_segmented(data[offset:], limit - len(out), length, out[-1], depth + 1))
        else:
            raise InvalidPixelAttributeError(f"segmented palette LUT: unknown segment type {opcode}")
        if len(out) > limit:
            raise InvalidPixelAttributeError("segmented palette LUT expands past 65536 entries")
        segments += 1
        if segments == count:
            break
    return out


def apply_color_lut(arr: np.ndarray, ds: Any) -> np.ndarray:
    """Map PALETTE COLOR pixel values through the dataset's palette LUTs (plain or segmented),
    as pydicom's ``apply_color_lut(arr, ds)``: an array of shape ``arr.shape + (3,)`` (or 4 with
    an alpha LUT) of uint8 or uint16."""
    ds = to_dataset(ds)
    if ds.get("PixelPresentation") in ("MIXED", "COLOR"):
        raise PixelDataError("the Supplemental Palette Color LUT module is not supported")
    descriptor = ds.get("RedPaletteColorLookupTableDescriptor")
    if not isinstance(descriptor, list) or len(descriptor) != 3:
        raise InvalidPixelAttributeError("no valid Red Palette Color Lookup Table Descriptor")
    entries = descriptor[0] or 1 << 16
    first_mapped = descriptor[1]
    nominal = descriptor[2]
    little = ds.is_little_endian
    luts: list[np.ndarray] = []
    if "RedPaletteColorLookupTableData" in ds:
        names = ("Red", "Green", "Blue", "Alpha")
        raws = [ds[f"{c}PaletteColorLookupTableData"].raw_value() if f"{c}PaletteColorLookupTableData" in ds
                else None for c in names]
        if any(r is None for r in raws[:3]):
            raise InvalidPixelAttributeError("a palette colour LUT's data is missing")
        depth = len(raws[0]) * 8 / entries
        if depth not in (8, 16):
            raise InvalidPixelAttributeError(f"the palette LUT data has {depth:.1f} bits per entry: 8 or 16 are allowed")
        # In the machine's byte order whatever the transfer syntax, as pydicom reads it (big
        # endian files in the wild, e.g. pydicom-data's OBXXXX1A_expb.dcm, hold these LUTs so).
        dtype = np.dtype(f"u{int(depth) // 8}")
        luts = [np.frombuffer(r, dtype, count=len(r) // dtype.itemsize).copy()
                for r in raws if r is not None and len(r)]
    elif "SegmentedRedPaletteColorLookupTableData" in ds:
        if nominal not in (8, 16):
            raise InvalidPixelAttributeError(f"the palette LUT descriptor gives {nominal} bits per entry: 8 or 16 are allowed")
        depth = nominal
        seg_dtype = np.dtype(f"{'<' if little else '>'}u{nominal // 8}")
        for c in ("Red", "Green", "Blue", "Alpha"):
            name = f"Segmented{c}PaletteColorLookupTableData"
            if name not in ds:
                if c != "Alpha":
                    raise InvalidPixelAttributeError(f"{name} is missing")
                continue
            r = ds[name].raw_value()
            if not len(r):
                continue
            seg = np.frombuffer(r, seg_dtype, count=len(r) // seg_dtype.itemsize)
            lut = _expand_segmented(seg, _MAX_LUT)
            luts.append(np.asarray(lut, dtype=f"u{nominal // 8}"))
    else:
        raise PixelDataError("no Palette Color Lookup Table module found")
    lengths = {len(lut) for lut in luts}
    if len(lengths) != 1:
        raise InvalidPixelAttributeError("the palette colour LUTs differ in length")
    if lengths.pop() < entries:
        raise InvalidPixelAttributeError("the palette colour LUTs are shorter than their descriptor says")
    dtype = luts[0].dtype
    arr = np.asarray(arr)
    # pydicom: values below the first mapped one take entry 0; the others are offset, stored in
    # the LUT's dtype (wrapping as NumPy's cast does), then clipped to the last entry.
    index = np.zeros(arr.shape, dtype)
    mapped = arr >= first_mapped
    index[mapped] = arr[mapped] - np.int32(first_mapped)
    np.clip(index, 0, entries - 1, out=index)
    out = np.empty(arr.shape + (len(luts),), dtype)
    for i, lut in enumerate(luts):
        out[..., i] = lut[index]
    return out
