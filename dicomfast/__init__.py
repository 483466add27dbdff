"""dicomfast: a Cython-accelerated DICOM reader.

    >>> import dicomfast
    >>> ds = dicomfast.dcmread("ct.dcm", stop_before_pixels=True)
    >>> ds.PatientName, ds[0x00280010].value

The compiled core is required: there is no pure-Python fallback, because a silent fallback would
be slower by two orders of magnitude without saying so.
"""

try:
    from . import _scan, _values  # noqa: F401  (the compiled core)
except ImportError as exc:  # pragma: no cover - exercised by tests/test_build.py in a subprocess
    raise ImportError(
        "dicomfast's compiled core is not built or does not load "
        f"({exc}). Build it from a source checkout with `pip install -e .` "
        "(or `python setup.py build_ext --inplace`), which needs Cython, NumPy and a C compiler."
    ) from exc

from .dataset import DataElement, Dataset, FileMetaDataset, Sequence
from .errors import (
    DicomError,
    InvalidLengthError,
    InvalidValueError,
    MissingDecoderError,
    NotDicomError,
    TruncatedError,
    UnsupportedTransferSyntaxError,
)
from .reader import dcmread, read_file_meta
from .tags import Tag
from .transforms import apply_modality_lut, apply_voi_lut, apply_windowing, window

__version__ = "0.1.0"

__all__ = [
    "dcmread",
    "read_file_meta",
    "Dataset",
    "DataElement",
    "FileMetaDataset",
    "Sequence",
    "Tag",
    "DicomError",
    "NotDicomError",
    "TruncatedError",
    "InvalidLengthError",
    "InvalidValueError",
    "UnsupportedTransferSyntaxError",
    "MissingDecoderError",
    "window",
    "apply_modality_lut",
    "apply_voi_lut",
    "apply_windowing",
]
