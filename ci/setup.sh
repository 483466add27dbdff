#!/usr/bin/env bash
# Set up a checkout of dicomfast for development, tests and the demo; safe to run again.
#
#   1. system tools for the reference files and checks: dcmtk, libgdcm-tools and dicom3tools (apt-get, as root; as
#      another user it says so and goes on: the tests that need them skip with the reason)
#   2. a virtualenv in .venv (PYTHON=python3.x picks the interpreter; default python3)
#   3. the build and test dependencies, and dicomfast itself in editable mode (once, and again
#      whenever pyproject.toml or setup.py changes)
#   4. the compiled core, built in place: DICOMFAST_DEBUG=1 builds the debug variant (bounds
#      checks, internal assertions, line tracing) with a full rebuild; a later run without it
#      rebuilds the release variant. Otherwise the build is incremental.
#
# Under CI=true a failure to install the system tools is an error, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

# --- 1. system tools -------------------------------------------------------------------------
need=()
command -v dcmconv >/dev/null 2>&1 || need+=(dcmtk)
command -v gdcmconv >/dev/null 2>&1 || need+=(libgdcm-tools)
command -v dciodvfy >/dev/null 2>&1 || need+=(dicom3tools)
# Orthanc and its DICOMweb plugin: the DICOMweb tests (tests/test_dicomweb.py) start one
command -v Orthanc >/dev/null 2>&1 || need+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
if ((${#need[@]})); then
    apt_cmd=()
    if [ "$(id -u)" = 0 ]; then
        apt_cmd=(env DEBIAN_FRONTEND=noninteractive)
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        apt_cmd=(sudo -n env DEBIAN_FRONTEND=noninteractive)
    fi
    if ((${#apt_cmd[@]})) && command -v apt-get >/dev/null 2>&1; then
        say "installing ${need[*]} with apt-get"
        if ! { "${apt_cmd[@]}" apt-get update -qq &&
               "${apt_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }; then
            if [ "${CI:-}" = true ]; then
                say "ERROR: apt-get could not install ${need[*]}"; exit 1
            fi
            say "WARNING: apt-get could not install ${need[*]}; the tests that need them will skip"
        fi
    else
        say "not root and no apt-get/sudo: cannot install ${need[*]};" \
            "the tests that need them will skip (install them and run this again)"
        if [ "${CI:-}" = true ]; then exit 1; fi
    fi
fi

# --- 2. virtualenv ---------------------------------------------------------------------------
PYTHON=${PYTHON:-python3}
if ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
    say "creating .venv with $($PYTHON --version 2>&1)"
    rm -rf .venv
    if ! "$PYTHON" -m venv .venv; then
        # Debian's own python3 needs python3-venv for ensurepip
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            say "installing python3-venv"
            rm -rf .venv
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            "$PYTHON" -m venv .venv
        else
            say "ERROR: '$PYTHON -m venv' failed (apt-get install python3-venv?)"; exit 1
        fi
    fi
fi
PY=.venv/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

# --- 3. dependencies and the editable install ------------------------------------------------
mode=release
case "${DICOMFAST_DEBUG:-}" in ""|0) ;; *) mode=debug ;; esac
mkdir -p build
mode_file=build/dicomfast-build-mode
previous_mode=$(cat "$mode_file" 2>/dev/null || echo none)
if [ "$previous_mode" != "$mode" ]; then
    # setup.py regenerates the C files for a debug build, not for a release build after one:
    # remove the generated C (and the modules built from it) so that nothing of the other
    # variant survives. Only files generated from a .pyx are touched.
    find dicomfast -name '*.pyx' -print0 | while IFS= read -r -d '' pyx; do
        rm -f "${pyx%.pyx}.c" "${pyx%.pyx}".*.so
    done
    rm -rf build/lib.* build/temp.*
fi

deps_stamp=$(cat pyproject.toml setup.py | sha256sum | cut -c1-16)-$($PY -c 'import sys; print(sys.version_info[:2])' | tr -d ' ()' | tr ',' .)
built_by_pip=0
if [ "$(cat .venv/.dicomfast-deps 2>/dev/null)" != "$deps_stamp" ]; then
    say "installing build and test dependencies into .venv"
    $PY -m pip install -q --upgrade pip
    $PY -m pip install -q "setuptools>=68" wheel "Cython>=3.0" "numpy>=1.24"
    say "pip install -e .[test] ($mode build)"
    $PY -m pip install -q --no-build-isolation -e ".[test]"
    echo "$deps_stamp" > .venv/.dicomfast-deps
    built_by_pip=1
fi

# --- 4. the compiled core --------------------------------------------------------------------
if [ "$built_by_pip" = 1 ]; then
    :  # pip has just built the $mode variant from fresh C files
elif [ "$mode" = debug ]; then
    say "debug build: python setup.py build_ext --inplace --force"
    $PY setup.py -q build_ext --inplace --force
else
    force=()
    [ "$previous_mode" != "$mode" ] && force=(--force)
    say "release build: python setup.py build_ext --inplace ${force[*]}"
    $PY setup.py -q build_ext --inplace "${force[@]}"
fi
echo "$mode" > "$mode_file"
say "ready: $($PY --version), $mode build of dicomfast in $(pwd)"
