"""Pixel data: the Image Pixel module, native and encapsulated data, codecs, transforms."""
