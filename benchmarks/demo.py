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
libraries). Then the two other jobs users bring, on the same files:

* pixels: each file to Hounsfield units and to a windowed uint8 image (``dicomfast.read_pixels``)
  against pydicom's ``dcmread`` + ``pixel_array`` + ``apply_modality_lut`` + ``apply_voi_lut``;
  the Hounsfield units are checked equal to pydicom's;
* collections: the folder indexed into a table (``dicomfast.index``), its hierarchy, and the series
  loaded as a volume sorted by geometry (``dicomfast.load_series``), checked equal to the volume a
  pydicom user builds (read all, sort along the slice normal, stack, rescale), and timed against it.

Numbers are printed, never judged; a mismatch with pydicom makes the exit status 1.
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

    mismatches += _pixels(dicomfast, paths, args.repeat)
    mismatches += _collections(dicomfast, out, paths, args.repeat)
    return 1 if mismatches else 0


def _median_of(job, repeat):
    """Median seconds of ``job()`` over ``repeat`` runs, after one untimed run."""
    job()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pixels(dicomfast, paths, repeat) -> int:
    """Stored values to Hounsfield units and to a display window, per file; returns the mismatches."""
    import numpy as np
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    mismatches = 0
    checked = paths[:: max(1, len(paths) // 10)]  # about ten files, checked value for value
    for path in checked:
        ref = pydicom.dcmread(path)
        hu = apply_modality_lut(ref.pixel_array, ref).astype(np.float32)
        if not np.array_equal(dicomfast.read_pixels(path), hu):
            mismatches += 1
            print(f"  MISMATCH {path.name}: Hounsfield units differ from pydicom's")

    # a soft-tissue window, given to both (the series' header has none of its own)
    def ours(path):
        return dicomfast.read_pixels(path, window=(40.0, 400.0))

    def theirs(path):
        ds = pydicom.dcmread(path)
        ds.WindowCenter, ds.WindowWidth = 40.0, 400.0
        return apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds)

    print("\nmedian time per file, read -> Hounsfield units -> window 40/400 -> image:")
    print(f"  {'':30} {'dicomfast':>11} {'pydicom':>11} {'ratio':>7}")
    fast = _time_reads(ours, paths, repeat)
    ref = _time_reads(theirs, paths, repeat)
    label = "read_pixels(window=(40, 400))"
    print(f"  {label:30} {fast * 1e6:9.1f} us {ref * 1e6:9.1f} us {ref / fast:6.1f}x   (uint8 / float64 out)")
    verdict = "equal to pydicom's" if not mismatches else f"{mismatches} differ from pydicom's"
    print(f"  Hounsfield units of {len(checked)} files: {verdict}")
    return mismatches


def _reference_volume(paths):
    """What a pydicom user writes: read every file, sort along the slice normal, stack, rescale."""
    import numpy as np
    from pydicom.pixels import apply_modality_lut

    slices = [pydicom.dcmread(p) for p in paths]
    iop = np.array(slices[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    slices.sort(key=lambda ds: float(np.dot(np.array(ds.ImagePositionPatient, dtype=float), normal)))
    return np.stack([apply_modality_lut(ds.pixel_array, ds) for ds in slices]).astype(np.float32)


def _collections(dicomfast, folder, paths, repeat) -> int:
    """The folder as a table, a hierarchy and a volume; returns the mismatches."""
    import numpy as np

    try:
        table = dicomfast.index(folder)
    except ImportError as exc:  # pyarrow is an extra
        print(f"\ncollections: skipped ({exc})")
        return 0
    print(f"\nindex of {folder.name}: {table.num_rows} rows x {table.num_columns} columns, "
          f"{table['error'].null_count} readable; the hierarchy:")
    print("  " + dicomfast.format_tree(table).replace("\n", "\n  ").rstrip())
    for row in table.filter(table["error"].is_valid()).to_pylist():  # the series' manifest, series.json
        print(f"  (a row for {Path(row['path']).name}: {row['error_type']})")
    series = dicomfast.series_table(table).to_pylist()[0]
    print(f"  series #{series['series_number']}: {series['n_instances']} instances, acquired from {series['start']}"
          f" to {series['end']} ({series['duration_seconds']:.0f} s)")

    volume = dicomfast.load_series(table)
    ok = np.array_equal(volume.array, _reference_volume(paths))
    print(f"volume: {volume.shape} float32 HU, spacing {tuple(round(float(v), 3) for v in volume.spacing)} mm,"
          f" origin {tuple(round(float(v), 1) for v in volume.origin)} (LPS); "
          + ("equal to pydicom's volume sorted by geometry" if ok else "MISMATCH with pydicom's volume"))

    print(f"\nmedian time ({repeat} runs, warm cache):")
    print(f"  {'':30} {'dicomfast':>11} {'pydicom':>11} {'ratio':>7}")
    rows = (("index the folder", lambda: dicomfast.index(folder), None),
            ("load_series -> volume in HU", lambda: dicomfast.load_series(table), lambda: _reference_volume(paths)))
    for label, fast_job, ref_job in rows:
        fast = _median_of(fast_job, repeat)
        if ref_job is None:
            print(f"  {label:30} {fast * 1e3:9.1f} ms {'':>11} {'':>7}   ({len(paths) / fast:,.0f} files/s)")
            continue
        ref = _median_of(ref_job, repeat)
        print(f"  {label:30} {fast * 1e3:9.1f} ms {ref * 1e3:9.1f} ms {ref / fast:6.1f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
