"""Type stub of the compiled pixel kernels (dicomfast/_pixels.pyx).

The kernels trust their arguments: ``dicomfast.pixels`` checks lengths, dtypes and contiguity.
Every array is 1-D and C-contiguous; inputs may be read-only. They release the GIL.
"""

import numpy as np
import numpy.typing as npt

def unpack_bits(src: npt.NDArray[np.uint8], first_bit: int, out: npt.NDArray[np.uint8]) -> None:
    """``out[i]`` = bit ``first_bit + i`` of ``src``, least significant bit first (PS3.5 D.1).
    ``src`` must hold ``first_bit + len(out)`` bits."""

def needs_bit_correction(values: npt.NDArray[np.integer], bits_stored: int, signed: bool) -> bool:
    """Whether any value differs from itself kept to its low ``bits_stored`` bits (and
    sign-extended from them when ``signed``): pydicom's unused-bit correction would change it."""

def correct_bits(values: npt.NDArray[np.integer], bits_stored: int, signed: bool) -> None:
    """In place: keep the low ``bits_stored`` bits of each value, sign-extended when ``signed``."""

def expand_ybr422(src: npt.NDArray[np.integer], out: npt.NDArray[np.integer]) -> None:
    """Y1 Y2 Cb Cr -> Y1 Cb Cr Y2 Cb Cr; ``len(out) == len(src) // 4 * 6``, same dtype."""

def ybr_full_to_rgb(src: npt.NDArray[np.integer], out: npt.NDArray[np.integer]) -> None:
    """Interleaved Y Cb Cr triplets to R G B (PS3.3 C.7.6.3.1.2) with pydicom's float32 numerics
    (one rounding per multiply-add, + 0.5, floor, clip to [0, 255]); same dtype in and out."""
