"""Collections: many files at once.

``executor`` (the one process-pool / Dask executor), ``threads`` (the thread pool for volumes and
batches), ``indexing`` (the one directory walk, and an archive as an Arrow table), ``hierarchy``
(patients, studies, series), ``series`` (a series as a :class:`Volume` with its geometry), ``batch``
(N images into one array: ``read_batch``).
"""
