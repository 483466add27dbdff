"""A DICOMweb client: QIDO-RS searches as Arrow tables, WADO-RS instances as dicomfast datasets
(parsed straight from the multipart/related answer), metadata as the DICOM JSON model, frames
decoded through the codec registry, and STOW-RS of files and datasets.

    >>> web = DICOMwebClient("http://localhost:8042/dicom-web")
    >>> studies = web.search_studies(PatientID="R13")          # a pyarrow Table, the index's types
    >>> ds = web.retrieve_instance(study, series, instance)    # a dicomfast Dataset
    >>> frames = web.retrieve_frames(study, series, instance, [1, 5])   # arrays, as pixel_array
    >>> volume = web.load_series(study, series)                # a Volume, as load_series of the files
    >>> batch = web.read_batch(web.search_instances(study, series), window=(40, 400))  # as read_batch

HTTP is ``requests``, with the request policy of :mod:`dicomfast.sources` (``timeout=`` on every
request; ``retries=`` for GET and HEAD through urllib3's ``Retry`` on the session's adapter, and again
for a body cut short; a POST is never sent twice). Answers are checked: an HTTP error, a body cut short
or a wrong Content-Type is a :class:`~dicomfast.errors.TransportError` naming the URL; the
multipart/related bodies are parsed here (:func:`parse_multipart`): the answer's parts as they are,
with a :class:`MultipartError` for a body that is not what its Content-Type says.
"""
from __future__ import annotations

import io
import os
import time
from typing import Any, Iterable, NamedTuple, Sequence

import numpy as np

from ..collection.batch import read_items
from ..collection.frames import FRAME_TAGS
from ..collection.indexing import table_from_values
from ..collection.series import Volume, load_series, readable_rows, table_columns
from ..collection.threads import check_workers, run
from ..dataset import Dataset
from ..errors import SeriesError, TransportError
from ..pixels.fileread import decode_frame_bytes
from ..pixels.module import NATIVE_SYNTAXES, PixelValues, info_from_values
from ..reader import dcmread
from ..sources import (DEFAULT_RETRIES, DEFAULT_TIMEOUT, RETRY_STATUSES, backoff_time, check_retries,
                       check_timeout, retry_after)
from ..tags import to_tag
from ..writer import dcmwrite

__all__ = ["DICOMwebClient", "MultipartError", "Part", "parse_multipart", "json_values"]

_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_IDEMPOTENT = frozenset({"GET", "HEAD"})
_JSON_TYPES = ("application/dicom+json", "application/json")


def _retry_policy(retries: int) -> Any:
    """urllib3's ``Retry`` for ``retries`` tries again of GET and HEAD (connection errors, read
    timeouts, 429/502/503/504 with ``Retry-After`` honoured up to ``sources.RETRY_AFTER_MAX``, the
    backoff of ``sources.backoff_time``), and of any request whose connection never opened."""
    from urllib3.util.retry import Retry

    from .. import sources

    class _Retry(Retry):
        def get_retry_after(self, response: Any) -> float | None:
            value = response.headers.get("Retry-After")
            return None if value is None else retry_after(value)

    options = dict(total=retries, connect=retries, read=retries, status=retries, redirect=None, other=0,
                   allowed_methods=_IDEMPOTENT, status_forcelist=RETRY_STATUSES,
                   backoff_factor=sources.RETRY_BACKOFF, respect_retry_after_header=True, raise_on_status=False)
    try:
        return _Retry(**options, backoff_max=sources.RETRY_BACKOFF_MAX)
    except TypeError:  # urllib3 1.26: a class attribute, 120 s
        return _Retry(**options)


class MultipartError(TransportError):
    """A multipart/related answer that is not one: no boundary, a missing delimiter, a truncated
    body or a part without its header block."""


class Part(NamedTuple):
    """One part of a multipart body: its ``headers`` (lower-case names) and ``content``."""

    headers: dict
    content: bytes


def _params(content_type: str) -> tuple[str, dict]:
    kind, *rest = content_type.split(";")
    params = {}
    for item in rest:
        name, _, value = item.strip().partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), params


def parse_multipart(body: bytes, content_type: str, url: str = "") -> list[Part]:
    """The parts of a multipart body whose Content-Type header is ``content_type`` (RFC 2046)."""
    kind, params = _params(content_type)
    if not kind.startswith("multipart/"):
        raise MultipartError(f"{url}: expected a multipart answer, got Content-Type {content_type!r}", url)
    boundary = params.get("boundary")
    if not boundary:
        raise MultipartError(f"{url}: the multipart Content-Type has no boundary: {content_type!r}", url)
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise MultipartError(f"{url}: the multipart body holds no boundary delimiter", url)
    parts = []
    pos = start + len(delimiter)
    while True:
        if body.startswith(b"--", pos):
            return parts  # the close delimiter
        while pos < len(body) and body[pos] in b" \t":  # transport padding
            pos += 1
        if not body.startswith(b"\r\n", pos):
            raise MultipartError(f"{url}: the multipart body is truncated after a delimiter", url)
        pos += 2
        if body.startswith(b"\r\n", pos):  # a part without headers
            head_end = pos - 2
        else:
            head_end = body.find(b"\r\n\r\n", pos)
            if head_end < 0:
                raise MultipartError(f"{url}: a multipart part has no end to its headers", url)
        eol = pos - 2
        headers = {}
        for line in body[eol + 2:head_end].split(b"\r\n"):
            if line:
                name, sep, value = line.decode("latin-1").partition(":")
                if not sep:
                    raise MultipartError(f"{url}: a multipart part header is not 'name: value': {line!r}", url)
                headers[name.strip().lower()] = value.strip()
        begin = head_end + 4
        end = body.find(b"\r\n" + delimiter, begin)
        if end < 0:
            raise MultipartError(f"{url}: the multipart body is truncated (a part has no closing delimiter)", url)
        parts.append(Part(headers, body[begin:end]))
        pos = end + 2 + len(delimiter)


def json_values(item: dict) -> dict:
    """``{tag: value}`` of a DICOM JSON model object (PS3.18 F.2): one value as itself, several
    as a list, a person name as its alphabetic group; sequences and bulk data left out."""
    out = {}
    for key, attr in item.items():
        if not isinstance(attr, dict) or attr.get("vr") == "SQ":
            continue
        values = attr.get("Value")
        if not values:
            continue
        if attr.get("vr") == "PN":
            values = [v.get("Alphabetic") if isinstance(v, dict) else v for v in values]
        out[int(key, 16)] = values[0] if len(values) == 1 else list(values)
    return out


def _frame_number(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"a frame number must be an int, not {type(k).__name__}")
    if k < 0:
        raise IndexError(f"frame {k}: frames are numbered from 0")
    return int(k)


def _decode_part(part: Part, module: list, as_rgb: bool, decoder: str | None, where: str) -> np.ndarray:
    """One frame's part of a WADO-RS frames answer, decoded for the Image Pixel ``module`` (the
    values of ``FRAME_TAGS``) in the transfer syntax its Content-Type names."""
    _, params = _params(part.headers.get("content-type", "application/octet-stream"))
    syntax = params.get("transfer-syntax", _EXPLICIT_LE)
    encapsulated = syntax not in NATIVE_SYNTAXES
    info = info_from_values(PixelValues(syntax, *module), encapsulated=encapsulated,
                            length=len(part.content) * int(module[-1] or 1), vr="OW")
    info = info._replace(number_of_frames=1)
    return decode_frame_bytes(info, part.content, as_rgb=as_rgb, decoder=decoder, where=where)


class DICOMwebClient:
    """A DICOMweb service at ``url`` (its base: ``.../dicom-web``).

    ``timeout``: seconds to connect and to wait for the next bytes of every request (a number for
    both, or a ``(connect, read)`` pair; ``sources.DEFAULT_TIMEOUT``). ``retries``: how many times a
    GET is tried again after a connection error, a timeout, a body cut short or an HTTP
    429/502/503/504 (``sources.DEFAULT_RETRIES``; a POST is never sent again). ``session``: a
    ``requests.Session`` (authentication, proxies); with one, its own adapters stay as they are
    unless ``retries`` is given, which mounts the retry policy on it for this URL."""

    def __init__(self, url: str, *, session: Any = None,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT, retries: int | None = None) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self.url = url.rstrip("/")
        self.timeout = check_timeout(timeout)
        if session is None:
            session = requests.Session()
            if retries is None:
                retries = DEFAULT_RETRIES
        self.retries = 0 if retries is None else check_retries(retries)
        if retries is not None:
            session.mount(self.url + "/", HTTPAdapter(max_retries=_retry_policy(self.retries)))
        self.session = session
        self._requests = requests

    # -- HTTP --------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The answer to ``method`` of ``path`` (its body read), or a :class:`TransportError` naming
        the URL: the request failed, timed out, its body was cut short, or it answered an error.
        The adapter retries GET and HEAD before the body; a body cut short is fetched again here."""
        url = f"{self.url}/{path.lstrip('/')}"
        errors = self._requests.RequestException
        failures = 0
        while True:
            try:
                answer = self.session.request(method, url, timeout=self.timeout, stream=True, **kwargs)
            except errors as exc:
                raise TransportError(f"{url}: {method} failed: {type(exc).__name__}: {exc}", url) from exc
            try:
                answer.content  # noqa: B018 - the body, read here so that its failures are ours
                break
            except errors as exc:
                answer.close()
                failures += 1
                if method not in _IDEMPOTENT or failures > self.retries:
                    tries = f" ({failures} tries)" if failures > 1 else ""
                    raise TransportError(f"{url}: {method}: the answer's body failed{tries}: "
                                         f"{type(exc).__name__}: {exc}", url) from exc
                time.sleep(backoff_time(failures))
        if answer.status_code == 204:
            return answer
        if answer.status_code >= 400:
            wait = retry_after(answer.headers.get("Retry-After"))
            later = f" (Retry-After {answer.headers['Retry-After']})" if wait is not None else ""
            tries = (f" after {self.retries + 1} tries" if method in _IDEMPOTENT and self.retries
                     and answer.status_code in RETRY_STATUSES else "")
            raise TransportError(f"{url}: {method} answered {answer.status_code} {answer.reason}{tries}{later}: "
                                 f"{answer.text[:200]}", url)
        return answer

    def _json(self, path: str, params: dict | None = None) -> list:
        answer = self._request("GET", path, params=params, headers={"Accept": "application/dicom+json"})
        if answer.status_code == 204 or not answer.content:
            return []
        kind = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind not in _JSON_TYPES:
            raise TransportError(f"{answer.url}: expected DICOM JSON, got Content-Type "
                                 f"{answer.headers.get('Content-Type')!r}", answer.url)
        try:
            return answer.json()
        except ValueError as exc:
            raise TransportError(f"{answer.url}: the answer is not JSON: {exc}", answer.url) from exc

    def _parts(self, path: str, accept: str) -> list[Part]:
        answer = self._request("GET", path, headers={"Accept": accept})
        return parse_multipart(answer.content, answer.headers.get("Content-Type", ""), answer.url)

    # -- QIDO-RS -----------------------------------------------------------------------------------

    def _search(self, path: str, level: str, filters: dict, tags: Iterable[Any]) -> Any:
        params = {"includefield": "all", **{str(k): str(v) for k, v in filters.items()}}
        found = self._json(path, params)
        rows = []
        for item in found:
            values = json_values(item)
            ids = [values.get(t) for t in (0x0020000D, 0x0020000E, 0x00080018)]
            where = "/".join(f"{name}/{uid}" for name, uid in zip(("studies", "series", "instances"), ids) if uid)
            rows.append((f"{self.url}/{where}", values))
        return table_from_values(rows, tags)

    def search_studies(self, *, tags: Iterable[Any] = (), **filters: Any) -> Any:
        """QIDO-RS studies matching ``filters`` (keywords or tags: values, as QIDO takes them), as a
        table of ``index_schema(tags)`` (the study's columns filled, ``path`` its URL)."""
        return self._search("studies", "study", filters, tags)

    def search_series(self, study: str | None = None, *, tags: Iterable[Any] = (), **filters: Any) -> Any:
        """QIDO-RS series (of ``study``, or all) as :meth:`search_studies`."""
        return self._search(f"studies/{study}/series" if study else "series", "series", filters, tags)

    def search_instances(self, study: str | None = None, series: str | None = None, *,
                         tags: Iterable[Any] = (), **filters: Any) -> Any:
        """QIDO-RS instances (of ``study`` and ``series``, or all) as :meth:`search_studies`."""
        path = "instances"
        if study:
            path = f"studies/{study}/series/{series}/instances" if series else f"studies/{study}/instances"
        return self._search(path, "instance", filters, tags)

    # -- WADO-RS -----------------------------------------------------------------------------------

    def _datasets(self, path: str, strict: bool = False) -> list[Dataset]:
        parts = self._parts(path, 'multipart/related; type="application/dicom"; transfer-syntax=*')
        out = []
        for part in parts:
            kind = part.headers.get("content-type", "application/dicom").split(";")[0].strip().lower()
            if kind != "application/dicom":
                raise MultipartError(f"{self.url}/{path}: a part is {kind}, not application/dicom",
                                     f"{self.url}/{path}")
            out.append(dcmread(part.content, strict=strict))
        return out

    def retrieve_instance(self, study: str, series: str, instance: str, *, strict: bool = False) -> Dataset:
        """WADO-RS of one instance, as a dicomfast Dataset (in its stored transfer syntax; read
        with ``dcmread(..., strict=strict)``)."""
        found = self._datasets(f"studies/{study}/series/{series}/instances/{instance}", strict)
        if len(found) != 1:
            raise MultipartError(f"{self.url}: {len(found)} instances for one", self.url)
        return found[0]

    def retrieve_series(self, study: str, series: str) -> list[Dataset]:
        """WADO-RS of a series: its instances as dicomfast Datasets."""
        return self._datasets(f"studies/{study}/series/{series}")

    def retrieve_study(self, study: str) -> list[Dataset]:
        """WADO-RS of a study: its instances as dicomfast Datasets."""
        return self._datasets(f"studies/{study}")

    def retrieve_metadata(self, study: str, series: str | None = None, instance: str | None = None) -> list[dict]:
        """WADO-RS metadata: the DICOM JSON model of each instance (bulk data as URIs)."""
        path = f"studies/{study}"
        if series:
            path += f"/series/{series}"
            if instance:
                path += f"/instances/{instance}"
        return self._json(path + "/metadata")

    def retrieve_frames(self, study: str, series: str, instance: str, frames: Sequence[int], *,
                        as_rgb: bool = True, decoder: str | None = None, workers: int | None = None,
                        metadata: dict | None = None) -> list[np.ndarray]:
        """Frames ``frames`` (numbered from 0, as ``pixel_array``) of an instance, in the order
        asked, each as ``pixel_array(file, frame=k)`` gives it.

        The frames are fetched in their stored transfer syntax by ``workers`` concurrent WADO-RS
        requests (default 1, never more than the frames): the list is cut into that many
        consecutive groups, one ``.../frames/a,b,c`` request each, and each group is decoded
        through the codec registry in the thread that fetched it. One request is the default
        because it measured fastest against Orthanc on the same machine, which reads the instance
        again for every request (benchmarks/bench_remote.py); more pay where one connection's
        bandwidth is the limit. The Image Pixel module comes from the instance's ``metadata`` (its
        DICOM JSON object, as :meth:`retrieve_metadata` gives it), fetched first (one more
        request) when not given.
        """
        workers = check_workers(workers, default=1)
        numbers = [_frame_number(k) for k in frames]
        if not numbers:
            return []
        if metadata is None:
            found = self.retrieve_metadata(study, series, instance)
            if len(found) != 1:
                raise TransportError(f"{self.url}: {len(found)} metadata objects for one instance", self.url)
            metadata = found[0]
        values = json_values(metadata)
        module = [values.get(to_tag(keyword)) for keyword, _ in FRAME_TAGS]
        base = f"studies/{study}/series/{series}/instances/{instance}/frames/"
        size = -(-len(numbers) // min(workers, len(numbers)))
        groups = [numbers[k:k + size] for k in range(0, len(numbers), size)]

        def fetch(_: int, group: list[int]) -> list[np.ndarray]:
            path = base + ",".join(str(k + 1) for k in group)
            parts = self._parts(path, 'multipart/related; type="application/octet-stream"; transfer-syntax=*')
            if len(parts) != len(group):
                raise MultipartError(f"{self.url}/{path}: {len(parts)} parts for {len(group)} frames", path)
            return [_decode_part(part, module, as_rgb, decoder, path) for part in parts]

        return [arr for group in run(fetch, groups, workers) for arr in group]

    def load_series(self, study: str, series: str, *, rescale: bool = True, dtype: Any = None,
                    workers: int | None = None, check: bool = True, strict: bool = False) -> Volume:
        """The series as a :class:`~dicomfast.collection.series.Volume`, as
        :func:`dicomfast.load_series` gives it from the same files (the same array, geometry and
        checks; the options mean the same), with ``paths`` the instances' WADO-RS URLs.

        By default (``workers`` None or 1) the series comes in one WADO-RS request: the fewest
        requests and bytes, and the fastest against Orthanc on the same machine
        (benchmarks/bench_remote.py: 3.1-3.7x dicomweb-client's ``retrieve_series`` + pydicom,
        6.5-8x the concurrent requests, on a 40-slice series). With ``workers=N`` > 1, one QIDO-RS request lists the series'
        instances and N threads retrieve them concurrently, one WADO-RS request each, which pays
        where one connection's bandwidth is the limit. The volume is then assembled as from local
        Datasets (``workers`` threads; None: :func:`dicomfast.load_series`'s default). ``strict``
        reads each instance with ``dcmread(..., strict=True)``.
        """
        fetchers = check_workers(workers, default=1)
        if fetchers == 1:
            datasets = self._datasets(f"studies/{study}/series/{series}", strict)
            uids = [ds.SOPInstanceUID for ds in datasets]
        else:
            found = self.search_instances(study, series)
            uids = found.column("sop_instance_uid").to_pylist()

            def fetch(_: int, uid: str) -> Dataset:
                return self.retrieve_instance(study, series, uid, strict=strict)

            datasets = run(fetch, uids, fetchers)
        if not datasets:
            raise SeriesError(f"{self.url}: no instance in series {series} of study {study}")
        volume = load_series(datasets, rescale=rescale, dtype=dtype, series_uid=series, workers=workers,
                             check=check, strict=strict)
        where = {id(ds): f"{self.url}/studies/{study}/series/{series}/instances/{uid}"
                 for ds, uid in zip(datasets, uids)}
        volume.paths = [where[id(ds)] for ds in volume.datasets]
        return volume

    def _instance_refs(self, instances: Any) -> list[tuple[str, str, str]]:
        cols = table_columns(instances, ("study_instance_uid", "series_instance_uid", "sop_instance_uid", "error"))
        if cols is not None:
            missing = [n for n in ("study_instance_uid", "series_instance_uid", "sop_instance_uid") if n not in cols]
            if missing:
                raise ValueError(f"a table of instances needs the columns {', '.join(missing)} (as search_instances gives)")
            keep = readable_rows(cols.get("error"), len(cols["sop_instance_uid"]))
            refs = [(cols["study_instance_uid"][i], cols["series_instance_uid"][i], cols["sop_instance_uid"][i])
                    for i in keep]
        elif isinstance(instances, (str, bytes)) or not hasattr(instances, "__iter__"):
            raise TypeError("expected (study, series, instance) UID triples or a table of search_instances, "
                            f"not {type(instances).__name__}")
        else:
            refs = []
            for item in instances:
                if isinstance(item, (str, bytes)) or not hasattr(item, "__len__") or len(item) != 3:
                    raise TypeError(f"expected a (study, series, instance) UID triple, not {item!r}")
                refs.append(tuple(item))
        for ref in refs:
            if not all(isinstance(uid, str) and uid for uid in ref):
                raise ValueError(f"an instance needs three UIDs (study, series, instance), not {ref!r}")
        return refs

    def read_batch(self, instances: Any, out: np.ndarray | None = None, *, workers: int | None = None,
                   frame: int | None = None, rescale: bool = True, window: Any = None, dtype: Any = None,
                   strict: bool = False) -> np.ndarray:
        """The images of ``instances`` in one array, as :func:`dicomfast.read_batch` gives it from
        the same files: the same options (``out``, ``frame``, ``rescale``, ``window``, ``dtype``,
        ``strict``), checks, output and errors (a :class:`~dicomfast.errors.FileReadError` naming
        the instance's WADO-RS URL as its ``path``, and its ``index``).

        ``instances`` are ``(study, series, instance)`` UID triples, or a table of instances as
        :meth:`search_instances` gives it (its UID columns; rows with an ``error`` left out), in the
        batch's order. Each instance is one WADO-RS request (in its stored transfer syntax), made by
        the ``workers`` threads that decode and transform them (``workers`` requests at once;
        default as ``read_batch``'s); without ``out``, the first instance is fetched first and sizes
        the batch. An instance is whole in memory only while its image is written.
        """
        refs = self._instance_refs(instances)
        where = {f"{self.url}/studies/{a}/series/{b}/instances/{c}": (a, b, c) for a, b, c in refs}
        urls = [f"{self.url}/studies/{a}/series/{b}/instances/{c}" for a, b, c in refs]

        def fetch(url: str) -> Dataset:
            return self.retrieve_instance(*where[url], strict=strict)

        return read_items(urls, out, workers=workers, frame=frame, rescale=rescale, window=window, dtype=dtype,
                          strict=strict, fetch=fetch)

    # -- STOW-RS -----------------------------------------------------------------------------------

    def store(self, items: Iterable[Any], study: str | None = None) -> dict:
        """STOW-RS of ``items``: paths of DICOM files (sent as they are) and Datasets (written with
        ``dcmwrite`` as Part 10 files). Returns the server's answer (DICOM JSON: the stored and the
        failed instances); a refused instance is a :class:`TransportError`."""
        boundary = f"dicomfast-{os.urandom(12).hex()}"
        body = io.BytesIO()
        for item in items:
            if isinstance(item, Dataset):
                buf = io.BytesIO()
                dcmwrite(buf, item, enforce_file_format=True)
                data = buf.getvalue()
            else:
                with open(os.fspath(item), "rb") as f:
                    data = f.read()
            body.write(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode())
            body.write(data)
            body.write(b"\r\n")
        body.write(f"--{boundary}--\r\n".encode())
        path = f"studies/{study}" if study else "studies"
        answer = self._request("POST", path, data=body.getvalue(), headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json"})
        result = answer.json() if answer.content else {}
        failed = result.get("00081198", {}).get("Value") if isinstance(result, dict) else None
        if failed:
            raise TransportError(f"{answer.url}: the server refused {len(failed)} instance(s): {failed}", answer.url)
        return result
