"""The byte-order loads of dicomfast/_cursor.h, compiled in both of their branches.

The memcpy branch is what every little-endian build uses; the shift branch is what a big-endian
host (or a compiler without ``__BYTE_ORDER__``) would use, and ``-DDF_PORTABLE_LOADS`` forces it
here so that it cannot go stale (STYLE.md rule 2). Each build runs a small C program that checks
every load, at every offset of an 8-byte window (so most are unaligned), against values Python
computes with ``int.from_bytes``; the two builds must also print the same results. A third build
with ``-DDICOMFAST_DEBUG`` (and ``-DNDEBUG``, as Python passes it) checks that ``DF_ASSERT`` compiles
and is live only in that build.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from package import package_dir

HEADER_DIR = package_dir() / "core"
CC = shutil.which("cc") or shutil.which("gcc")

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler (cc or gcc) on PATH")

# High bits set in most bytes, so that a sign-extension or shift-width bug shows.
DATA = bytes((0x9B * (i + 1) + 0x35) & 0xFF for i in range(24))
OFFSETS = range(8)
LOADS = [  # name, width in bytes, byte order, the runtime "big" argument (None: fixed order)
    ("df_u16le", 2, "little", None), ("df_u32le", 4, "little", None), ("df_u64le", 8, "little", None),
    ("df_u16be", 2, "big", None), ("df_u32be", 4, "big", None), ("df_u64be", 8, "big", None),
    ("df_u16", 2, "little", 0), ("df_u32", 4, "little", 0), ("df_u64", 8, "little", 0),
    ("df_u16", 2, "big", 1), ("df_u32", 4, "big", 1), ("df_u64", 8, "big", 1),
]


def _program() -> str:
    checks = []
    for name, width, order, big in LOADS:
        call_args = "p" if big is None else f"p, {big}"
        label = name if big is None else f"{name}(big={big})"
        for offset in OFFSETS:
            expected = int.from_bytes(DATA[offset:offset + width], order)
            checks.append(
                f'    {{ const uint8_t *p = data + {offset};\n'
                f'      uint64_t got = (uint64_t){name}({call_args});\n'
                f'      DF_ASSERT(got == {expected}ULL);\n'
                f'      printf("{label} +{offset} %016llx\\n", (unsigned long long)got);\n'
                f'      if (got != {expected}ULL) {{ failures++;\n'
                f'        fprintf(stderr, "{label} at +{offset}: got %llx, expected {expected:x}\\n",\n'
                f'                (unsigned long long)got); }} }}\n'
            )
    data = ", ".join(f"0x{b:02x}" for b in DATA)
    return f"""\
#include <stdio.h>
#include <string.h>
#include "_cursor.h"

/* Aligned storage, so that "+ offset" really is (mis)aligned as the offset says. */
static union {{ uint64_t align; uint8_t bytes[{len(DATA)}]; }} storage = {{ 0 }};

int main(int argc, char **argv) {{
    static const uint8_t pattern[] = {{ {data} }};
    const uint8_t *data = storage.bytes;
    int failures = 0;
    memcpy(storage.bytes, pattern, sizeof pattern);
    if (argc > 1 && strcmp(argv[1], "assert-false") == 0) {{
        DF_ASSERT(data[0] == data[0] + 1);
        return 0;
    }}
    fprintf(stderr, "DF_HOST_LE=%d\\n", DF_HOST_LE);
{"".join(checks)}
    return failures ? 1 : 0;
}}
"""


def _build(tmp_path_factory, name: str, *defines: str) -> Path:
    work = tmp_path_factory.mktemp(name)
    source = work / "check_cursor.c"
    source.write_text(_program())
    exe = work / "check_cursor"
    cmd = [CC, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", *defines,
           f"-I{HEADER_DIR}", str(source), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stderr}"
    return exe


def _run(exe: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def native(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "native")


@pytest.fixture(scope="module")
def portable(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "portable", "-DDF_PORTABLE_LOADS")


@pytest.fixture(scope="module")
def debug(tmp_path_factory) -> Path:
    # -DNDEBUG as Python's own compiler flags pass it to every extension: DF_ASSERT must not be
    # assert(), which NDEBUG compiles out (it once was, and the debug build checked nothing).
    return _build(tmp_path_factory, "debug", "-DNDEBUG", "-DDICOMFAST_DEBUG")


@pytest.mark.parametrize("variant", ["native", "portable", "debug"])
def test_loads_give_the_expected_values(variant, request):
    proc = _run(request.getfixturevalue(variant))
    assert proc.returncode == 0, f"{variant} build: wrong loads\n{proc.stderr}"
    assert len(proc.stdout.splitlines()) == len(LOADS) * len(OFFSETS)


def test_branches_agree(native, portable):
    a, b = _run(native), _run(portable)
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout


def test_portable_build_takes_the_shift_branch(native, portable):
    assert "DF_HOST_LE=0" in _run(portable).stderr
    if sys.byteorder == "little":
        # cc is gcc or clang here, which define __BYTE_ORDER__: the memcpy branch is used.
        assert "DF_HOST_LE=1" in _run(native).stderr


def test_df_assert_is_live_only_in_the_debug_build(native, debug):
    assert _run(native, "assert-false").returncode == 0
    failed = _run(debug, "assert-false")
    assert failed.returncode != 0, "DF_ASSERT(false) did not stop the DICOMFAST_DEBUG build"
    assert "dicomfast internal check failed" in failed.stderr, failed.stderr
