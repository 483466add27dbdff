"""De-identification, pixel side and inputs: the caller's rectangle mask (dicomfast.deid.mask,
``deidentify(mask=...)``, ``dicomfast deidentify --mask``) and an index table as the command's
input (docs/deid.md)."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

import dicomfast
from dicomfast import uid
from dicomfast.cli import main
from dicomfast.deid import DeidentificationError, PixelMask, Rectangle, apply_mask
from dicomfast.pixels import pixel_info

KEY = b"0123456789abcdef-test-key"
DCIODVFY = shutil.which("dciodvfy")


def _read(name: str):
    return dicomfast.dcmread(get_testdata_file(name))


def _mask_for(ds, *rectangles, modality=None) -> PixelMask:
    return PixelMask({modality or str(ds.Modality): {f"{ds.Columns}x{ds.Rows}": [list(r) for r in rectangles]}})


def _inside(rows: int, columns: int, rectangles) -> np.ndarray:
    inside = np.zeros((rows, columns), bool)
    for x, y, w, h in rectangles:
        inside[y:y + h, x:x + w] = True
    return inside


# ---------------------------------------------------------------------------------------------
# the mask's spec


def test_mask_spec_is_checked(tmp_path):
    mask = PixelMask({"us": {"640X480": [[0, 0, 640, 40], [600, 440, 40, 40]]}, "*": {"64x64": [[1, 2, 3, 4]]}})
    assert mask.rectangles("US", 640, 480) == (Rectangle(0, 0, 640, 40), Rectangle(600, 440, 40, 40))
    assert mask.rectangles("US", 480, 640) is None  # COLUMNSxROWS: 640 wide, 480 high
    assert mask.rectangles("MR", 64, 64) == (Rectangle(1, 2, 3, 4),)  # "*": any modality
    for bad, match in [({"US": {"640-480": []}}, "COLUMNSxROWS"), ({"US": {"64x64": [[0, 0, 65, 1]]}}, "outside"),
                       ({"US": {"64x64": [[0, 0, 0, 1]]}}, "width and height"), ({"US": {"64x64": [[0, 0, 1.5, 1]]}}, "integers"),
                       ({"US": {"64x64": [[0, 0, 1]]}}, r"\[x, y, width, height\]"), ([1, 2], "mapping")]:
        with pytest.raises(ValueError, match=match):
            PixelMask(bad)
    path = tmp_path / "mask.json"
    path.write_text(json.dumps({"US": {"640x480": [[0, 0, 640, 40]]}}))
    assert PixelMask.load(path) == PixelMask({"US": {"640x480": [[0, 0, 640, 40]]}})
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        PixelMask.load(path)


# ---------------------------------------------------------------------------------------------
# native pixel data: blanked inside, every other byte as it was


NATIVE = ["CT_small.dcm",               # 16-bit signed monochrome
          "SC_rgb.dcm",                 # 8-bit RGB, interleaved
          "color-pl.dcm",               # 8-bit RGB, planar configuration 1
          "MR_small_bigendian.dcm",     # 16-bit, Explicit VR Big Endian
          "SC_rgb_expb_2frame.dcm",     # 8-bit RGB, big endian, two frames
          "emri_small.dcm"]             # ten frames


def _sample_pixels(ds, n_bytes: int) -> np.ndarray:
    """For each byte of native pixel data (bits allocated >= 8), the index of its pixel in its frame."""
    size = ds.BitsAllocated // 8
    samples, rows, columns = ds.SamplesPerPixel, ds.Rows, ds.Columns
    s = np.arange(n_bytes) // size
    if samples > 1 and ds.get("PlanarConfiguration") == 1:
        return s % (rows * columns)
    return (s // samples) % (rows * columns)


@pytest.mark.parametrize("name", NATIVE)
def test_native_pixels_inside_are_blanked_and_outside_bytes_are_identical(name):
    ds = _read(name)
    before = bytes(ds.PixelData)
    rectangles = [(1, 2, 5, 3), (ds.Columns - 4, ds.Rows - 2, 4, 2)]
    report = dicomfast.deidentify(ds, key=KEY, mask=_mask_for(ds, *rectangles))
    assert report.mask.status == "masked" and report.mask.rectangles == tuple(Rectangle(*r) for r in rectangles)
    out = io.BytesIO()
    ds.save_as(out)
    back = dicomfast.dcmread(io.BytesIO(out.getvalue()))
    after = bytes(back.PixelData)
    assert len(after) == len(before)
    frame_bytes = ds.Rows * ds.Columns * ds.SamplesPerPixel * ds.BitsAllocated // 8
    n = frame_bytes * int(ds.get("NumberOfFrames") or 1)
    inside = _inside(ds.Rows, ds.Columns, rectangles).reshape(-1)[_sample_pixels(ds, n)]
    a, b = np.frombuffer(after, np.uint8), np.frombuffer(before, np.uint8)
    assert np.array_equal(a[:n][~inside], b[:n][~inside]) and a[n:].tobytes() == b[n:].tobytes()
    assert not a[:n][inside].any() and b[:n][inside].any()  # blanked, and there was something to blank
    # pydicom sees the same: zero inside, the original outside
    import pydicom

    arr, orig = pydicom.dcmread(io.BytesIO(out.getvalue())).pixel_array, pydicom.dcmread(get_testdata_file(name)).pixel_array
    where = np.broadcast_to(_inside(ds.Rows, ds.Columns, rectangles).reshape(
        (ds.Rows, ds.Columns) + ((1,) if ds.SamplesPerPixel > 1 else ())), arr.shape)
    assert not arr[where].any() and np.array_equal(arr[~where], orig[~where])


def test_one_bit_pixels(tmp_path):
    ds = _read("liver_1frame.dcm")  # a binary segmentation: 1 bit allocated
    assert ds.BitsAllocated == 1
    before = np.unpackbits(np.frombuffer(bytes(ds.PixelData), np.uint8), bitorder="little")
    arr = ds.pixel_array
    ys, xs = np.nonzero(arr)
    rectangle = (int(xs[0]), int(ys[0]), 8, 8)  # from a set pixel
    dicomfast.deidentify(ds, key=KEY, mask=_mask_for(ds, rectangle))
    after = np.unpackbits(np.frombuffer(bytes(ds.PixelData), np.uint8), bitorder="little")
    inside = np.zeros(before.shape, bool)
    inside[:ds.Rows * ds.Columns] = _inside(ds.Rows, ds.Columns, [rectangle]).reshape(-1)
    assert np.array_equal(after[~inside], before[~inside]) and not after[inside].any() and before[inside].any()


def test_ybr_full_422_is_blanked_to_black_by_whole_pairs():
    ds = _read("SC_ybr_full_422_uncompressed.dcm")
    before = ds.pixel_array.copy()  # RGB
    dicomfast.deidentify(ds, key=KEY, mask=_mask_for(ds, (3, 2, 4, 4)))
    after = ds.pixel_array
    inside = _inside(ds.Rows, ds.Columns, [(2, 2, 6, 4)])  # columns 3-6 widen to the pairs 2-3 ... 6-7
    assert not after[inside].any()  # Y 0, Cb Cr at the middle: black
    assert np.array_equal(after[~inside], before[~inside])


# ---------------------------------------------------------------------------------------------
# encapsulated pixel data


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "SC_rgb_rle_2frame.dcm", "US1_J2KR.dcm", "JPEG-LL.dcm"])
def test_lossless_encapsulated_is_reencoded_in_its_own_syntax(name):
    pytest.importorskip("imagecodecs")
    ds = _read(name)
    syntax = ds.file_meta.TransferSyntaxUID
    before = ds.pixel_array.copy()
    rectangle = (ds.Columns // 2, ds.Rows // 2, 7, 5)  # where the image is not black
    report = dicomfast.deidentify(ds, key=KEY, mask=_mask_for(ds, rectangle))
    assert report.mask.transfer_syntax == syntax
    out = io.BytesIO()
    ds.save_as(out)
    back = dicomfast.dcmread(io.BytesIO(out.getvalue()))
    assert back.file_meta.TransferSyntaxUID == syntax and pixel_info(back).encapsulated
    after = back.pixel_array
    inside = np.broadcast_to(_inside(ds.Rows, ds.Columns, [rectangle]).reshape(
        (ds.Rows, ds.Columns) + ((1,) if ds.SamplesPerPixel > 1 else ())), before.shape)
    assert not after[inside].any() and before[inside].any()
    assert np.array_equal(after[~inside], before[~inside])


def test_lossy_pixel_data_needs_the_callers_consent():
    ds = _read("SC_rgb_jpeg_dcmtk.dcm")
    with pytest.raises(DeidentificationError, match="lossy or has no encoder.*--mask-transfer-syntax"):
        dicomfast.deidentify(ds, key=KEY, mask=_mask_for(ds, (0, 0, 10, 10)))
    assert not ds.is_modified()  # refused before any edit
    before = ds.pixel_array.copy()
    report = dicomfast.deidentify(ds, key=KEY, mask=_mask_for(ds, (0, 0, 10, 10)),
                                  mask_transfer_syntax=uid.ExplicitVRLittleEndian)
    assert report.mask.transfer_syntax == uid.ExplicitVRLittleEndian == ds.file_meta.TransferSyntaxUID
    assert ds.LossyImageCompression == "01"  # what the JPEG lost stays said
    after = ds.pixel_array
    inside = np.broadcast_to(_inside(ds.Rows, ds.Columns, [(0, 0, 10, 10)])[..., None], before.shape)
    assert not after[inside].any() and np.array_equal(after[~inside], before[~inside])
    ds2 = _read("SC_rgb_jpeg_dcmtk.dcm")
    with pytest.raises(DeidentificationError, match="not in JPEG Baseline"):
        dicomfast.deidentify(ds2, key=KEY, mask=_mask_for(ds2, (0, 0, 1, 1)), mask_transfer_syntax=uid.JPEGBaseline8Bit)


# ---------------------------------------------------------------------------------------------
# what is reported, and Burned In Annotation


def test_a_size_the_mask_does_not_list_is_not_masked_and_reported():
    ds = _read("OBXXXX1A.dcm")  # US, 800 x 600
    before = bytes(ds.PixelData)
    report = dicomfast.deidentify(ds, key=KEY, mask={"US": {"640x480": [[0, 0, 640, 40]]}}, mask_covers_annotation=True)
    assert report.mask.status == "no_match" and report.mask.key == "US 800x600" and report.mask.rectangles == ()
    assert bytes(ds.PixelData) == before
    assert report.burned_in == "unknown" and "BurnedInAnnotation" not in ds  # still at risk
    ds = _read("CT_small.dcm")
    assert dicomfast.deidentify(ds, key=KEY, mask={"US": {"128x128": [[0, 0, 1, 1]]}}).mask.status == "no_match"
    assert dicomfast.deidentify(_read("rtplan.dcm"), key=KEY, mask={"*": {"1x1": [[0, 0, 1, 1]]}}).mask.status == "no_pixels"
    assert dicomfast.deidentify(_read("CT_small.dcm"), key=KEY).mask is None


def test_burned_in_annotation_is_no_only_when_the_caller_says_the_mask_covers_it():
    ds = _read("OBXXXX1A.dcm")
    report = dicomfast.deidentify(ds, key=KEY, mask=_mask_for(ds, (0, 0, 800, 60)))
    assert report.burned_in == "unknown" and "BurnedInAnnotation" not in ds
    assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100"]
    ds = _read("OBXXXX1A.dcm")
    report = dicomfast.deidentify(ds, key=KEY, mask=_mask_for(ds, (0, 0, 800, 60)), mask_covers_annotation=True)
    assert report.burned_in == "no" and ds.BurnedInAnnotation == "NO"
    assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100", "113101"]
    assert ("", 0x00280301, "A") in report.actions


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (dicom3tools) is not installed")
@pytest.mark.parametrize("name, syntax", [("OBXXXX1A.dcm", None), ("SC_rgb_rle_2frame.dcm", None),
                                          ("SC_rgb_jpeg_dcmtk.dcm", uid.ExplicitVRLittleEndian)])
def test_dciodvfy_finds_no_new_error_after_masking(name, syntax, tmp_path):
    pytest.importorskip("imagecodecs")

    def errors(path):
        run = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=120)
        return {line.strip() for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")}

    ds = _read(name)
    report = dicomfast.deidentify(ds, key=KEY, mask=_mask_for(ds, (0, 0, 20, 10)), mask_covers_annotation=True,
                                  mask_transfer_syntax=syntax)
    assert report.mask.status == "masked"
    ds.save_as(tmp_path / "out.dcm")
    new = errors(tmp_path / "out.dcm") - errors(get_testdata_file(name))
    assert not new, sorted(new)


def test_apply_mask_alone():
    ds = _read("CT_small.dcm")
    outcome = apply_mask(ds, _mask_for(ds, (0, 0, 2, 2)))
    assert outcome.status == "masked" and outcome.key == "CT 128x128"
    assert not ds.pixel_array[:2, :2].any() and ds.get("PatientName")  # nothing else changed


# ---------------------------------------------------------------------------------------------
# the command: --mask, and an index table as input (--index)


@pytest.fixture()
def folder(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for name, where in [("OBXXXX1A.dcm", "us.dcm"), ("CT_small.dcm", "sub/ct.dcm"), ("MR_small.dcm", "mr.dcm"),
                        ("SC_rgb.dcm", "sub/sc.dcm")]:
        shutil.copyfile(get_testdata_file(name), src / where)
    (src / "notes.txt").write_text("not DICOM")
    key = tmp_path / "key"
    key.write_bytes(KEY)
    return src, key


def _audit(path) -> dict:
    import pyarrow.parquet as pq

    return {Path(r["path"]).name: r for r in pq.read_table(str(path) + ".audit.parquet").to_pylist()}


def _files(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_command_mask_and_audit(folder, tmp_path):
    src, key = folder
    mask = tmp_path / "mask.json"
    mask.write_text(json.dumps({"US": {"800x600": [[0, 0, 800, 60]]}, "OT": {"640x480": [[0, 0, 1, 1]]}}))
    out = tmp_path / "out"
    assert main(["deidentify", str(src), "-o", str(out), "--key-file", str(key), "-q", "-j", "1", "--name", "path",
                 "--mask", str(mask), "--mask-covers-annotation"]) == 0
    audit = _audit(out)
    assert audit["us.dcm"]["mask"] == "masked" and audit["us.dcm"]["burned_in"] == "no"
    assert audit["us.dcm"]["masked"] == [{"x": 0, "y": 0, "width": 800, "height": 60}]
    assert audit["sc.dcm"]["mask"] == "no_match" and audit["sc.dcm"]["burned_in"] == "unknown"  # 100 x 100
    assert audit["ct.dcm"]["mask"] == "no_match" and audit["ct.dcm"]["masked"] == []
    us = dicomfast.dcmread(out / "us.dcm")
    assert us.BurnedInAnnotation == "NO" and not us.pixel_array[:60].any()
    # without --mask the columns are empty
    assert main(["deidentify", str(src), "-o", str(tmp_path / "plain"), "--key-file", str(key), "-q", "-j", "1"]) == 0
    assert {r["mask"] for r in _audit(tmp_path / "plain").values()} == {None}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"US": {"800x600": [[0, 0, 801, 1]]}}))
    # a usage error, before any file is read
    assert main(["deidentify", str(src), "-o", str(tmp_path / "x"), "--key-file", str(key), "--mask", str(bad)]) == 2
    assert not (tmp_path / "x").exists()


def test_index_table_as_input(folder, tmp_path):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    src, key = folder
    index = tmp_path / "index.parquet"
    assert main(["index", str(src), "-o", str(index), "-q"]) == 0
    # the whole index: the same files as the folder, byte for byte
    assert main(["deidentify", str(src), "-o", str(tmp_path / "walk"), "--key-file", str(key), "-q", "-j", "1"]) == 0
    assert main(["deidentify", "--index", str(index), "-o", str(tmp_path / "idx"), "--key-file", str(key), "-q",
                 "-j", "1"]) == 0
    assert _files(tmp_path / "walk") == _files(tmp_path / "idx") and len(_files(tmp_path / "idx")) == 4
    audit = _audit(tmp_path / "idx")
    assert audit["notes.txt"]["status"] == "skipped"  # listed, not DICOM: skipped again, with its reason
    # exactly the files listed: a filtered index (here: the CT and MR rows)
    table = pq.read_table(index)
    subset = table.filter(pc.is_in(table["modality"], pa_array(["CT", "MR"])))
    pq.write_table(subset, tmp_path / "subset.parquet")
    out = tmp_path / "subset"
    assert main(["deidentify", "--index", str(tmp_path / "subset.parquet"), "-o", str(out), "--key-file", str(key),
                 "-q", "-j", "1", "--name", "path"]) == 0
    assert sorted(_files(out)) == ["mr.dcm", "sub/ct.dcm"]  # relative to the listed files' common folder
    assert sorted(_audit(out)) == ["ct.dcm", "mr.dcm"]
    # a Parquet file that is not an index, and an index listing a file that is gone
    pq.write_table(table.select(["modality"]), tmp_path / "other.parquet")
    assert main(["deidentify", "--index", str(tmp_path / "other.parquet"), "-o", str(tmp_path / "o"),
                 "--key-file", str(key), "-q"]) == 2
    # PATHs or --index, as tree takes them: both, or neither, is a usage error
    for both in ([str(src), "--index", str(index)], []):
        assert main(["deidentify", *both, "-o", str(tmp_path / "o"), "--key-file", str(key), "-q"]) == 2
    assert not (tmp_path / "o").exists()
    (src / "mr.dcm").unlink()
    assert main(["deidentify", "--index", str(tmp_path / "subset.parquet"), "-o", str(tmp_path / "gone"),
                 "--key-file", str(key), "-q", "-j", "1"]) == 1
    assert _audit(tmp_path / "gone")["mr.dcm"]["status"] == "failed"


def pa_array(values):
    import pyarrow as pa

    return pa.array(values)
