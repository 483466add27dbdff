"""The one exception hierarchy of dicomfast.

Every error that bad input can cause is a :class:`DicomError`, itself a :class:`ValueError`, so a
caller that indexes a million files needs one ``except`` clause. Each subclass names one kind of
fault; the message says where in the file it was found.
"""

__all__ = [
    "DicomError",
    "DeidentificationError",
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
    "FileReadError",
    "TransportError",
    "SeriesError",
    "MixedSeriesError",
    "MissingGeometryError",
    "InconsistentSliceError",
    "DuplicateSliceError",
    "SliceSpacingError",
]


class DicomError(ValueError):
    """Base of every error raised for a file or value that dicomfast cannot read."""


class NotDicomError(DicomError):
    """The data is not DICOM: no ``DICM`` prefix and no plausible dataset (pass ``force=True`` to try)."""


class TruncatedError(DicomError):
    """The data ends inside an element, an item or a sequence.

    ``offset`` is where the damaged element starts. ``partial`` is the dataset of the elements read
    before the fault (its last element is the damaged one: reading that value raises this error
    again), or ``None`` when the fault is not in a dataset that was being read.
    """

    def __init__(self, message, offset=None, partial=None):
        super().__init__(message)
        self.offset = offset
        self.partial = partial


class InvalidLengthError(DicomError):
    """An element, item or sequence declares a length that its container cannot hold."""

    def __init__(self, message, offset=None, partial=None):
        super().__init__(message)
        self.offset = offset
        self.partial = partial


class InvalidValueError(DicomError):
    """A value cannot be decoded as its VR says (for example a DS that is not a number)."""


class InflateError(DicomError):
    """A Deflated Explicit VR dataset cannot be inflated: corrupt zlib data, or more than the reader's
    bound on the inflated size (a "zip bomb")."""


class UnsupportedTransferSyntaxError(DicomError):
    """The transfer syntax is not one that dicomfast can read or decode."""


class MissingDecoderError(DicomError):
    """Compressed pixel data needs a plugin that is not installed; the message names the pip package."""

    def __init__(self, message, package=None):
        super().__init__(message)
        self.package = package


class PixelDataError(DicomError):
    """The pixel data, or the Image Pixel module that describes it, cannot be decoded."""


class InvalidPixelAttributeError(PixelDataError):
    """An Image Pixel module attribute is missing or has a value that cannot describe pixel data
    (Bits Allocated 7, Samples per Pixel 2, Rows 0, ...)."""


class PixelDataLengthError(PixelDataError):
    """The pixel data holds fewer bytes than Rows x Columns x Samples x Frames x Bits Allocated need."""


class FileReadError(DicomError):
    """One file of many (a series, a batch) could not be read or does not fit.

    ``path`` (a str, or None for a Dataset given in memory) and ``index`` (its position in the
    input) say which; the original exception, if any,
    is the ``__cause__``.
    """

    def __init__(self, message, path=None, index=None):
        super().__init__(message)
        self.path = path
        self.index = index


class TransportError(DicomError):
    """Bytes could not be fetched from a remote source (an object store, an HTTP or DICOMweb
    server): the request failed, timed out, or the answer was not what was asked for (a short
    range, a wrong content type, a truncated multipart body). ``url`` says where."""

    def __init__(self, message, url=None):
        super().__init__(message)
        self.url = url


class FrameIndexError(DicomError):
    """The frames of a file cannot be located by offset from its header (deflated data, fragments
    that do not map to frames, no pixel data), or an index row holds no frame index
    (``index(..., frames=True)``, ``read_frames``)."""


class DeidentificationError(DicomError):
    """A dataset cannot be de-identified as asked (a value that cannot be replaced validly, a
    damaged input whose output would be invalid, a mask that cannot be applied)."""


class SeriesError(DicomError):
    """The files or frames given to ``load_series`` do not make one regular volume."""


class MixedSeriesError(SeriesError):
    """The input holds several series and no ``series_uid`` chose one; ``series`` maps each
    Series Instance UID to its number of instances."""

    def __init__(self, message, series=None):
        super().__init__(message)
        self.series = dict(series or {})


class MissingGeometryError(SeriesError):
    """A slice lacks the geometry a volume needs (Image Position / Orientation (Patient),
    Pixel Spacing), or has values that cannot describe a plane."""


class InconsistentSliceError(SeriesError):
    """Slices differ where a volume needs them equal: orientation, rows and columns, pixel
    spacing, or samples per pixel."""


class DuplicateSliceError(SeriesError):
    """Two slices lie at the same position along the slice normal."""


class SliceSpacingError(SeriesError):
    """The distances between slices are not regular: a missing slice (a gap), an irregular
    step, or slices not stacked along their normal (gantry tilt)."""
