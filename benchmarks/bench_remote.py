"""Remote reads: requests, bytes and wall time of dicomfast against pydicom + fsspec (HTTP) and
against dicomweb-client (DICOMweb, Orthanc), on the same data.

    python benchmarks/bench_remote.py [-n 40] [--frames 60] [--size 256] [--repeat 5] [--json out.json]

The data (written into a temporary directory): a CT series of ``n`` slices (``make_ct_series``,
``size`` x ``size`` int16) and two ``frames``-frame ``size`` x ``size`` 12-bit files, one native
and one RLE Lossless with a Basic Offset Table. It is served twice, both on localhost:

* over HTTP by tests/remote_servers.py's ``RangeServer`` (a ``Range``-capable static server that
  counts each request and the bytes of its answer); dicomfast reads the URLs through fsspec, and
  so does a pydicom user: ``with fsspec.open(url) as f: pydicom.dcmread(f, ...)``, then
  ``ds.pixel_array``;
* over DICOMweb by Orthanc with its DICOMweb plugin (stored with STOW-RS), behind
  ``CountingProxy``, which counts the same way; dicomfast's ``DICOMwebClient`` against
  ``dicomweb_client.DICOMwebClient``, both asking for the stored transfer syntax.

The operations: **header** (one slice's header: ``stop_before_pixels`` / the instance's DICOM JSON
metadata), **one frame** and **ten scattered frames** of each multi-frame file (decoded arrays,
except dicomweb-client's, which returns the frames' bytes undecoded; dicomfast's client first asks
for the instance's metadata, for the Image Pixel module, unless it is given as ``metadata=``),
**series** (the whole series as a float32 Hounsfield volume, sorted along the slice normal),
**batch** (16 of its slices in a shuffled order into one float32 Hounsfield array, as an ML loader
asks: ``read_batch`` of the URLs, ``DICOMwebClient.read_batch`` of the instances with 1 and 4
workers, pydicom + fsspec and dicomweb-client's ``retrieve_instance`` one after another).

Requests and bytes (the bodies of the answers) are counted on one run of each case, read by the
servers; times are medians of ``repeat`` passes in which the cases take turns (one untimed pass
first). The arrays are checked against pydicom's. Numbers are printed, never asserted:
tests/test_bench_remote.py runs :func:`run` once on tiny data so that this script cannot go stale.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
for extra in (HERE, HERE.parent / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
if str(HERE.parent) not in sys.path:  # run from a source checkout: the package next to benchmarks/
    sys.path.append(str(HERE.parent))

from bench_header import _stats, machine_info  # noqa: E402

#: (key, label) of the operations, in the order printed
OPERATIONS = (
    ("header", "header of one slice"),
    ("frame_native", "one frame, native"),
    ("frame_rle", "one frame, RLE"),
    ("frames10_native", "ten scattered frames, native"),
    ("frames10_rle", "ten scattered frames, RLE"),
    ("series", "whole series -> float32 HU volume"),
    ("batch", "batch of 16 slices -> float32 HU"),
)
#: (key, label) of the tools
TOOLS = (
    ("dicomfast_http", "dicomfast, fsspec HTTP"),
    ("dicomfast_http_index", "dicomfast read_frames(index row), HTTP"),
    ("pydicom_http", "pydicom + fsspec HTTP"),
    ("pydicom_http_index", "pydicom + fsspec, pixel_array(f, index=k)"),
    ("dicomfast_s3", "dicomfast, fsspec S3 (moto)"),
    ("pydicom_s3", "pydicom + fsspec S3 (moto)"),
    ("dicomfast_web", "dicomfast DICOMwebClient (1 request)"),
    ("dicomfast_web_meta", "dicomfast DICOMwebClient, metadata= given"),
    ("dicomfast_web_1", "dicomfast DICOMwebClient, workers=1"),
    ("dicomfast_web_4", "dicomfast DICOMwebClient, workers=4"),
    ("dicomweb_client", "dicomweb-client"),
)
DEFAULT_REPEAT = 5


# -- the data ------------------------------------------------------------------------------------

def _multiframe(path: Path, rle: bool, frames: int, size: int) -> Path:
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import generate_uid

    from dicomfast.pixels.codecs.encoding import encode_frames

    rng = np.random.default_rng(13)
    yy, xx = np.mgrid[:size, :size]
    base = (1800 + 1000 * np.sin(xx / 9.0) * np.cos(yy / 13.0)).astype(np.int64)
    arr = np.stack([base + (1200 * k) // frames + rng.integers(0, 40, (size, size)) for k in range(frames)])
    arr = arr.astype(np.uint16)  # 800 to 4040: 12 bits
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.5" if rle else "1.2.840.10008.1.2.1"
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.3"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Bench^Remote", "BR13", "OT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.NumberOfFrames = frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if rle:
        ds.PixelData = encapsulate(encode_frames(arr, ds.file_meta.TransferSyntaxUID, bits_stored=12).fragments,
                                   has_bot=True)
        ds["PixelData"].VR = "OB"
    else:
        ds.PixelData = arr.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def scattered(frames: int, count: int = 10) -> list[int]:
    """``count`` frames spread over ``frames``, none next to another where there is room, not in order."""
    import numpy as np

    picked = sorted({int(v) for v in np.linspace(1, frames - 1, min(count, frames - 1))})
    return picked[1::2] + picked[0::2]


# -- the reads -----------------------------------------------------------------------------------

def _hu_volume(datasets: list) -> Any:
    """pydicom datasets sorted along the slice normal, stacked as float32 Hounsfield units."""
    import numpy as np
    from pydicom.pixels import apply_modality_lut

    orientation = np.array(datasets[0].ImageOrientationPatient, float)
    normal = np.cross(orientation[:3], orientation[3:])
    datasets = sorted(datasets, key=lambda ds: float(np.dot(normal, np.array(ds.ImagePositionPatient, float))))
    out = np.empty((len(datasets), datasets[0].Rows, datasets[0].Columns), np.float32)
    for i, ds in enumerate(datasets):
        out[i] = apply_modality_lut(ds.pixel_array, ds)
    return out


def _hu_batch(datasets: list) -> Any:
    """pydicom datasets, in the order given, stacked as float32 Hounsfield units."""
    import numpy as np
    from pydicom.pixels import apply_modality_lut

    return np.stack([apply_modality_lut(ds.pixel_array, ds).astype(np.float32) for ds in datasets])


def _jobs(data: dict, web: Any, dwc: Any) -> dict[tuple[str, str], Callable[[], Any]]:
    """``{(operation, tool): call}`` for every case that can run here."""
    import fsspec
    import numpy as np
    import pydicom
    from pydicom.pixels import pixel_array as pd_pixel_array

    import dicomfast
    from dicomfast.pixels.fileread import FrameReader

    def pd_open(url: str, **kwargs: Any) -> Any:
        with fsspec.open(url) as f:
            return pydicom.dcmread(f, **kwargs)

    def pd_frames(url: str, ks: list[int]) -> Any:
        return pd_open(url).pixel_array[ks]

    def pd_index(url: str, ks: list[int]) -> Any:
        with fsspec.open(url) as f:
            return np.stack([pd_pixel_array(f, index=k) for k in ks])

    def df_frames(url: str, ks: list[int]) -> Any:
        if len(ks) == 1:
            return dicomfast.pixel_array(url, frame=ks[0])[None]
        with FrameReader(url) as reader:
            return np.stack(reader.stored(ks))

    jobs: dict[tuple[str, str], Callable[[], Any]] = {}
    for where in ("http", "s3"):
        if f"{where}_series" not in data:
            continue
        head = data[f"{where}_series"][0]
        jobs["header", f"dicomfast_{where}"] = lambda head=head: dicomfast.dcmread(head, stop_before_pixels=True)
        jobs["header", f"pydicom_{where}"] = lambda head=head: pd_open(head, stop_before_pixels=True)
        for kind in ("native", "rle"):
            url = data[f"{where}_{kind}"]
            for op, ks in ((f"frame_{kind}", [data["one_frame"]]), (f"frames10_{kind}", data["ten_frames"])):
                jobs[op, f"dicomfast_{where}"] = lambda url=url, ks=ks: df_frames(url, ks)
                if where == "http":
                    row = data[f"{kind}_row"]
                    jobs[op, "dicomfast_http_index"] = lambda row=row, ks=ks: np.stack(dicomfast.read_frames(row, ks))
                jobs[op, f"pydicom_{where}"] = lambda url=url, ks=ks: pd_frames(url, ks)
                if where == "http":
                    jobs[op, "pydicom_http_index"] = lambda url=url, ks=ks: pd_index(url, ks)
        urls = data[f"{where}_series"]
        jobs["series", f"dicomfast_{where}"] = lambda urls=urls: dicomfast.load_series(urls).array
        jobs["series", f"pydicom_{where}"] = lambda urls=urls: _hu_volume([pd_open(u) for u in urls])
        picked = [urls[k] for k in data["batch"]]
        jobs["batch", f"dicomfast_{where}"] = lambda picked=picked: dicomfast.read_batch(picked)
        jobs["batch", f"pydicom_{where}"] = lambda picked=picked: _hu_batch([pd_open(u) for u in picked])
    if web is not None:
        study, series, instance = data["series_uids"][0]
        jobs["header", "dicomfast_web"] = lambda: web.retrieve_metadata(study, series, instance)
        jobs["header", "dicomweb_client"] = lambda: dwc.retrieve_instance_metadata(study, series, instance)
        for kind in ("native", "rle"):
            uids = data[f"{kind}_uids"]
            meta = web.retrieve_metadata(*uids)[0]  # as a caller that reads frames of an instance again
            for op, ks in ((f"frame_{kind}", [data["one_frame"]]), (f"frames10_{kind}", data["ten_frames"])):
                jobs[op, "dicomfast_web"] = lambda uids=uids, ks=ks: np.stack(web.retrieve_frames(*uids, ks))
                jobs[op, "dicomfast_web_meta"] = lambda uids=uids, ks=ks, meta=meta: np.stack(
                    web.retrieve_frames(*uids, ks, metadata=meta))
                jobs[op, "dicomfast_web_4"] = lambda uids=uids, ks=ks: np.stack(
                    web.retrieve_frames(*uids, ks, workers=4))
                jobs[op, "dicomweb_client"] = lambda uids=uids, ks=ks: dwc.retrieve_instance_frames(
                    *uids, frame_numbers=[k + 1 for k in ks], media_types=(("application/octet-stream", "*"),))
        jobs["series", "dicomfast_web"] = lambda: web.load_series(study, series).array
        jobs["series", "dicomfast_web_4"] = lambda: web.load_series(study, series, workers=4).array
        jobs["series", "dicomweb_client"] = lambda: _hu_volume(
            dwc.retrieve_series(study, series, media_types=(("application/dicom", "*"),)))
        picked_uids = [data["series_uids"][k] for k in data["batch"]]
        jobs["batch", "dicomfast_web_1"] = lambda: web.read_batch(picked_uids, workers=1)
        jobs["batch", "dicomfast_web_4"] = lambda: web.read_batch(picked_uids, workers=4)
        jobs["batch", "dicomweb_client"] = lambda: _hu_batch(
            [dwc.retrieve_instance(*u, media_types=(("application/dicom", "*"),)) for u in picked_uids])
    return jobs


def _reference(op: str, data: dict) -> Any:
    """pydicom's array for an operation (None for the header)."""
    import numpy as np
    import pydicom

    if op == "header":
        return None
    if op == "series":
        return _hu_volume([pydicom.dcmread(p) for p in data["series_paths"]])
    if op == "batch":
        return _hu_batch([pydicom.dcmread(data["series_paths"][k]) for k in data["batch"]])
    kind = op.rsplit("_", 1)[1]
    ks = [data["one_frame"]] if op.startswith("frame_") else data["ten_frames"]
    return np.asarray(pydicom.dcmread(data[f"{kind}_path"]).pixel_array)[ks]


# -- the run -------------------------------------------------------------------------------------

def _s3_missing() -> str | None:
    import importlib.util

    for module, package in (("s3fs", "s3fs"), ("moto", "moto[server]"), ("werkzeug", "moto[server]")):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install {package})"
    return None


def run(n_files: int = 40, frames: int = 60, size: int = 256, repeat: int | None = None, quick: bool = False, *,
        data_dir: Any = None, dicomweb: bool = True, s3: bool = True) -> dict[str, Any]:
    """Write the data, start the servers, count and time every case; the result record."""
    import numpy as np
    import pydicom

    import dicomfast
    from make_ct_series import make_series
    from remote_servers import CountingProxy, MotoS3Server, OrthancServer, RangeServer, orthanc_missing

    if quick:
        n_files, frames, size = min(n_files, 3), min(frames, 12), min(size, 32)
    repeat = (1 if quick else DEFAULT_REPEAT) if repeat is None else repeat
    if repeat < 1 or n_files < 2 or frames < 2:
        raise ValueError("repeat must be at least 1, n_files and frames at least 2")
    with tempfile.TemporaryDirectory(dir=data_dir) as tmp:
        root = Path(tmp)
        make_series(root / "series", n=n_files, rows=size, cols=size)
        series_paths = sorted(str(p) for p in (root / "series").glob("*.dcm"))
        data: dict[str, Any] = {  # paths, URLs ("http_..." and "s3_..."), UIDs, the frames asked
            "series_paths": series_paths,
            "native_path": str(_multiframe(root / "native.dcm", False, frames, size)),
            "rle_path": str(_multiframe(root / "rle.dcm", True, frames, size)),
            "one_frame": (2 * frames) // 3,
            "ten_frames": scattered(frames),
            "batch": [(7 * i) % n_files for i in range(min(16, n_files))],  # a loader's shuffled pick
        }
        problems: dict[str, str] = {}
        with contextlib.ExitStack() as stack:
            http = stack.enter_context(RangeServer(root))
            data["http_series"] = [http.url(str(Path(p).relative_to(root))) for p in series_paths]
            for kind in ("native", "rle"):
                data[f"http_{kind}"] = http.url(f"{kind}.dcm")
                data[f"{kind}_row"] = dicomfast.index([data[f"http_{kind}"]], frames=True, workers=1).to_pylist()[0]
            counters = [http.counter]
            web = dwc = None
            why = _s3_missing() if s3 else "not asked for"
            if why is None:
                moto = stack.enter_context(MotoS3Server())
                counters.append(moto.counter)
                moto.fs.mkdir("bench")
                for p in series_paths:
                    moto.fs.put(p, f"bench/series/{Path(p).name}")
                data["s3_series"] = [f"s3://bench/series/{Path(p).name}" for p in series_paths]
                for kind in ("native", "rle"):
                    moto.fs.put(data[f"{kind}_path"], f"bench/{kind}.dcm")
                    data[f"s3_{kind}"] = f"s3://bench/{kind}.dcm"
            else:
                problems["s3"] = why
            why = orthanc_missing() if dicomweb else "not asked for"
            if why is None:
                try:
                    import dicomweb_client
                except ImportError:
                    why = "dicomweb-client is not installed (pip install dicomweb-client)"
            if why is None:
                (root / "orthanc").mkdir()
                orthanc = stack.enter_context(OrthancServer(root / "orthanc"))
                proxy = stack.enter_context(CountingProxy(orthanc.url))
                counters.append(proxy.counter)
                from dicomfast.remote.dicomweb import DICOMwebClient

                web = DICOMwebClient(f"{proxy.url}/dicom-web")
                dwc = dicomweb_client.DICOMwebClient(f"{proxy.url}/dicom-web")
                web.store([*series_paths, data["native_path"], data["rle_path"]])

                def uids(path: str) -> tuple[str, str, str]:
                    ds = pydicom.dcmread(path, stop_before_pixels=True)
                    return ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID

                data["series_uids"] = [uids(p) for p in series_paths]
                data["native_uids"], data["rle_uids"] = uids(data["native_path"]), uids(data["rle_path"])
            else:
                problems["dicomweb"] = why
            counts, times = _count_and_time(_jobs(data, web, dwc), data, counters, repeat, problems)
        sizes = {"series_file": Path(series_paths[0]).stat().st_size,
                 "series_total": sum(Path(p).stat().st_size for p in series_paths),
                 "native_file": Path(data["native_path"]).stat().st_size,
                 "rle_file": Path(data["rle_path"]).stat().st_size}
    versions = {"dicomfast": dicomfast.__version__, "pydicom": pydicom.__version__, "numpy": np.__version__}
    for name in ("fsspec", "dicomweb_client", "requests"):
        try:
            versions[name] = __import__(name).__version__
        except (ImportError, AttributeError):
            pass
    return {
        "machine": machine_info(),
        "versions": versions,
        "config": {"n_files": n_files, "frames": frames, "size": size, "repeat": repeat, "quick": quick,
                   "one_frame": data["one_frame"], "ten_frames": data["ten_frames"]},
        "sizes": sizes,
        "problems": problems,
        "counts": counts,
        "times": times,
    }


def _count_and_time(jobs: dict, data: dict, counters: list, repeat: int,
                    problems: dict[str, str]) -> tuple[dict, dict]:
    import numpy as np

    counts: dict[str, dict] = {}
    for (op, tool), job in list(jobs.items()):
        key = f"{op}/{tool}"
        for counter in counters:
            counter.reset()
        try:
            got = job()
        except Exception as exc:  # noqa: BLE001 - a tool that fails a case is reported, not fatal
            problems[key] = f"{type(exc).__name__}: {exc}"
            del jobs[op, tool]
            continue
        requests = [r for counter in counters for r in counter.requests]
        counts[key] = {"requests": len(requests), "bytes": sum(r.sent for r in requests)}
        ref = _reference(op, data)
        if ref is not None and (tool != "dicomweb_client" or op in ("series", "batch")):  # its frames are bytes
            if not np.array_equal(np.asarray(got), ref):
                problems[key] = "differs from pydicom's array of the local file"
    samples: dict[str, list[float]] = {f"{op}/{tool}": [] for op, tool in jobs}
    clock = time.perf_counter_ns
    for _ in range(repeat):
        for (op, tool), job in jobs.items():
            gc.collect()
            start = clock()
            job()
            samples[f"{op}/{tool}"].append(clock() - start)
    return counts, {key: _stats(s) for key, s in samples.items()}


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def format_report(result: dict[str, Any]) -> str:
    cfg, sizes = result["config"], result["sizes"]
    lines = [f"series: {cfg['n_files']} x {cfg['size']}x{cfg['size']} int16 CT slices ({_size(sizes['series_file'])} "
             f"each); multi-frame: {cfg['frames']} x {cfg['size']}x{cfg['size']} 12-bit, native "
             f"{_size(sizes['native_file'])}, RLE {_size(sizes['rle_file'])}; one frame = {cfg['one_frame']}, "
             f"ten = {cfg['ten_frames']}",
             f"{cfg['repeat']} passes, cases in turns; wall time median (p25-p75); localhost servers, "
             f"{result['machine']['cpu_count']} cores",
             f"{'operation':<36}{'tool':<44}{'requests':>9}{'bytes':>11}{'median ms':>11}  p25-p75"]
    labels = dict(TOOLS)
    for op, op_label in OPERATIONS:
        for tool, label in TOOLS:
            key = f"{op}/{tool}"
            if key not in result["counts"]:
                continue
            c, t = result["counts"][key], result["times"].get(key)
            span = f"{t['p25_us'] / 1e3:.1f}-{t['p75_us'] / 1e3:.1f}" if t else ""
            median = f"{t['median_us'] / 1e3:.1f}" if t else "-"
            lines.append(f"{op_label:<36}{labels[tool]:<44}{c['requests']:>9}{_size(c['bytes']):>11}{median:>11}  {span}")
            op_label = ""
    for key, why in result["problems"].items():
        lines.append(f"  left out or wrong: {key}: {why}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--n-files", type=int, default=40, help="slices of the series")
    parser.add_argument("--frames", type=int, default=60, help="frames of the multi-frame files")
    parser.add_argument("--size", type=int, default=256, help="rows and columns")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="tiny data, one pass (a smoke run)")
    parser.add_argument("--no-dicomweb", action="store_true", help="no DICOMweb (no Orthanc)")
    parser.add_argument("--no-s3", action="store_true", help="no S3 (no moto server)")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the temporary data goes")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    result = run(args.n_files, args.frames, args.size, args.repeat, args.quick, data_dir=args.data_dir,
                 dicomweb=not args.no_dicomweb, s3=not args.no_s3)
    print(format_report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
