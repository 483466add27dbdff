"""The demo: make a CT series, read it with dicomfast and with pydicom, show what was found and how
fast each one read it.

    bash ci/demo.sh                      # sets everything up first, then runs this
    python benchmarks/demo.py [-n 300] [--implicit] [--out DIR] [--repeat 5]

The series (benchmarks/make_ct_series.py: 300 slices of 512 x 512 int16; the header of a real GE CT
image, 256 elements, 179 of them private, plus 6 documented standard sequences and attributes) goes
to benchmarks/data/ (gitignored) and is reused by later runs.
The timing is the one an ML data loader or an indexing job pays per file: open the file, read the
header (``stop_before_pixels=True``), and get 10 attributes. The same is timed with
``specific_tags`` naming those 10. Each figure is the median per file over all files and
``--repeat`` passes, after one warm-up pass (so the files come from the page cache for both
libraries). Numbers are printed, never judged.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import pydicom  # noqa: E402

from make_ct_series import make_series  # noqa: E402

# what a loader reads per slice: identity, geometry, intensity scaling
TAGS = [
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "InstanceNumber",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "SliceThickness",
    "RescaleIntercept",
    "RescaleSlope",
]


def _plain(value):
    """pydicom's and dicomfast's values as plain Python, to compare them."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _time_reads(read, paths, repeat):
    """Median seconds per file of ``read(path)``, after one untimed pass."""
    for path in paths:
        read(path)
    times = []
    clock = time.perf_counter
    for _ in range(repeat):
        for path in paths:
            start = clock()
            read(path)
            times.append(clock() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300, help="slices (default 300)")
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--cols", type=int, default=512)
    parser.add_argument("--implicit", action="store_true", help="implicit VR little endian series")
    parser.add_argument("--out", type=Path, help="series directory (default: benchmarks/data/ct_<syntax>_<n>)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the series (default 5)")
    args = parser.parse_args(argv)

    try:
        import dicomfast
    except ImportError as exc:
        print(f"dicomfast is not importable: {exc}\nSet it up with: bash ci/setup.sh", file=sys.stderr)
        return 1

    syntax = "implicit" if args.implicit else "explicit"
    out = args.out or HERE / "data" / f"ct_{syntax}_{args.n}_{args.rows}x{args.cols}"
    start = time.perf_counter()
    paths = make_series(out, args.n, args.rows, args.cols, args.implicit)
    made = time.perf_counter() - start
    size = sum(p.stat().st_size for p in paths)
    print(f"series: {len(paths)} files, {size / 1e6:.1f} MB, {args.rows}x{args.cols}, {syntax} VR little endian,"
          f" in {out} (ready in {made:.1f} s)")

    # --- what dicomfast finds, checked against pydicom ---
    headers = [dicomfast.dcmread(p, stop_before_pixels=True) for p in paths]
    first = headers[0]
    studies = {ds.StudyInstanceUID for ds in headers}
    series = {ds.SeriesInstanceUID for ds in headers}
    print(f"patient: {first.PatientName} (ID {first.PatientID}), {first.Modality}, {first.Manufacturer}")
    print(f"studies: {len(studies)}  {first.StudyInstanceUID}  {first.get('StudyDescription', '')!r}")
    print(f"series:  {len(series)}  {first.SeriesInstanceUID}  #{first.SeriesNumber}")
    positions = sorted(float(ds.ImagePositionPatient[2]) for ds in headers)
    print(f"slices:  {len(headers)}, z from {positions[0]:.2f} to {positions[-1]:.2f} mm,"
          f" {len(first)} top-level elements in each header")

    mismatches = 0
    for path, ds in zip(paths, headers):
        ref = pydicom.dcmread(path, stop_before_pixels=True)
        for keyword in TAGS:
            if _plain(ds[keyword].value) != _plain(ref[keyword].value):
                mismatches += 1
                if mismatches <= 5:
                    print(f"  MISMATCH {path.name} {keyword}: dicomfast {ds[keyword].value!r},"
                          f" pydicom {ref[keyword].value!r}")
    print(f"the {len(TAGS)} attributes agree with pydicom in {len(paths) - min(mismatches, len(paths))}"
          f" of {len(paths)} files" + (f" ({mismatches} mismatches)" if mismatches else ""))

    # --- speed ---
    def header_read(module):
        def read(path):
            ds = module.dcmread(path, stop_before_pixels=True)
            return [ds[keyword].value for keyword in TAGS]
        return read

    def specific_read(module):
        def read(path):
            ds = module.dcmread(path, specific_tags=TAGS)
            return [ds[keyword].value for keyword in TAGS]
        return read

    print(f"\nmedian time per file to open it, read the header and get {len(TAGS)} attributes"
          f" ({args.repeat} passes, warm cache):")
    print(f"  {'':30} {'dicomfast':>11} {'pydicom':>11} {'ratio':>7}")
    for label, make_read in (("stop_before_pixels=True", header_read), ("specific_tags=<the 10>", specific_read)):
        fast = _time_reads(make_read(dicomfast), paths, args.repeat)
        ref = _time_reads(make_read(pydicom), paths, args.repeat)
        print(f"  {label:30} {fast * 1e6:9.1f} us {ref * 1e6:9.1f} us {ref / fast:6.1f}x")
    print(f"  (ratio = pydicom time / dicomfast time; dicomfast {getattr(dicomfast, '__version__', '?')},"
          f" pydicom {pydicom.__version__}, Python {sys.version.split()[0]})")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
