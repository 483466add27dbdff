"""The one exception hierarchy of dicomfast.

Every error that bad input can cause is a :class:`DicomError`, itself a :class:`ValueError`, so a
caller that indexes a million files needs one ``except`` clause. Each subclass names one kind of
fault; the message says where in the file it was found.
"""

__all__ = [
    "DicomError",
    "NotDicomError",
    "TruncatedError",
    "InvalidLengthError",
    "InvalidValueError",
    "UnsupportedTransferSyntaxError",
    "MissingDecoderError",
    "PixelDataError",
    "InvalidPixelAttributeError",
    "PixelDataLengthError",
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
