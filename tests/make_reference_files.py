"""Write reference files made by DCMTK and GDCM into tests/data/generated/ (gitignored).

Other toolkits' writers are the second reference beside pydicom: the same content in every
uncompressed transfer syntax (and deflate), encoded by code that is not pydicom's. A handful of
pydicom's test files are converted, chosen for what they exercise:

    CT_small       private tags (GE), a sequence, signed 16-bit pixels
    MR_small       a plain MR image
    rtplan         deeply nested sequences, no pixels
    rtstruct       long sequences of contours (DS multi-values)
    rtdose         multi-frame, 32-bit pixels
    test-SR        structured report: sequences many levels deep
    chrH31         Japanese, ISO 2022 escape sequences
    chrX1          UTF-8 (ISO_IR 192)

Outputs are named ``<source-stem>__<tool>_<syntax>.dcm``, e.g. ``CT_small__dcmtk_bigendian.dcm``,
with <syntax> one of implicit (implicit VR LE), explicit (explicit VR LE), bigendian (explicit VR
BE, retired, DCMTK only: gdcmconv cannot write it) and deflated (deflated explicit VR LE).

Idempotent and fast: an output newer than its source and than this script is kept. Missing tools
are skipped and reported; a conversion that a tool refuses is reported and skipped.

Run by tests/conftest.py at the start of every pytest session; by hand::

    python tests/make_reference_files.py [--force]
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATED_DIR = HERE / "data" / "generated"

# (directory under pydicom/data, file name)
SOURCES = [
    ("test_files", "CT_small.dcm"),
    ("test_files", "MR_small.dcm"),
    ("test_files", "rtplan.dcm"),
    ("test_files", "rtstruct.dcm"),
    ("test_files", "rtdose.dcm"),
    ("test_files", "test-SR.dcm"),
    ("charset_files", "chrH31.dcm"),
    ("charset_files", "chrX1.dcm"),
]

# tool -> (executable, Debian package, {syntax: command-line options})
TOOLS = {
    "dcmtk": (
        "dcmconv",
        "dcmtk",
        {"implicit": ["+ti"], "explicit": ["+te"], "bigendian": ["+tb"], "deflated": ["+td"]},
    ),
    "gdcm": (
        "gdcmconv",
        "libgdcm-tools",
        {"implicit": ["-M"], "explicit": ["-X"], "deflated": ["-d"]},
    ),
}


@dataclass
class Report:
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (output name, reason)
    missing_tools: dict[str, str] = field(default_factory=dict)  # tool -> reason

    @property
    def files(self) -> list[Path]:
        return sorted(self.written + self.kept)

    def summary(self) -> str:
        parts = [f"{len(self.files)} in {GENERATED_DIR.relative_to(HERE.parent)}"]
        if self.written:
            parts.append(f"{len(self.written)} new")
        for tool, reason in sorted(self.missing_tools.items()):
            parts.append(f"{tool} skipped: {reason}")
        if self.failed:
            parts.append(f"{len(self.failed)} conversions refused: " + ", ".join(n for n, _ in self.failed))
        return "; ".join(parts)


def pydicom_data_dir() -> Path:
    """pydicom's bundled data directory, found without importing pydicom.data (whose helpers
    download files and may hang without a network)."""
    spec = importlib.util.find_spec("pydicom")
    if spec is None or spec.origin is None:
        raise RuntimeError("pydicom is not installed: pip install -e .[test]")
    return Path(spec.origin).parent / "data"


def missing_tools() -> dict[str, str]:
    """Tools that are not on PATH, with a reason that says how to get them."""
    missing = {}
    for tool, (exe, package, _) in TOOLS.items():
        if shutil.which(exe) is None:
            missing[tool] = f"{exe} not found (apt-get install {package}, or run ci/setup.sh as root)"
    return missing


def _up_to_date(out: Path, source: Path) -> bool:
    if not out.exists():
        return False
    mtime = out.stat().st_mtime
    return mtime >= source.stat().st_mtime and mtime >= Path(__file__).stat().st_mtime


def generate(force: bool = False) -> Report:
    report = Report(missing_tools=missing_tools())
    GENERATED_DIR.mkdir(parents=True, exist_ok=True)
    data = pydicom_data_dir()
    for tool, (exe, _, syntaxes) in TOOLS.items():
        if tool in report.missing_tools:
            continue
        for folder, name in SOURCES:
            source = data / folder / name
            if not source.exists():
                report.failed.append((name, f"source {source} not found"))
                continue
            for syntax, options in syntaxes.items():
                out = GENERATED_DIR / f"{source.stem}__{tool}_{syntax}.dcm"
                if not force and _up_to_date(out, source):
                    report.kept.append(out)
                    continue
                tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
                cmd = [exe, *options, str(source), str(tmp)]
                try:
                    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
                except subprocess.TimeoutExpired:
                    report.failed.append((out.name, "timed out"))
                    tmp.unlink(missing_ok=True)
                    continue
                if proc.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
                    reason = (proc.stderr or proc.stdout).strip().splitlines()
                    report.failed.append((out.name, reason[-1] if reason else f"exit {proc.returncode}"))
                    tmp.unlink(missing_ok=True)
                    out.unlink(missing_ok=True)
                    continue
                tmp.replace(out)
                report.written.append(out)
    return report


def main(argv: list[str]) -> int:
    report = generate(force="--force" in argv)
    print("reference files:", report.summary())
    for name, reason in report.failed:
        print(f"  refused {name}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
