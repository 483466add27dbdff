"""Type stub of the compiled transform kernels (dicomfast/_transform.pyx).

The kernels trust their arguments: flat C-contiguous arrays of matching lengths, checked by
dicomfast/transforms.py. ``src`` may be int8/16/32, uint8/16/32, float32 or float64.
"""

from typing import Final

import numpy as np
import numpy.typing as npt

FUNC_LINEAR: Final[int]
FUNC_STEP: Final[int]
FUNC_SIGMOID: Final[int]
HALF: Final[int]
HAVE_FIXED: Final[bool]

def set_num_threads(n: int) -> int: ...
def plan_kind(a2: float, b2: float, is_signed: bool) -> str: ...
def window_linear_u8(
    arr: object,
    out: object,
    center: object,
    width: object,
    slope: object,
    intercept: object,
) -> npt.NDArray[np.uint8] | None: ...

def window(
    src: npt.NDArray[np.generic],
    dst: npt.NDArray[np.uint8] | npt.NDArray[np.uint16] | npt.NDArray[np.float32] | npt.NDArray[np.float64],
    func: int,
    a: float,
    b: float,
    scale: float,
    offset: float,
    half: bool = False,
    fixed: bool = True,
) -> None: ...
def rescale(
    src: npt.NDArray[np.generic],
    dst: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    slope: float,
    intercept: float,
) -> None: ...
def lookup(
    src: npt.NDArray[np.generic],
    lut: npt.NDArray[np.uint8] | npt.NDArray[np.uint16],
    dst: npt.NDArray[np.uint8] | npt.NDArray[np.uint16],
    first_map: int,
) -> None: ...
