"""dicomfast: a Cython-accelerated DICOM reader.

    >>> import dicomfast
    >>> ds = dicomfast.dcmread("ct.dcm", stop_before_pixels=True)
    >>> ds.PatientName, ds[0x00280010].value

The compiled core is required: there is no pure-Python fallback, because a silent fallback would
be slower by two orders of magnitude without saying so.
"""

try:
    from .core import _dataset, _scan, _values  # noqa: F401  (the compiled core)
except ImportError as exc:  # pragma: no cover - exercised by tests/test_build.py in a subprocess
    raise ImportError(
        "dicomfast's compiled core is not built or does not load "
        f"({exc}). Build it from a source checkout with `pip install -e .` "
        "(or `python setup.py build_ext --inplace`), which needs Cython, NumPy and a C compiler."
    ) from exc

from .dataset import DataElement, Dataset, FileMetaDataset, Sequence
from .errors import (
    DicomError,
    DuplicateSliceError,
    FileReadError,
    InconsistentSliceError,
    InvalidLengthError,
    InvalidPixelAttributeError,
    InflateError,
    InvalidValueError,
    MissingDecoderError,
    MissingGeometryError,
    MixedSeriesError,
    PixelDataError,
    PixelDataLengthError,
    FrameIndexError,
    TransportError,
    NotDicomError,
    SeriesError,
    SliceSpacingError,
    TruncatedError,
    UnsupportedTransferSyntaxError,
)
from .reader import dcmread, read_file_meta
from .writer import dcmwrite
from .tags import Tag
from .uid import generate_uid

__version__ = "0.1.0"

# The pixel and transform APIs import NumPy: only when first used, so a header read does not pay.
_LAZY = {
    "pixel_array": "pixels",
    "iter_frames": "pixels",
    "apply_color_lut": "pixels",
    "window": "pixels",
    "apply_modality_lut": "pixels",
    "apply_voi_lut": "pixels",
    "apply_windowing": "pixels",
    "read_pixels": "pixels",
    "load_series": "collection.series",
    "Volume": "collection.series",
    "DicomDataset": "ml",
    "read_batch": "ml",
    "deidentify": "deid",
    # collections: pyarrow is imported on first use (pip install dicomfast[index])
    "index": "collection.indexing",  # not index.py: a submodule would shadow the function once imported
    "index_schema": "collection.indexing",
    "read_frames": "collection.frames",
    "series_table": "collection.hierarchy",
    "study_table": "collection.hierarchy",
    "patient_table": "collection.hierarchy",
    "format_tree": "collection.hierarchy",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value  # found once: later lookups skip this function
        return value
    raise AttributeError(f"module 'dicomfast' has no attribute {name!r}")


__all__ = [
    "dcmread",
    "read_file_meta",
    "dcmwrite",
    "Dataset",
    "DataElement",
    "FileMetaDataset",
    "Sequence",
    "Tag",
    "generate_uid",
    "DicomError",
    "NotDicomError",
    "TruncatedError",
    "InvalidLengthError",
    "InflateError",
    "InvalidValueError",
    "UnsupportedTransferSyntaxError",
    "MissingDecoderError",
    "PixelDataError",
    "InvalidPixelAttributeError",
    "PixelDataLengthError",
    "pixel_array",
    "iter_frames",
    "apply_color_lut",
    "window",
    "apply_modality_lut",
    "apply_voi_lut",
    "apply_windowing",
    "load_series",
    "Volume",
    "DicomDataset",
    "read_batch",
    "FileReadError",
    "SeriesError",
    "MixedSeriesError",
    "MissingGeometryError",
    "InconsistentSliceError",
    "DuplicateSliceError",
    "SliceSpacingError",
    "index",
    "index_schema",
    "read_frames",
    "FrameIndexError",
    "TransportError",
    "series_table",
    "study_table",
    "patient_table",
    "format_tree",
    "read_pixels",
    "deidentify",
]
