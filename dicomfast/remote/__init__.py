"""Remote data: DICOMweb (QIDO-RS, WADO-RS, STOW-RS) and frame reads by a frame index.

URLs and fsspec files themselves are read by the layers below (``dicomfast.sources``): ``dcmread``,
``pixel_array``, ``read_pixels``, ``index`` and ``load_series`` take them as they take paths.
"""
