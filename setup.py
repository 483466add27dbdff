"""Build the compiled core of dicomfast.

All Cython compiler directives live here, in one place. ``DICOMFAST_DEBUG=1`` builds the debug
variant: bounds and wraparound checks on, internal assertions (``DF_ASSERT`` in ``_cursor.h``)
compiled in, and line tracing for coverage. CI runs the test suite once against that build.
"""
import glob
import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("DICOMFAST_DEBUG", "") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "cdivision": True,
    "initializedcheck": DEBUG,
    "embedsignature": True,
}
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
compile_args = ["-O3"] if not DEBUG else ["-O0", "-g"]
# No fused multiply-add contraction: the AVX2 clones of the window loops (dicomfast/_window.h) must
# round exactly as the baseline build does, so every machine gives the same output.
compile_args += ["-ffp-contract=off"]
if DEBUG:
    directives["linetrace"] = True
    macros += [("DICOMFAST_DEBUG", "1"), ("CYTHON_TRACE_NOGIL", "1")]

# OpenMP (prange) only where a kernel splits work across threads.
OPENMP = {"_transform"}

# Every .pyx under dicomfast/ is one extension, named by its path (dicomfast/core/_scan.pyx ->
# dicomfast.core._scan); its own folder is on the include path for the C headers beside it.
extensions = [
    Extension(
        os.path.splitext(path)[0].replace(os.sep, "."),
        [path],
        include_dirs=[numpy.get_include(), os.path.dirname(path)],
        define_macros=macros,
        extra_compile_args=compile_args + (["-fopenmp"] if name in OPENMP else []),
        extra_link_args=["-fopenmp"] if name in OPENMP else [],
    )
    for path in sorted(glob.glob(os.path.join("dicomfast", "**", "*.pyx"), recursive=True))
    for name in [os.path.splitext(os.path.basename(path))[0]]
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        # A debug build must never reuse a release build's C files, nor the reverse.
        force=DEBUG,
    ),
)
