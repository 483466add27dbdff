"""The compiled core: bytes -> element table ("tape") -> values.

``_cursor`` (byte-order loads), ``_scan`` (the one-pass element scanner and file reads), ``_values``
(a value decoded by its VR and character set) and ``_dataset`` (the compiled half of the Dataset
view). This layer knows Part 10 and the VRs; it knows nothing of pixels, of files beyond reading
their bytes, or of the Python-level :class:`~dicomfast.Dataset` built on it. Its C-level API is the
``.pxd`` files; the ``.pyi`` stubs describe the Python-level one.
"""
