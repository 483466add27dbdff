"""dicomfast.index on a Dask cluster that the test starts: the same table as a local run."""
from __future__ import annotations

import pytest

pytest.importorskip("pyarrow")
distributed = pytest.importorskip("distributed")

import dicomfast  # noqa: E402


@pytest.fixture
def cluster(dask_cluster):
    return dask_cluster  # conftest.py (tests/test_cli.py uses it too)


TAGS = ["ImagePositionPatient", "SliceThickness", "ImageType", "Rows", "PatientBirthDate"]


def test_dask_gives_the_local_table(dicom_tree, cluster):
    root, _ = dicom_tree
    local = dicomfast.index(root, TAGS, workers=1)
    with distributed.Client(cluster) as client:
        on_dask = dicomfast.index(root, TAGS, scheduler=client, chunksize=4)
        assert client.status == "running"  # a client the caller gave is left open
    assert on_dask.equals(local)


def test_dask_by_address_and_to_parquet(dicom_tree, cluster, tmp_path):
    import pyarrow.parquet as pq

    root, _ = dicom_tree
    local = dicomfast.index(root, workers=1)
    out = tmp_path / "dask.parquet"
    assert dicomfast.index(root, scheduler=cluster.scheduler_address, chunksize=7, out=out) is None
    assert pq.read_table(out).sort_by("path").equals(local)


def test_map_chunks_on_dask_in_order_and_unordered(cluster):
    from dicomfast.collection.executor import map_chunks

    with distributed.Client(cluster) as client:
        ordered = list(map_chunks(sum, range(100), scheduler=client, chunksize=10))
        unordered = list(map_chunks(sum, range(100), scheduler=client, chunksize=10, ordered=False))
    assert ordered == [sum(range(i, i + 10)) for i in range(0, 100, 10)]
    assert sorted(unordered) == sorted(ordered)


def test_a_scheduler_that_is_not_one():
    from dicomfast.collection.executor import map_chunks

    with pytest.raises(TypeError, match="Client"):
        list(map_chunks(sum, range(10), scheduler=42))
