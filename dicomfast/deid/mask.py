"""Rectangles of pixel data blanked by the caller's mask (the Clean Pixel Data Option of PS3.15 as
far as a fixed layout allows: regions the caller names, per modality and image size).

A :class:`PixelMask` maps (Modality, Columns x Rows) to rectangles ``(x, y, width, height)`` in
pixels (x the column, y the row, from the top left). :func:`apply_mask` writes the blank value
into every rectangle of every frame and every sample of the dataset's pixel data; a dataset whose
modality and size the mask does not list is left as it is and said so (:class:`MaskOutcome`).
See docs/deid.md, "Masking burned-in text".
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Mapping, NamedTuple

from .. import uid as _uid
from ..dataset import Dataset
from ..errors import DeidentificationError

__all__ = ["PixelMask", "Rectangle", "MaskOutcome", "apply_mask", "ANY_MODALITY", "LOSSLESS_REENCODED"]

#: The modality key of rectangles for every modality without rectangles of its own.
ANY_MODALITY = "*"
_PIXEL_DATA = 0x7FE00010
_SIZE = re.compile(r"([1-9][0-9]*)x([1-9][0-9]*)")
#: Encapsulated syntaxes that are lossless and that dicomfast can encode: masked data is re-encoded
#: in its own syntax. Every other encapsulated syntax (lossy ones, JPEG Lossless process 14, JPEG 2000
#: "lossless or lossy") needs the caller's ``transfer_syntax``.
LOSSLESS_REENCODED = frozenset((_uid.RLELossless, _uid.JPEGLSLossless, _uid.JPEG2000Lossless, _uid.HTJ2KLossless,
                                _uid.HTJ2KLosslessRPCL, _uid.JPEGLosslessSV1))


class Rectangle(NamedTuple):
    """``width`` x ``height`` pixels from column ``x``, row ``y`` (0-based, top left)."""

    x: int
    y: int
    width: int
    height: int


class MaskOutcome(NamedTuple):
    """What :func:`apply_mask` did: ``status`` ``"masked"`` (the ``rectangles`` blanked),
    ``"no_match"`` (the mask has no rectangles for ``key``: pixel data unchanged) or
    ``"no_pixels"`` (no Pixel Data); ``key`` the modality and size looked up (``"US 640x480"``);
    ``transfer_syntax`` the pixel data's after masking (changed only when the caller allowed it)."""

    status: str
    key: str
    rectangles: tuple = ()
    transfer_syntax: str = ""


class PixelMask:
    """Rectangles by modality and image size: ``{"US": {"640x480": [[x, y, w, h], ...]}}``. Sizes
    are ``COLUMNSxROWS`` (width x height, as an image size is usually written); the modality
    ``"*"`` serves every modality that has no entry of its own. Every rectangle must lie inside its
    image size (a ``ValueError`` otherwise)."""

    def __init__(self, spec: Mapping[str, Mapping[str, Any]]):
        if not isinstance(spec, Mapping):
            raise ValueError(f"a mask is a mapping {{modality: {{'COLUMNSxROWS': [[x, y, w, h], ...]}}}}, "
                             f"not {type(spec).__name__}")
        table: dict[tuple[str, int, int], tuple[Rectangle, ...]] = {}
        for modality, sizes in spec.items():
            if not isinstance(modality, str) or not modality.strip() or not isinstance(sizes, Mapping):
                raise ValueError(f"mask entry {modality!r}: a modality (or '*') mapped to {{'COLUMNSxROWS': [...]}}")
            for size, rectangles in sizes.items():
                m = _SIZE.fullmatch(str(size).strip().lower())
                if m is None:
                    raise ValueError(f"mask {modality} {size!r}: the size is COLUMNSxROWS, e.g. '640x480'")
                columns, rows = int(m.group(1)), int(m.group(2))
                table[(modality.strip().upper(), columns, rows)] = tuple(
                    _rectangle(modality, size, r, columns, rows) for r in rectangles)
        self._table = table

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PixelMask":
        """The mask in the JSON file ``path``."""
        with open(path, encoding="utf-8") as f:
            try:
                spec = json.load(f)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: not JSON: {exc}") from None
        return cls(spec)

    def rectangles(self, modality: str, columns: int, rows: int) -> tuple[Rectangle, ...] | None:
        """The rectangles for ``modality`` at ``columns`` x ``rows`` (else those of ``"*"``), or
        None when the mask lists neither."""
        found = self._table.get((modality.strip().upper(), columns, rows))
        if found is None:
            found = self._table.get((ANY_MODALITY, columns, rows))
        return found

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PixelMask) and other._table == self._table

    def __hash__(self) -> int:
        return hash(frozenset(self._table.items()))

    def __repr__(self) -> str:
        return f"PixelMask({len(self._table)} modality/size entries)"


def _rectangle(modality: Any, size: Any, r: Any, columns: int, rows: int) -> Rectangle:
    try:
        x, y, w, h = r
        ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (x, y, w, h))
    except (TypeError, ValueError):
        ok = False
    if not ok or x < 0 or y < 0 or w < 1 or h < 1:
        raise ValueError(f"mask {modality} {size}: {r!r} is not [x, y, width, height] (integers, width and height >= 1)")
    if x + w > columns or y + h > rows:
        raise ValueError(f"mask {modality} {size}: {r!r} reaches outside the {columns} x {rows} image")
    return Rectangle(x, y, w, h)


def as_mask(mask: Any) -> PixelMask:
    """``mask`` as a :class:`PixelMask` (a mapping is parsed; a path is loaded)."""
    if isinstance(mask, PixelMask):
        return mask
    if isinstance(mask, (str, os.PathLike)):
        return PixelMask.load(mask)
    return PixelMask(mask)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip("\0 ")


def apply_mask(ds: Dataset, mask: PixelMask, *, transfer_syntax: str | None = None) -> MaskOutcome:
    """Blank the rectangles ``mask`` lists for the modality and size of ``ds``, in place.

    Native pixel data is edited where it lies: every stored value inside a rectangle, in every
    frame and every sample, becomes 0 (for YBR_FULL and YBR_FULL_422 data the chroma samples become
    the middle of their range, so the region is black, not green; YBR_FULL_422 rectangles widen to
    whole pixel pairs); every byte outside the rectangles stays as it was. Encapsulated pixel data
    is decoded, masked and re-encoded in its own transfer syntax when that is lossless and dicomfast
    can encode it (:data:`LOSSLESS_REENCODED`); otherwise a :class:`DeidentificationError`, unless
    ``transfer_syntax`` names the syntax to store the masked pixels in (Explicit VR Little Endian,
    native, or one of :data:`LOSSLESS_REENCODED`): a lossy input is then decoded
    once and never encoded lossily again.
    """
    if _PIXEL_DATA not in ds:
        return MaskOutcome("no_pixels", "")
    modality, columns, rows = _text(ds.get("Modality")), ds.get("Columns"), ds.get("Rows")
    key = f"{modality or '?'} {columns}x{rows}"
    rectangles = mask.rectangles(modality, columns, rows) if isinstance(columns, int) and isinstance(rows, int) else None
    if rectangles is None:
        return MaskOutcome("no_match", key)
    from ..pixels import compress, decompress, pixel_info

    info = pixel_info(ds)
    if info.encapsulated:
        source = info.transfer_syntax
        target = source if source in LOSSLESS_REENCODED else (str(transfer_syntax) if transfer_syntax else None)
        if target is None:
            raise DeidentificationError(
                f"masking needs the pixel data decoded and stored again, and {_uid.uid_name(source)} ({source}) is "
                "lossy or has no encoder here: allow a lossless transfer syntax change (mask_transfer_syntax=, "
                f"--mask-transfer-syntax), e.g. {_uid.ExplicitVRLittleEndian} (Explicit VR Little Endian)")
        if target != _uid.ExplicitVRLittleEndian and target not in LOSSLESS_REENCODED:
            raise DeidentificationError(f"masked pixel data is stored in Explicit VR Little Endian or in a lossless "
                                        f"syntax that dicomfast encodes, not in {_uid.uid_name(target)} ({target})")
        decompress(ds)  # native, Explicit VR Little Endian
        _mask_native(ds, pixel_info(ds), rectangles)
        if target != _uid.ExplicitVRLittleEndian:
            compress(ds, target)
        return MaskOutcome("masked", key, rectangles, target)
    _mask_native(ds, info, rectangles)
    return MaskOutcome("masked", key, rectangles, info.transfer_syntax)


def _mask_native(ds: Dataset, info: Any, rectangles: tuple) -> None:
    import numpy as np

    if info.keyword != "PixelData":
        raise DeidentificationError(f"masking {info.keyword} is not supported")
    element = ds[_PIXEL_DATA]
    buf = bytearray(element.value)
    frames, rows, columns, samples = info.number_of_frames, info.rows, info.columns, info.samples_per_pixel
    photometric = info.photometric_interpretation
    if info.bits_allocated == 1:
        bits = np.unpackbits(np.frombuffer(buf, np.uint8), bitorder="little")
        image = bits[:frames * rows * columns].reshape(frames, rows, columns)
        for x, y, w, h in rectangles:
            image[:, y:y + h, x:x + w] = 0
        buf = bytearray(np.packbits(bits, bitorder="little").tobytes())
    else:
        if info.swap_ow:  # 8-bit data written as OW in big endian: byte pairs swapped
            pairs = np.frombuffer(buf, np.uint8)[:len(buf) // 2 * 2].reshape(-1, 2)
            pairs[:] = pairs[:, ::-1].copy()
        size = info.bits_allocated // 8
        dtype = np.dtype(f"{'>' if info.big_endian and not info.swap_ow else '<'}u{size}")
        mid = 1 << (info.bits_stored - 1)
        ybr = photometric in ("YBR_FULL", "YBR_FULL_422") and samples == 3
        if photometric == "YBR_FULL_422":  # Y Y Cb Cr per pair of pixels
            values = np.frombuffer(buf, dtype, count=frames * rows * (columns // 2) * 4)
            image = values.reshape(frames, rows, columns // 2, 4)
            for x, y, w, h in rectangles:
                first, last = x // 2, (x + w + 1) // 2
                image[:, y:y + h, first:last, 0:2] = 0
                image[:, y:y + h, first:last, 2:4] = mid
        else:
            values = np.frombuffer(buf, dtype, count=frames * rows * columns * samples)
            if info.planar_configuration == 1 and samples > 1:
                image = values.reshape(frames, samples, rows, columns)
                for x, y, w, h in rectangles:
                    image[:, :, y:y + h, x:x + w] = 0
                    if ybr:
                        image[:, 1:, y:y + h, x:x + w] = mid
            else:
                image = values.reshape(frames, rows, columns, samples)
                for x, y, w, h in rectangles:
                    image[:, y:y + h, x:x + w, :] = 0
                    if ybr:
                        image[:, y:y + h, x:x + w, 1:] = mid
        if info.swap_ow:
            pairs[:] = pairs[:, ::-1].copy()
    ds.add_new(_PIXEL_DATA, element.VR, bytes(buf))


def mark_clean(ds: Dataset, covers_annotation: bool) -> list[int]:
    """After a mask was applied and the caller says it covers all burned-in annotation: Burned In
    Annotation NO and the Clean Pixel Data Option's code (113101, CID 7050) in the
    De-identification Method and its Code Sequence. Returns the tags set."""
    if not covers_annotation:
        return []
    ds.BurnedInAnnotation = "NO"
    method = ds.get("DeidentificationMethod") or []
    ds.DeidentificationMethod = (method if isinstance(method, list) else [method]) + ["CLEAN PIXEL DATA OPTION"]
    item = Dataset()
    item.CodeValue = "113101"
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = "Clean Pixel Data Option"
    ds.DeidentificationMethodCodeSequence = list(ds.get("DeidentificationMethodCodeSequence") or []) + [item]
    return [0x00280301]
