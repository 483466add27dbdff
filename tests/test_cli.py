"""The ``dicomfast`` command (dicomfast/cli/), run in-process through ``main([...])`` and once as
``python -m dicomfast``. Outputs are checked against pydicom's reading of the same files: the dump's
values, the .npy arrays, and the PNGs against the DICOM windowing formulas applied to pydicom's
pixel arrays."""
from __future__ import annotations

import functools
import io
import json
import os
import random
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_color_lut, apply_modality_lut
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

import dicomfast
from dicomfast import cli
from dicomfast.cli import bench as cli_bench
from dicomfast.cli import convert as cli_convert
from dicomfast.cli import runner
from package import needs_checkout, run_python

PIL = pytest.importorskip("PIL.Image")


def data_file(name: str) -> str:
    return get_testdata_file(name)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_image(path: Path, arr: np.ndarray, **attrs) -> Path:
    """A small single-frame greyscale DICOM file written by pydicom."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = attrs.pop("uid", generate_uid())
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8 * arr.dtype.itemsize
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = int(arr.dtype.kind == "i")
    for key, value in attrs.items():
        setattr(ds, key, value)
    ds.PixelData = arr.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def linear_window(y: np.ndarray, center: float, width: float) -> np.ndarray:
    """DICOM PS3.3 C.11.2.1.2.1 LINEAR, scaled to 0-255 (not yet rounded)."""
    return np.clip((y - (center - 0.5)) / (width - 1) + 0.5, 0.0, 1.0) * 255


def min_max(y: np.ndarray) -> np.ndarray:
    """The image's range onto 0-255 (not yet rounded)."""
    lo, hi = float(y.min()), float(y.max())
    return (y - lo) / (hi - lo) * 255


def assert_display_equal(png: Path, scaled: np.ndarray) -> None:
    """The PNG decodes to ``scaled`` rounded half up. The window kernel folds the maths into one
    multiply-add, so where ``scaled`` is within a few ulps of x.5 it may round the other way."""
    got = np.asarray(PIL.open(png)).astype(np.int32)
    expected = np.floor(scaled + 0.5).astype(np.int32)
    assert got.shape == expected.shape
    tie = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    assert np.array_equal(got[~tie], expected[~tie]), png
    assert np.abs(got - expected)[tie].max(initial=0) <= 1, png


@pytest.fixture
def tree(tmp_path) -> Path:
    """Good files in nested folders, a truncated copy, random bytes named .dcm, a text file and a
    DICOM file without pixel data."""
    src = tmp_path / "in"
    for rel, name in [("a/CT_small.dcm", "CT_small.dcm"), ("a/b/MR_small.dcm", "MR_small.dcm"),
                      ("c/emri_small.dcm", "emri_small.dcm"), ("c/SC_rgb", "SC_rgb.dcm")]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_file(name), src / rel)
    (src / "broken").mkdir()
    (src / "broken/truncated.dcm").write_bytes(Path(data_file("CT_small.dcm")).read_bytes()[:20000])
    (src / "broken/random.dcm").write_bytes(b"\0" * 128 + b"DICM" + random.Random(0).randbytes(500))
    (src / "notes.txt").write_text("not DICOM")
    shutil.copy(data_file("rtplan.dcm"), src / "rtplan.dcm")
    return src


# -- the command itself ---------------------------------------------------------------------------

def test_python_m_dicomfast_runs_as_a_program():
    version = run_python("-m", "dicomfast", "--version", timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == f"dicomfast {dicomfast.__version__}"
    dump = run_python("-m", "dicomfast", "dump", "--no-pixels", data_file("CT_small.dcm"), timeout=60)
    assert dump.returncode == 0, dump.stderr
    assert "(0010,0010) PN [CompressedSamples^CT1]" in dump.stdout


def test_version_and_usage_errors(capsys):
    with pytest.raises(SystemExit) as exc:  # argparse's own exit, caught by main
        cli.build_parser().parse_args(["--version"])
    assert exc.value.code == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"dicomfast {dicomfast.__version__}"
    assert run(capsys, )[0] == cli.EXIT_USAGE
    assert run(capsys, "frobnicate")[0] == cli.EXIT_USAGE
    assert run(capsys, "convert", "x", "--to", "tiff", "-o", "y")[0] == cli.EXIT_USAGE
    assert run(capsys, "convert", "x", "--to", "nifti", "-o", "y", "--hu")[0] == cli.EXIT_USAGE
    assert run(capsys, "convert", "x", "--to", "nifti", "-o", "y", "--window", "40", "400")[0] == cli.EXIT_USAGE
    assert run(capsys, "tree")[0] == cli.EXIT_USAGE  # neither paths nor --index
    assert run(capsys, "tree", "x", "--index", "x.parquet")[0] == cli.EXIT_USAGE
    assert run(capsys, "index", "x")[0] == cli.EXIT_USAGE  # no -o
    assert run(capsys, "index", "x", "-o", "y", "--chunksize", "0")[0] == cli.EXIT_USAGE
    assert run(capsys, "convert", "x", "--to", "npy")[0] == cli.EXIT_USAGE  # no -o
    assert run(capsys, "convert", "x", "--to", "png", "-o", "y", "--window", "40", "0")[0] == cli.EXIT_USAGE
    assert run(capsys, "convert", "x", "--to", "png", "-o", "y", "--hu")[0] == cli.EXIT_USAGE
    assert run(capsys, "convert", "x", "--to", "npy", "-o", "y", "--workers", "0")[0] == cli.EXIT_USAGE
    assert run(capsys, "dump", "x", "-t", "NotAKeyword")[0] == cli.EXIT_USAGE
    code, _, err = run(capsys, "convert", "x", "--to", "npy", "-o", "y", "--dtype", "object")
    assert code == cli.EXIT_USAGE and "dtype" in err


# -- dump -----------------------------------------------------------------------------------------

_LINE = re.compile(r"^\((\w{4}),(\w{4})\) (\w\w) (.*?)\s+#\s+\d+, \S+ .+$")


def _top_level_lines(text: str) -> dict[int, tuple[str, str]]:
    found = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            found[int(m[1] + m[2], 16)] = (m[3], m[4])
    return found


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm"])
def test_dump_shows_pydicoms_values(capsys, name):
    code, out, _ = run(capsys, "dump", data_file(name))
    assert code == 0
    lines = _top_level_lines(out)
    ref = pydicom.dcmread(data_file(name))
    checked = 0
    for elem in [*ref.file_meta, *ref]:
        assert elem.tag in lines, elem
        vr, shown = lines[elem.tag]
        assert vr == elem.VR, elem
        if elem.VR == "SQ":
            assert shown == f"(Sequence with {len(elem.value)} item{'s' if len(elem.value) != 1 else ''})"
            continue
        if elem.VR in ("OB", "OW", "UN") or elem.value in (None, "", b"") or not shown.endswith("]"):
            continue  # binary, empty, or cut at --max-value
        values = list(elem.value) if elem.VM > 1 else [elem.value]
        pieces = shown[1:-1].split("\\")
        assert len(pieces) == len(values), elem
        for piece, value in zip(pieces, values):
            if isinstance(value, (int, float)):
                assert float(piece) == pytest.approx(float(value)), elem
            else:
                assert piece == str(value), elem
        checked += 1
    assert checked > 10


def test_dump_options(capsys):
    ct = data_file("CT_small.dcm")
    code, out, _ = run(capsys, "dump", ct)
    assert "(FFFE,E000) na (Item #1" in out and "(7fe0,0010)" in out.lower()
    code, out, _ = run(capsys, "dump", ct, "--max-depth", "0", "--no-pixels")
    assert code == 0 and "(FFFE,E000)" not in out and "(Sequence with 2 items)" in out
    assert "(7fe0,0010)" not in out.lower()
    code, out, _ = run(capsys, "dump", ct, "-t", "PatientID", "-t", "(0028,0010)")
    data = [line for line in out.splitlines()[out.splitlines().index("# Dicom-Data-Set") + 1:] if line]
    assert [line.split()[0] for line in data] == ["(0008,0005)", "(0010,0020)", "(0028,0010)"]
    code, out, _ = run(capsys, "dump", ct, "--json", "--no-pixels")
    ours = json.loads(out)
    theirs = pydicom.dcmread(ct, stop_before_pixels=True).to_json_dict()
    for key in ("00100010", "00100020", "00280010", "00200032"):
        assert ours[key]["Value"] == pytest.approx(theirs[key]["Value"]) if key == "00200032" else \
            ours[key] == theirs[key]
    code, out, _ = run(capsys, "dump", ct, data_file("MR_small.dcm"), "--max-value", "20")
    assert "# dicomfast dump (2/2)" in out
    # every element line is cut to --max-value (a file's header line is as long as its path)
    elements = [line for line in out.splitlines() if line.startswith("(")]
    assert len(elements) > 50 and all(len(line.split(" #")[0].rstrip()) < 120 for line in elements)


def test_dump_of_damaged_files(capsys, tmp_path):
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(Path(data_file("CT_small.dcm")).read_bytes()[:20000])
    code, out, err = run(capsys, "dump", truncated, tmp_path / "missing.dcm", data_file("MR_small.dcm"))
    assert code == cli.EXIT_FAILED
    assert "(0010,0010) PN [CompressedSamples^CT1]" in out  # what was read before the fault
    assert "FileNotFoundError" in err  # a truncated file is read as pydicom reads it (tolerance)
    assert "(0010,0010) PN [CompressedSamples^MR1]" in out  # and the next file


# -- convert --------------------------------------------------------------------------------------

@pytest.mark.parametrize("workers", ["1", "2"])
def test_convert_npy_equals_pydicom(capsys, tree, tmp_path, workers):
    out = tmp_path / "out"
    code, _, err = run(capsys, "convert", tree / "a", tree / "c", "--to", "npy", "-o", out, "--workers", workers)
    assert code == 0, err
    expected = {"CT_small.npy": "a/CT_small.dcm", "b/MR_small.npy": "a/b/MR_small.dcm",
                "emri_small.npy": "c/emri_small.dcm", "SC_rgb.npy": "c/SC_rgb"}  # other suffixes kept
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == sorted(expected)
    for name, src in expected.items():
        ref = pydicom.dcmread(tree / src).pixel_array
        got = np.load(out / name)
        assert got.dtype == ref.dtype and np.array_equal(got, ref), name
    assert "4 ok (4 files written)" in err

    hu = tmp_path / "hu"
    code, _, _ = run(capsys, "convert", tree / "a/CT_small.dcm", "--to", "npy", "--hu", "-o", hu)
    ref = pydicom.dcmread(tree / "a/CT_small.dcm")
    expected_hu = apply_modality_lut(ref.pixel_array, ref)
    got = np.load(hu / "CT_small.npy")
    assert code == 0 and got.dtype == expected_hu.dtype == np.float64
    assert np.array_equal(got, expected_hu) and got.min() < 0
    code, _, _ = run(capsys, "convert", tree / "a/CT_small.dcm", "--to", "npy", "--hu", "--dtype", "float32",
                     "-o", hu, "--overwrite")
    got = np.load(hu / "CT_small.npy")
    assert code == 0 and got.dtype == np.float32 and np.array_equal(got, expected_hu.astype(np.float32))
    code, _, _ = run(capsys, "convert", tree / "a/CT_small.dcm", "--to", "npy", "--hu", "--dtype", "int16",
                     "-o", hu, "--overwrite")
    got = np.load(hu / "CT_small.npy")
    assert code == 0 and got.dtype == np.int16 and np.array_equal(got, np.rint(expected_hu))
    code, _, err = run(capsys, "convert", tree / "a/CT_small.dcm", "--to", "npy", "--hu", "--dtype", "int8",
                       "-o", hu, "--overwrite")  # HU from -1000s to 1000s: no silent wrap-around
    assert code == cli.EXIT_FAILED and "do not fit int8" in err
    # --hu is float64 whatever the file holds: an image without a rescale gives its stored values
    code, _, _ = run(capsys, "convert", tree / "c/SC_rgb", "--to", "npy", "--hu", "-o", hu)
    got = np.load(hu / "SC_rgb.npy")
    ref = pydicom.dcmread(tree / "c/SC_rgb").pixel_array
    assert code == 0 and got.dtype == np.float64 and np.array_equal(got, ref)


def test_convert_png_windows(capsys, tmp_path):
    out = tmp_path / "png"
    mono1 = write_image(tmp_path / "in/mono1.dcm", np.arange(64 * 48, dtype=np.uint16).reshape(64, 48),
                        PhotometricInterpretation="MONOCHROME1", WindowCenter=1500, WindowWidth=1000)
    files = [data_file(n) for n in ("MR_small.dcm", "CT_small.dcm", "emri_small.dcm", "SC_rgb.dcm",
                                   "examples_palette.dcm")]
    code, _, err = run(capsys, "convert", *files, mono1, "--to", "png", "-o", out)
    assert code == 0, err

    mr = pydicom.dcmread(data_file("MR_small.dcm"))  # the file's window: 600 / 1600
    assert_display_equal(out / "MR_small.png", linear_window(mr.pixel_array.astype(float), 600, 1600))
    ct = pydicom.dcmread(data_file("CT_small.dcm"))  # no window: its own min / max, in HU
    assert_display_equal(out / "CT_small.png", min_max(apply_modality_lut(ct.pixel_array, ct)))
    emri = pydicom.dcmread(data_file("emri_small.dcm"))  # 10 frames, each its own min / max
    assert len(list(out.glob("emri_small_f*.png"))) == emri.NumberOfFrames == 10
    for k in (0, 9):
        assert_display_equal(out / f"emri_small_f{k + 1:04d}.png", min_max(emri.pixel_array[k].astype(float)))
    rgb = pydicom.dcmread(data_file("SC_rgb.dcm")).pixel_array
    assert np.array_equal(np.asarray(PIL.open(out / "SC_rgb.png")), rgb)
    palette = pydicom.dcmread(data_file("examples_palette.dcm"))
    mapped = apply_color_lut(palette.pixel_array, palette)  # a 16-bit palette: scaled to 8 bits
    assert mapped.dtype == np.uint16
    assert_display_equal(out / "examples_palette.png", mapped / 65535 * 255)
    stored = np.arange(64 * 48).reshape(64, 48).astype(float)
    assert_display_equal(out / "mono1.png", 255 - linear_window(stored, 1500, 1000))  # inverted

    code, _, _ = run(capsys, "convert", data_file("CT_small.dcm"), "--to", "png", "-o", out, "--window", "40", "400",
                     "--overwrite")
    assert code == 0
    assert_display_equal(out / "CT_small.png", linear_window(apply_modality_lut(ct.pixel_array, ct), 40, 400))


def test_convert_names_by_uid_and_refuses_to_overwrite(capsys, tmp_path):
    out = tmp_path / "out"
    src = [data_file("CT_small.dcm"), data_file("MR_small.dcm")]
    code, _, _ = run(capsys, "convert", *src, "--to", "npy", "-o", out, "--name", "uid")
    assert code == 0
    uids = sorted(str(pydicom.dcmread(p).SOPInstanceUID) + ".npy" for p in src)
    assert sorted(p.name for p in out.iterdir()) == uids
    code, _, err = run(capsys, "convert", *src, "--to", "npy", "-o", out, "--name", "uid")
    assert code == cli.EXIT_FAILED and "FileExistsError: 2" in err and "--overwrite" in err
    assert run(capsys, "convert", *src, "--to", "npy", "-o", out, "--name", "uid", "--overwrite")[0] == 0
    # the same name twice in one run: the second one fails, the first output is intact
    dup = tmp_path / "dup"
    code, _, err = run(capsys, "convert", src[0], src[0], "--to", "npy", "-o", dup, "--workers", "1")
    assert code == cli.EXIT_FAILED and "1 ok" in err and "FileExistsError: 1" in err
    assert np.array_equal(np.load(dup / "CT_small.npy"), pydicom.dcmread(src[0]).pixel_array)
    assert not [p for p in dup.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_convert_summarises_errors(capsys, tree, tmp_path, workers):
    log = tmp_path / "errors.tsv"
    code, _, err = run(capsys, "convert", tree, tmp_path / "missing.dcm", "--to", "png", "-o", tmp_path / "strict",
                       "--workers", workers, "--error-log", log, "--strict")
    assert code == cli.EXIT_FAILED
    head = err.splitlines()[0]
    assert "9 files" in head and "4 ok (13 files written)" in head and "2 skipped" in head, err
    assert "3 failed" in head and "skipped: 1 no pixel data, 1 not DICOM" in err and "with defects" not in err
    for kind, path in [("TruncatedError: 2", "truncated.dcm"), ("FileNotFoundError: 1", "missing.dcm")]:
        assert kind in err and path in err
    rows = [line.split("\t") for line in log.read_text().splitlines()[1:]]
    assert len(rows) == 3 and {Path(r[0]).name for r in rows} == {"truncated.dcm", "random.dcm", "missing.dcm"}
    assert all(r[1] for r in rows)

    # the default: both broken files are read as pydicom reads them (random.dcm: one element, no pixel data,
    # skipped); the truncated one lacks most of its only frame: failed (missing pixels are never invented)
    for name in ("truncated.dcm", "random.dcm"):
        assert len(pydicom.dcmread(tree / "broken" / name))
    code, _, err = run(capsys, "convert", tree, tmp_path / "missing.dcm", "--to", "png", "-o", tmp_path / "out",
                       "--workers", workers, "--error-log", log)
    assert code == cli.EXIT_FAILED
    head = err.splitlines()[0]
    assert "9 files" in head and "4 ok (13 files written)" in head and "3 skipped" in head and "2 failed" in head, err
    assert "skipped: 2 no pixel data, 1 not DICOM" in err
    assert "read with defects (tolerated; --strict refuses them): 1 file (1 value_truncated, 1 vr_switch)" in err
    for kind, path in [("PixelDataLengthError: 1", "truncated.dcm"), ("FileNotFoundError: 1", "missing.dcm")]:
        assert kind in err and path in err
    rows = [line.split("\t") for line in log.read_text().splitlines()[1:]]
    assert sorted((Path(r[0]).name, r[1]) for r in rows) == [("missing.dcm", "FileNotFoundError"),
                                                            ("truncated.dcm", "PixelDataLengthError")]


def test_convert_with_nothing_to_do(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "convert", tmp_path / "empty", "--to", "npy", "-o", tmp_path / "out")
    assert code == cli.EXIT_NOTHING and "no files found" in err
    (tmp_path / "text").mkdir()
    (tmp_path / "text/a.txt").write_text("hello")
    shutil.copy(data_file("rtplan.dcm"), tmp_path / "text/rtplan.dcm")
    code, _, err = run(capsys, "convert", tmp_path / "text", "--to", "npy", "-o", tmp_path / "out", "-q")
    assert code == cli.EXIT_NOTHING and "nothing converted" in err
    # named explicitly, a non-DICOM file is a failure, not a skip
    code, _, err = run(capsys, "convert", tmp_path / "text/a.txt", "--to", "npy", "-o", tmp_path / "out")
    assert code == cli.EXIT_FAILED and "NotDicomError: 1" in err


def test_png_without_pillow_names_the_extra(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    code, _, err = run(capsys, "convert", data_file("CT_small.dcm"), "--to", "png", "-o", tmp_path)
    assert code == cli.EXIT_MISSING and "dicomfast[cli]" in err


# -- the shared machinery -------------------------------------------------------------------------

def test_discover_walks_directories(tree):
    items = runner.discover([str(tree), str(tree / "a/CT_small.dcm")])
    names = [os.path.relpath(i.path, tree) for i in items[:-1]]
    assert names == ["notes.txt", "rtplan.dcm", "a/CT_small.dcm", "a/b/MR_small.dcm", "broken/random.dcm",
                     "broken/truncated.dcm", "c/SC_rgb", "c/emri_small.dcm"]
    assert all(i.root == str(tree) for i in items[:-1])
    assert items[-1] == runner.Item(str(tree / "a/CT_small.dcm"), None)


def _crash_on(bad: frozenset, item: runner.Item) -> runner.Outcome:
    if item.path in bad:
        os._exit(3)  # what a segfault in a decoder looks like to the pool
    return runner.Outcome(item.path, "ok", outputs=1)


def test_a_crashing_worker_fails_only_its_file(capsys):
    """runner.run_items goes through map_chunks with on_crash: a file that kills its worker is a
    WorkerCrashed failure and every other file is converted once."""
    items = [runner.Item(f"f{i}", "root") for i in range(12)]
    args = cli.build_parser().parse_args(["convert", "x", "--to", "npy", "-o", "y", "-j", "2", "--chunksize", "3", "-q"])
    summary = runner.run_items(functools.partial(_crash_on, frozenset({"f5", "f9"})), items, args, "convert")
    assert summary.counts == {"ok": 10, "failed": 2}
    assert sorted(o.path for o in summary.failed["WorkerCrashed"]) == ["f5", "f9"]
    assert summary.outputs == 10


def test_progress_line_without_tqdm():
    stream = io.StringIO()
    progress = runner.Progress(3, "convert", True, stream=stream, interval=0.0, use_tqdm=False)
    for status in ("ok", "failed", "ok"):
        progress.update(runner.Outcome("p", status))
    progress.close()
    text = stream.getvalue()
    assert "convert: 3/3 files (100%), 1 failed" in text and text.endswith("\n")
    silent = io.StringIO()
    off = runner.Progress(3, "convert", False, stream=silent)
    off.update(runner.Outcome("p", "ok"))
    off.close()
    assert silent.getvalue() == ""


def test_progress_bar_with_tqdm():
    pytest.importorskip("tqdm")
    stream = io.StringIO()
    progress = runner.Progress(2, "convert", True, stream=stream)
    progress.update(runner.Outcome("p", "ok"))
    progress.update(runner.Outcome("p", "ok"))
    progress.close()
    assert "2/2" in stream.getvalue()


# -- bench ----------------------------------------------------------------------------------------

@needs_checkout  # dicomfast bench runs the benchmarks/ next to the package
def test_bench_prints_the_table(capsys, tmp_path):
    out = tmp_path / "bench.json"
    code, text, _ = run(capsys, "bench", "--quick", "-n", "2", "--json", out, "--full", "-q")
    assert code == 0
    assert "== bench_header ==" in text and "== bench_rle ==" in text
    table = text[text.index("case "):]
    for case in ("header/expl: stop_before_pixels", "header/impl: full read", "pixels: dcmread + pixel_array",
                 "window 64x64 int16 -> uint8", "rle: ct_512x512_16bit frame"):
        assert case in table, case
    ratios = re.findall(r"(\d+\.\d)x$", table, re.M)
    assert len(ratios) >= 8  # their values are timings on a shared machine: printed, not judged
    results = json.loads(out.read_text())
    assert set(results) == set(cli_bench.BENCHMARKS)


def test_bench_outside_a_checkout(capsys, tmp_path):
    code, _, err = run(capsys, "bench", "--benchmarks", tmp_path, "--quick")
    assert code == cli.EXIT_MISSING and "--benchmarks DIR" in err


@needs_checkout  # its first half runs the checkout's benchmarks/
def test_bench_runs_each_benchmark_in_a_process_of_its_own(capsys, tmp_path):
    """The benchmarks put their own directory on sys.path to import their helpers: they run in a
    child process, so this one's sys.path and modules stay as they were, and a benchmark that
    fails is reported with its traceback (exit 1)."""
    path, modules = list(sys.path), set(sys.modules)
    code, _, _ = run(capsys, "bench", "--quick", "--only", "transform", "-q")
    assert code == 0 and sys.path == path and not [m for m in set(sys.modules) - modules if m.startswith("bench_")]
    (tmp_path / "bench_header.py").write_text("def run(**kwargs):\n    raise RuntimeError('boom')\n")
    code, _, err = run(capsys, "bench", "--benchmarks", tmp_path, "--only", "header", "-q")
    assert code == cli.EXIT_FAILED and "RuntimeError: boom" in err and "bench_header.py failed (exit code 1)" in err


def test_output_inside_the_input_is_not_walked(capsys, tmp_path):
    shutil.copy(data_file("MR_small.dcm"), tmp_path / "MR_small.dcm")
    for _ in range(2):
        code, _, err = run(capsys, "convert", tmp_path, "--to", "png", "-o", tmp_path / "png", "--overwrite")
        assert code == 0 and err.startswith("convert: 1 file in"), err
    assert [p.name for p in (tmp_path / "png").iterdir()] == ["MR_small.png"]


def test_convert_odd_names_and_frames_beyond_number_of_frames(capsys, tmp_path):
    # a path with spaces, non-ASCII letters and shell characters; data holding two whole frames
    # without Number of Frames (pixel_array returns both); MONOCHROME1 without a window: min/max, inverted
    frames = np.arange(2 * 8 * 6, dtype=np.uint16).reshape(2, 8, 6) * 3
    src = write_image(tmp_path / "in dir/Ünïcode #1 (copy).DCM", frames[0], PhotometricInterpretation="MONOCHROME1")
    ds = pydicom.dcmread(src)
    ds.PixelData = frames.tobytes()
    ds.save_as(src)
    out = tmp_path / "out put"
    code, _, err = run(capsys, "convert", tmp_path / "in dir", "--to", "png", "-o", out)
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["Ünïcode #1 (copy)_f0001.png", "Ünïcode #1 (copy)_f0002.png"]
    for k in range(2):
        assert_display_equal(out / names[k], 255 - min_max(frames[k].astype(float)))
    code, _, err = run(capsys, "convert", src, "--to", "npy", "-o", out)
    assert code == 0, err
    np.testing.assert_array_equal(np.load(out / "Ünïcode #1 (copy).npy"), dicomfast.pixel_array(str(src)))


def test_error_log_keeps_odd_paths_whole(capsys, tmp_path):
    import csv

    odd = tmp_path / 'tab\there "quoted"\nnewline.dcm'
    odd.write_bytes(b"\0" * 300)  # named on the command line: a failure, not a skip
    log = tmp_path / "errors.tsv"
    code, _, _ = run(capsys, "convert", odd, "--to", "npy", "-o", tmp_path / "out", "--error-log", log)
    assert code == cli.EXIT_FAILED
    with open(log, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert rows[0] == ["path", "error", "message"] and len(rows) == 2
    assert rows[1][0] == str(odd) and rows[1][1] == "NotDicomError"


# -- index, tree, convert --to nifti, --dask: on the collection tests' archive (tests/tree.py) -------

TAGS = ["SliceThickness", "ImagePositionPatient", "ImageType"]


def _pydicom_headers(root: Path, info: dict, truncated: bool = False) -> dict[str, pydicom.Dataset]:
    """pydicom's reading of every file of the archive except the broken ones (``truncated``: and the
    truncated one, which pydicom reads with its last value cut short), by absolute path."""
    read = {rel for rel, kind in info["broken"].items() if truncated and kind == "truncated"}
    paths = sorted(p for p in root.rglob("*") if p.is_file() and (str(p.relative_to(root)) not in info["broken"]
                                                                  or str(p.relative_to(root)) in read))
    return {str(path): pydicom.dcmread(path, stop_before_pixels=True) for path in paths}


def test_index_writes_dicomfast_index_table(capsys, dicom_tree, tmp_path):
    import pyarrow.parquet as pq

    root, info = dicom_tree
    out, log = tmp_path / "idx" / "index.parquet", tmp_path / "errors.tsv"
    code, _, err = run(capsys, "index", root, "-o", out, "-t", *TAGS, "-j", "2", "--chunksize", "5",
                       "--error-log", log)
    table = pq.read_table(out).sort_by("path")
    assert table.equals(dicomfast.index(root, TAGS, workers=1))
    assert not [p for p in out.parent.iterdir() if p.name != "index.parquet"]  # no temporary left

    # the rows against pydicom, for a few columns: the truncated file too, read as pydicom reads it
    refs = _pydicom_headers(root, info, truncated=True)
    good = table.filter(table["error"].is_null()).to_pylist()
    assert sorted(r["path"] for r in good) == sorted(refs)
    for row in good:
        ref = refs[row["path"]]
        assert row["sop_instance_uid"] == ref.SOPInstanceUID and row["patient_id"] == ref.PatientID
        assert row["study_instance_uid"] == ref.StudyInstanceUID  # cut short in the truncated file
        assert row["series_instance_uid"] == ref.get("SeriesInstanceUID")
        assert row["transfer_syntax"] == ref.file_meta.TransferSyntaxUID
        assert row["study_date"].strftime("%Y%m%d") == ref.StudyDate
        if "SeriesInstanceUID" not in ref:  # the truncated file
            assert row["defects"] == ["value_truncated"]
            continue
        assert row["defects"] == []
        assert row["series_number"] == ref.SeriesNumber and row["SliceThickness"] == float(ref.SliceThickness)
        assert row["ImagePositionPatient"] == pytest.approx([float(v) for v in ref.ImagePositionPatient])
        assert row["ImageType"] == list(ref.ImageType)

    # the broken files: the truncated one read with its defect (exit 0), the non-DICOM ones skipped
    kinds = info["broken"]
    assert code == cli.EXIT_OK
    n_skipped = sum(k in ("not_dicom", "empty", "text", "no_preamble") for k in kinds.values())
    head = err.splitlines()[0]
    assert head.startswith(f"index: {table.num_rows} files in ") and "files/s" in head
    assert f"{len(good)} ok, {n_skipped} skipped, 0 failed" in head
    assert "read with defects (tolerated; --strict refuses them): 1 file (1 value_truncated)" in err
    assert f"skipped: {n_skipped} not DICOM" in err and "TruncatedError" not in err
    truncated = next(rel for rel, kind in kinds.items() if kind == "truncated")
    assert f"wrote {table.num_rows} rows to" in err
    assert log.read_text().splitlines()[1:] == []

    # strict: the truncated file fails (exit 1)
    strict = tmp_path / "strict.parquet"
    code, _, err = run(capsys, "index", root, "-o", strict, "-t", *TAGS, "-j", "2", "--strict", "--error-log", log)
    assert pq.read_table(strict).sort_by("path").equals(dicomfast.index(root, TAGS, workers=1, strict=True))
    assert code == cli.EXIT_FAILED and f"{len(good) - 1} ok, {n_skipped} skipped, 1 failed" in err.splitlines()[0]
    assert "TruncatedError: 1" in err and str(root / truncated) in err and "with defects" not in err
    assert [line.split("\t")[:2] for line in log.read_text().splitlines()[1:]] == \
        [[str(root / truncated), "TruncatedError"]]

    # again, from the previous index (the same file, replaced): the same table
    code, _, err = run(capsys, "index", root, "-o", out, "-t", *TAGS, "--previous", out, "-j", "1", "-q")
    assert code == cli.EXIT_OK and pq.read_table(out).sort_by("path").equals(table) and err == ""
    code, _, err = run(capsys, "index", root, "-o", strict, "-t", *TAGS, "--previous", strict, "-j", "1", "-q",
                       "--strict")
    assert code == cli.EXIT_FAILED and pq.read_table(strict).sort_by("path").equals(
        dicomfast.index(root, TAGS, workers=1, strict=True))
    assert "TruncatedError: 1" in err and "wrote" not in err  # -q: only the summary of what went wrong


def test_index_exit_codes(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "index", tmp_path / "empty", "-o", tmp_path / "a.parquet")
    assert code == cli.EXIT_NOTHING and "no files found" in err
    (tmp_path / "text/.hidden").mkdir(parents=True)
    (tmp_path / "text/a.txt").write_text("hello")
    shutil.copy(data_file("CT_small.dcm"), tmp_path / "text/.hidden/CT_small.dcm")  # not walked
    code, _, err = run(capsys, "index", tmp_path / "text", "-o", tmp_path / "b.parquet")
    assert code == cli.EXIT_NOTHING and "no DICOM file found" in err
    code, _, err = run(capsys, "index", data_file("CT_small.dcm"), tmp_path / "text/a.txt", "-o", tmp_path / "c.parquet")
    assert code == cli.EXIT_FAILED and "NotDicomError: 1" in err  # named, not found in a walk: a failure
    code, _, _ = run(capsys, "index", data_file("CT_small.dcm"), "-o", tmp_path / "d.parquet", "-q")
    assert code == cli.EXIT_OK


@pytest.mark.parametrize("strict", [False, True])
def test_tree_counts_match_pydicom(capsys, dicom_tree, tmp_path, strict):
    """Default: the files pydicom reads, the truncated one too (its Study Instance UID cut short, a
    study without series); strict: the truncated file fails."""
    root, info = dicom_tree
    refs = _pydicom_headers(root, info, truncated=not strict)
    patients: dict = {}
    for ds in refs.values():
        p = patients.setdefault(ds.PatientID, {"name": str(ds.PatientName), "studies": set(), "series": {},
                                               "instances": set()})
        p["studies"].add(ds.StudyInstanceUID)
        p["instances"].add(ds.SOPInstanceUID)
        if "SeriesInstanceUID" in ds:
            p["series"].setdefault(ds.SeriesInstanceUID, set()).add(ds.SOPInstanceUID)

    option = ["--strict"] if strict else []
    code, out, err = run(capsys, "tree", root, "-j", "2", "--uids", "--durations", *option)
    if strict:
        assert code == cli.EXIT_FAILED and "TruncatedError: 1" in err  # the truncated file
        last = f"{len(info['broken'])} files could not be read (NotDicomError {len(info['broken']) - 1}, TruncatedError 1)"
    else:
        assert code == cli.EXIT_OK and "TruncatedError" not in err and "1 file (1 value_truncated)" in err
        last = f"{len(info['broken']) - 1} files could not be read (NotDicomError {len(info['broken']) - 1})"
        assert out.splitlines()[out.splitlines().index(last) - 1] == "1 file read with defects (value_truncated 1)"
    lines = out.splitlines()
    for pid, p in patients.items():
        n_instances = len(p["instances"])
        studies = f"{len(p['studies'])} stud{'y' if len(p['studies']) == 1 else 'ies'}"
        assert f"{pid}  {p['name']}  ({studies}, {len(p['series'])} series, {n_instances} instances)" in lines
        for uid, sops in p["series"].items():
            assert sum(uid in line and f"({len(sops)} instances, " in line for line in lines) == 1, uid
        assert sum(line.startswith(f"  {pid}  #") for line in lines) == len(p["series"])  # --durations
        assert f"  {pid}  {len(p['series'])} series  " in out
    assert lines.index("acquisition times per series (start, end, duration):") > lines.index(last)

    # the same tree from an index written by `dicomfast index`
    index = tmp_path / "index.parquet"
    run(capsys, "index", root, "-o", index, "-q", *option)
    code, again, _ = run(capsys, "tree", "--index", index, "--uids", "--durations", "-q")
    assert code == (cli.EXIT_FAILED if strict else cli.EXIT_OK) and again == out
    code, _, err = run(capsys, "tree", "--index", tmp_path / "missing.parquet")
    assert code == cli.EXIT_FAILED and "missing.parquet" in err


def test_convert_to_nifti(capsys, dicom_tree, tmp_path):
    nib = pytest.importorskip("nibabel")
    root, info = dicom_tree
    out = tmp_path / "nifti"
    code, _, err = run(capsys, "convert", root, "--to", "nifti", "-o", tmp_path / "strict", "-j", "2", "--strict")
    assert code == cli.EXIT_FAILED and "TruncatedError: 1" in err  # strict: the truncated file; every series ok
    n = len(info["series"])
    assert f"{n} ok ({n} files written), 0 skipped, 0 failed" in err
    code, _, err = run(capsys, "convert", root, "--to", "nifti", "-o", out, "-j", "2")
    # the truncated file is read with its defect; it is not an image (cut before Rows): in no series
    assert code == cli.EXIT_OK and "TruncatedError" not in err and "1 file (1 value_truncated)" in err
    assert f"convert: {n} series in " in err and f"{n} ok ({n} files written), 0 skipped, 0 failed" in err
    written = sorted(p.relative_to(out) for p in out.rglob("*.nii.gz"))
    assert len(written) == n and not [p for p in out.rglob("*") if p.is_file() and p.name.startswith(".")]
    for uid, series in info["series"].items():
        ref = pydicom.dcmread(root / series["files"][0], stop_before_pixels=True)
        label = re.sub(r"[^0-9A-Za-z._-]+", "_", ref.SeriesDescription)
        name = Path(ref.PatientID) / ref.StudyInstanceUID / f"{ref.SeriesNumber}_{label}.nii.gz"
        assert name in written, name
        img = nib.load(out / name)
        vol = dicomfast.load_series([root / f for f in series["files"]])
        assert np.array_equal(np.asarray(img.dataobj), vol.array.transpose(2, 1, 0))
        assert np.allclose(img.affine, vol.affine_ras, atol=1e-5)
        assert nib.aff2axcodes(img.affine) == nib.aff2axcodes(vol.affine_ras)

    # names by Series Instance UID; a series with a gap fails with its SeriesError, the others go on
    broken = tmp_path / "gap"
    first = next(s for s in info["series"].values() if s["n_instances"] >= 5)
    other = next(s for s in info["series"].values() if s is not first)
    for rel in first["files"][:2] + first["files"][3:] + other["files"]:
        (broken / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / rel, broken / rel)
    log = tmp_path / "errors.tsv"
    code, _, err = run(capsys, "convert", broken, "--to", "nifti", "-o", tmp_path / "uid", "--name", "uid",
                       "-j", "1", "--error-log", log)
    assert code == cli.EXIT_FAILED
    assert "2 series" in err and "1 ok (1 files written), 0 skipped, 1 failed" in err and "SliceSpacingError: 1" in err
    other_uid = next(u for u, s in info["series"].items() if s is other)
    assert [p.name for p in (tmp_path / "uid").iterdir()] == [f"{other_uid}.nii.gz"]
    assert "SliceSpacingError" in log.read_text()
    # a rerun refuses to overwrite, unless asked
    code, _, err = run(capsys, "convert", broken, "--to", "nifti", "-o", tmp_path / "uid", "--name", "uid", "-j", "1")
    assert code == cli.EXIT_FAILED and "FileExistsError: 1" in err


def test_series_output_names_are_safe_and_unique():
    rows = [dict(patient_id="P/1", study_instance_uid="1.2", series_instance_uid=f"1.2.{i}", series_number=3,
                 series_description="T1 / post-contrast", modality="MR") for i in (1, 2)]
    rows.append(dict(patient_id=None, study_instance_uid="1.3", series_instance_uid="1.3.1", series_number=None,
                     series_description=None, modality="CT"))
    names = cli_convert.series_output_names(rows)
    assert names == [os.path.join("P_1", "1.2", "3_T1_post-contrast_1.2.1"),
                     os.path.join("P_1", "1.2", "3_T1_post-contrast_1.2.2"),
                     os.path.join("NO_PATIENT_ID", "1.3", "NA_CT")]
    assert cli_convert.series_output_names(rows, "uid") == ["1.2.1", "1.2.2", "1.3.1"]


def test_index_and_convert_on_dask(capsys, dicom_tree, dask_cluster, tmp_path):
    import pyarrow.parquet as pq

    root, _ = dicom_tree
    address = dask_cluster.scheduler_address
    code, _, _ = run(capsys, "index", root, "-o", tmp_path / "local.parquet", "-t", *TAGS, "-j", "1")
    code_dask, _, err = run(capsys, "index", root, "-o", tmp_path / "dask.parquet", "-t", *TAGS,
                            "--dask", address, "--chunksize", "7")
    assert code == code_dask == cli.EXIT_OK and "1 file (1 value_truncated)" in err
    local = pq.read_table(tmp_path / "local.parquet").sort_by("path")
    assert pq.read_table(tmp_path / "dask.parquet").sort_by("path").equals(local)

    code, _, _ = run(capsys, "convert", root, "--to", "npy", "-o", tmp_path / "npy_local", "-j", "1", "-q")
    code_dask, _, _ = run(capsys, "convert", root, "--to", "npy", "-o", tmp_path / "npy_dask", "--dask", address, "-q")
    # the truncated file (cut before its pixel data) is skipped; strict: it fails
    assert code == code_dask == cli.EXIT_OK
    code_dask, _, err = run(capsys, "convert", root, "--to", "npy", "-o", tmp_path / "npy_strict", "--dask", address,
                            "-q", "--strict")
    assert code_dask == cli.EXIT_FAILED and "TruncatedError: 1" in err
    files = sorted(p.relative_to(tmp_path / "npy_local") for p in (tmp_path / "npy_local").rglob("*.npy"))
    images = local.filter(local["error"].is_null())
    assert len(files) == images.filter(images["series_instance_uid"].is_valid()).num_rows
    assert sorted(p.relative_to(tmp_path / "npy_dask") for p in (tmp_path / "npy_dask").rglob("*.npy")) == files
    for rel in files:
        assert np.array_equal(np.load(tmp_path / "npy_dask" / rel), np.load(tmp_path / "npy_local" / rel))

    code, _, err = run(capsys, "convert", root, "--to", "nifti", "-o", tmp_path / "nii", "--dask", address, "-q")
    assert code == cli.EXIT_OK and "SeriesError" not in err
    assert len(list((tmp_path / "nii").rglob("*.nii.gz"))) == 8


def test_dask_scheduler_that_does_not_answer(capsys, monkeypatch, tmp_path):
    pytest.importorskip("distributed")
    monkeypatch.setattr(runner, "DASK_CONNECT_TIMEOUT", 0.5)
    code, _, err = run(capsys, "index", data_file("CT_small.dcm"), "-o", tmp_path / "a.parquet",
                       "--dask", "tcp://127.0.0.1:9")
    assert code == cli.EXIT_MISSING and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert not (tmp_path / "a.parquet").exists()
