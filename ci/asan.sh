#!/usr/bin/env bash
# The test suite against the compiled core built with AddressSanitizer (and the debug build's bounds
# checks and DF_ASSERTs), for after a change to compiled code:
#   bash ci/asan.sh                          the reader, values, pixels, writer, index and fuzz tests
#   bash ci/asan.sh tests/test_fuzz.py -x    a selection (arguments go to pytest; options alone keep
#                                            the default selection)
#   FUZZ_SECONDS=600 bash ci/asan.sh         also the long fuzz run (tests/fuzzing.py, both modes)
# The build happens in a copy of the checkout (build/asan/), so the checkout's own build is left as
# it is. Python itself is not instrumented: libasan is preloaded, leaks are not reported (CPython's
# own allocations at exit would drown ours), any other finding stops the run with its report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh >/dev/null
root=$PWD
tree=build/asan
rm -rf "$tree"
mkdir -p "$tree"
# the tracked files and the new ones, as they are now (edits included), without build products
git ls-files --cached --others --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$tree"
cd "$tree"
export DICOMFAST_DEBUG=1
export CFLAGS="-fsanitize=address -fno-omit-frame-pointer -O1 -g"
export LDFLAGS="-fsanitize=address"
"$root/.venv/bin/python" setup.py -q build_ext --inplace >build.log 2>&1 || { tail -40 build.log; exit 1; }
# libstdc++ preloaded with libasan: the codecs written in C++ (CharLS, OpenJPH) throw exceptions, and
# ASan's __cxa_throw interceptor aborts ("real___cxa_throw != 0") when libstdc++ was not loaded
# before it; python itself does not link libstdc++. By its soname: the runtime (libstdc++6) is always
# there, the development link libstdc++.so only with g++.
export LD_PRELOAD="$(${CC:-cc} -print-file-name=libasan.so) libstdc++.so.6"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1
export PYTHONMALLOC=malloc  # every allocation through ASan's malloc, so overruns of Python buffers show
selected=0
for arg in "$@"; do case $arg in -*) ;; *) selected=1 ;; esac; done
if [ $selected -eq 0 ]; then  # options only (e.g. --junitxml=...): the default selection
    set -- "$@" tests/test_reader.py tests/test_values.py tests/test_cursor.py tests/test_pixels.py \
        tests/test_pixel_module.py tests/test_writer.py tests/test_defect_files.py tests/test_fuzz.py \
        tests/test_strict.py tests/test_read_pixels.py tests/test_dataset_api.py tests/test_index_paths.py \
        tests/test_index.py
fi
status=0
"$root/.venv/bin/python" -m pytest -q -p no:cacheprovider "$@" || status=$?
if [ $status -eq 0 ] && [ -n "${FUZZ_SECONDS:-}" ]; then
    "$root/.venv/bin/python" tests/fuzzing.py --seconds "$FUZZ_SECONDS" || status=$?
    "$root/.venv/bin/python" tests/fuzzing.py --pixels --seconds "$FUZZ_SECONDS" || status=$?
fi
# the copy goes (nothing of it may reach an sdist built next); kept after a failure, to look into
cd "$root"
[ $status -ne 0 ] || rm -rf "$tree"
exit $status
