"""Byte sources: where the reader and the pixel file reads get bytes by offset.

A :class:`ByteSource` gives bytes by offset (``read_at``), several ranges at once (``read_ranges``,
concurrent where the backend can), or everything (``read_all``). Two implementations:

* :class:`FileSource`: a local file, read with ``pread`` on one descriptor;
* :class:`FsspecSource`: a file of an fsspec filesystem (``s3://``, ``gs://``, ``http(s)://``,
  ``file://``, ...), each read one ranged request (fsspec's ``cat_file``; ``cat_ranges`` for several,
  which async filesystems run concurrently). It keeps the first bytes it read from offset 0 (the
  header block), so that a later read inside them costs no request.

The reader frames whatever a source gives (``reader.read_source``); ``pixels.fileread`` reads pixel
bytes from it by offset. fsspec is an optional dependency (``pip install dicomfast[remote]``),
imported only when a URL or an fsspec file is read.

Requests to servers (here and in :mod:`dicomfast.remote.dicomweb`) share one policy, with the same two
options wherever a request is made: ``timeout`` (seconds to connect and to wait for the next bytes:
a number for both or a ``(connect, read)`` pair; :data:`DEFAULT_TIMEOUT`) and ``retries`` (how many
times an idempotent request is tried again after a connection error, a timeout, a body cut short or an
HTTP 429/502/503/504; :data:`DEFAULT_RETRIES`), waiting :func:`backoff_time` between tries, or what the
server's ``Retry-After`` says, at most :data:`RETRY_AFTER_MAX` seconds. An answer that is not what was
asked for (a wrong ``Content-Range``, fewer or more bytes than the range, an HTML page) is a
:class:`~dicomfast.errors.TransportError` naming the URL and the range, and is not tried again.
"""
from __future__ import annotations

import email.utils
import errno
import os
import re
import sys
import threading
import time
from typing import Any, Mapping, NamedTuple, Sequence

from .errors import DicomError, TransportError

__all__ = ["ByteSource", "FileSource", "FsspecSource", "Range", "open_source", "is_remote", "coalesce", "source_of",
           "check_storage_options",
           "require_fsspec", "list_files", "Timeout", "check_timeout", "check_retries", "backoff_time",
           "retry_after", "DEFAULT_TIMEOUT", "DEFAULT_RETRIES", "RETRY_STATUSES"]

DEFAULT_TIMEOUT = (10.0, 60.0)
"""Seconds to open a connection, and to wait for the next bytes of an answer."""
DEFAULT_RETRIES = 3
"""How many times an idempotent request is tried again after a transient failure."""
RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""HTTP statuses worth another try (too many requests, bad gateway, unavailable, gateway timeout)."""
RETRY_BACKOFF = 0.5
"""Seconds: the waits between tries are 0, 2b, 4b, 8b, ... (urllib3's schedule), at most RETRY_BACKOFF_MAX."""
RETRY_BACKOFF_MAX = 10.0
RETRY_AFTER_MAX = 30.0
"""The longest wait a server's Retry-After is honoured for; a longer one is cut to this."""


class Timeout(NamedTuple):
    """Seconds to open a connection (``connect``) and to wait for the next bytes (``read``)."""

    connect: float
    read: float


def check_timeout(timeout: Any) -> Timeout:
    """``timeout`` (a number of seconds for both, or a ``(connect, read)`` pair) as a :class:`Timeout`;
    a ``ValueError`` for anything but positive finite numbers: a request without a timeout could hang."""
    pair = tuple(timeout) if isinstance(timeout, (tuple, list)) else (timeout, timeout)
    if len(pair) != 2 or not all(isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t < float("inf")
                                 for t in pair):
        raise ValueError(f"timeout must be a positive number of seconds or a (connect, read) pair of them, "
                         f"not {timeout!r}")
    return Timeout(float(pair[0]), float(pair[1]))


def check_retries(retries: Any) -> int:
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an int >= 0, not {retries!r}")
    return retries


def backoff_time(failures: int) -> float:
    """Seconds to wait before the next try after ``failures`` consecutive failures: none after the
    first, then ``RETRY_BACKOFF * 2 ** (failures - 1)``, at most ``RETRY_BACKOFF_MAX``."""
    if failures <= 1:
        return 0.0
    return min(RETRY_BACKOFF_MAX, RETRY_BACKOFF * 2 ** (failures - 1))


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date), cut to ``RETRY_AFTER_MAX``;
    None for no header or one that does not parse."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), RETRY_AFTER_MAX)


class Range(NamedTuple):
    """``length`` bytes from ``offset``."""

    offset: int
    length: int


def coalesce(ranges: Sequence[Range], gap: int = 0) -> list[tuple[Range, list[int]]]:
    """Ranges merged into runs: each run is a :class:`Range` and the indices of the ranges it covers.
    Ranges that touch (or are within ``gap`` bytes) and overlapping ones become one run."""
    order = sorted(range(len(ranges)), key=lambda i: ranges[i].offset)
    runs: list[tuple[Range, list[int]]] = []
    start = end = -1
    members: list[int] = []
    for i in order:
        r = ranges[i]
        if members and r.offset <= end + gap:
            end = max(end, r.offset + r.length)
            members.append(i)
            continue
        if members:
            runs.append((Range(start, end - start), members))
        start, end, members = r.offset, r.offset + r.length, [i]
    if members:
        runs.append((Range(start, end - start), members))
    return runs


class ByteSource:
    """Bytes by offset. ``name`` is the path or URL, for messages; ``remote`` says whether a read
    is a request to a server (so that fewer, larger reads pay)."""

    name: str
    remote: bool = False

    def read_at(self, offset: int, n: int) -> bytes:
        """``n`` bytes from ``offset``, fewer where the source ends."""
        raise NotImplementedError

    def read_ranges(self, ranges: Sequence[Range]) -> list[bytes]:
        """The bytes of each range, in order (one read per range)."""
        return [self.read_at(r.offset, r.length) for r in ranges]

    def read_from(self, offset: int) -> bytes:
        """Everything from ``offset`` to the end."""
        raise NotImplementedError

    def read_all(self) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> "ByteSource":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_O_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class FileSource(ByteSource):
    """A local file read with ``pread``: ``FileSource(path)`` opens it (and ``close`` closes it);
    ``FileSource(path, fd=fd)`` reads an open descriptor, which stays the caller's."""

    def __init__(self, path: str, fd: int | None = None) -> None:
        self.name = path
        self._own = fd is None
        self.fd = os.open(path, _O_FLAGS) if fd is None else fd

    def read_at(self, offset: int, n: int) -> bytes:
        return os.pread(self.fd, n, offset)

    def read_from(self, offset: int) -> bytes:
        return os.pread(self.fd, max(os.fstat(self.fd).st_size - offset, 0), offset)

    def read_all(self) -> bytes:
        from .core._scan import read_file

        return read_file(self.name)[0]

    def close(self) -> None:
        if self._own and self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def require_fsspec() -> Any:
    try:
        import fsspec
    except ImportError:
        raise ImportError("reading URLs needs fsspec: pip install 'dicomfast[remote]'") from None
    return fsspec


class _Answer(NamedTuple):
    """What an HTTP server said about one answer (seen through aiohttp's request tracing)."""

    range: str | None
    status: int
    content_range: str | None
    content_type: str


_TRACE: Any = None
_TRACE_LOCK = threading.Lock()


def _trace_config() -> Any:
    """One aiohttp ``TraceConfig`` (one object, so that fsspec's cache of filesystems, keyed by their
    options, keeps reusing the same filesystem and its connections) that records each answer's
    status and headers in the list passed as the request's ``trace_request_ctx``."""
    global _TRACE
    with _TRACE_LOCK:
        if _TRACE is None:
            _TRACE = _new_trace_config()
    return _TRACE


def _new_trace_config() -> Any:
    import aiohttp

    async def on_request_end(session: Any, ctx: Any, params: Any) -> None:
        record = ctx.trace_request_ctx
        if isinstance(record, list):
            headers = params.response.headers
            record.append(_Answer(params.headers.get("Range"), params.response.status,
                                  headers.get("Content-Range"), headers.get("Content-Type", "")))

    class AnswerTrace(aiohttp.TraceConfig):
        def __reduce__(self) -> Any:  # pickled filesystems (processes, Dask) get this process's one
            return (_trace_config, ())

    trace = AnswerTrace()
    trace.on_request_end.append(on_request_end)
    trace.freeze()
    return trace


def _storage_options(protocol: str, timeout: Timeout, options: dict) -> dict:
    """fsspec options that give every request of ``protocol`` the timeout (the caller's own options
    win): aiohttp's ``ClientTimeout`` and the answer tracing for http(s), botocore's timeouts for s3."""
    options = dict(options)
    if protocol in ("http", "https"):
        import aiohttp

        client = dict(options.get("client_kwargs") or {})
        client.setdefault("timeout", aiohttp.ClientTimeout(total=None, sock_connect=timeout.connect,
                                                           sock_read=timeout.read))
        client.setdefault("trace_configs", [_trace_config()])
        options["client_kwargs"] = client
    elif protocol in ("s3", "s3a"):
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("connect_timeout", timeout.connect)
        config.setdefault("read_timeout", timeout.read)
        config.setdefault("retries", {"total_max_attempts": 1})  # one try a call: FsspecSource retries
        options["config_kwargs"] = config
    return options


def _one_try(fs: Any) -> Any:
    """``fs`` with its own retry loop off where it has one (s3fs: five tries of a throttled or
    timed-out call, around botocore's), so that ``retries`` counts every request: FsspecSource's
    loop is the only one. (An attribute, not an option: s3fs takes none; set again on unpickling.)"""
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    if "s3" in protocols and isinstance(getattr(fs, "retries", None), int):
        fs.retries = 1
    return fs


def _transient_types() -> tuple:
    types: list = [ConnectionError, TimeoutError]  # (a FileNotFoundError is never transient)
    if "aiohttp" in sys.modules:
        import aiohttp

        types += [aiohttp.ClientConnectionError, aiohttp.ClientPayloadError]
    if "botocore" in sys.modules:
        import botocore.exceptions

        # read timeouts and connections closed; connections refused or timed out
        types += [botocore.exceptions.HTTPClientError, botocore.exceptions.ConnectionError]
    if "fsspec" in sys.modules:
        from fsspec.exceptions import FSTimeoutError

        types.append(FSTimeoutError)
    return tuple(types)


def _transient(exc: BaseException) -> bool:
    """Whether a request that failed with ``exc`` is worth another try."""
    if "aiohttp" in sys.modules:
        import aiohttp

        if isinstance(exc, aiohttp.ClientResponseError):  # an HTTP status (or an answer that did not parse)
            return exc.status in RETRY_STATUSES
    status = _s3_status(exc)
    if status is not None:  # s3fs's OSError for an S3 error answer (SlowDown: 503)
        return status in RETRY_STATUSES
    return isinstance(exc, _transient_types())


def _s3_answer(exc: BaseException) -> dict | None:
    """The ``ResponseMetadata`` of the botocore ``ClientError`` behind ``exc`` (s3fs raises an
    ``OSError`` caused by it), or None."""
    cause = exc if hasattr(exc, "response") else exc.__cause__
    response = getattr(cause, "response", None)
    return response.get("ResponseMetadata") if isinstance(response, dict) else None


def _s3_status(exc: BaseException) -> int | None:
    meta = _s3_answer(exc)
    status = meta.get("HTTPStatusCode") if meta else None
    return status if isinstance(status, int) else None


def _wait(exc: BaseException, failures: int) -> float:
    headers = getattr(exc, "headers", None)
    if headers is None:
        meta = _s3_answer(exc)
        headers = meta.get("HTTPHeaders") if meta else None
        headers = {str(k).title(): v for k, v in headers.items()} if isinstance(headers, dict) else None
    asked = retry_after(headers.get("Retry-After")) if headers is not None else None
    return asked if asked is not None else backoff_time(failures)


def _span(offset: int, end: int | None) -> str:
    return f"bytes {offset}-{'' if end is None else end - 1}"


_CONTENT_RANGE = re.compile(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")


class FsspecSource(ByteSource):
    """A file of an fsspec filesystem ``fs`` at ``path``; ``url`` names it in messages. Every read is
    one ranged request, except reads inside the first bytes read from offset 0, which are kept.

    ``retries``: how many times a read that failed for a transient reason (a connection error, a
    timeout, a body cut short, HTTP 429/502/503/504) is tried again (:func:`backoff_time`,
    ``Retry-After``). The timeout is the filesystem's (``open_source`` sets it). What comes back is
    checked: bytes from offset 0 of an HTTP answer that ignored the range are sliced, but a wrong
    ``Content-Range``, fewer bytes than asked of an object known to be longer, more bytes than asked,
    or an HTML page is a :class:`TransportError` naming the URL and the range."""

    remote = True

    def __init__(self, fs: Any, path: str, url: str | None = None, *, retries: int = DEFAULT_RETRIES) -> None:
        self.fs = fs
        self.path = path
        self.name = url or path
        self.retries = check_retries(retries)
        self.size: int | None = None  # the object's size, once an answer said it
        self._head = b""
        self._head_complete = False  # the head is the whole file
        self._traced = _TRACE is not None and _TRACE in (getattr(fs, "client_kwargs", None) or {}).get(
            "trace_configs", ())

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        _one_try(self.fs)

    def _missing(self, exc: FileNotFoundError) -> FileNotFoundError:
        """A missing object (or bucket): a ``FileNotFoundError`` whose ``filename`` is the URL."""
        why = str(exc)
        return FileNotFoundError(errno.ENOENT, f"no such object ({why})" if why else "no such object", self.name)

    def _failed(self, exc: BaseException, what: str) -> TransportError:
        tries = f" ({self.retries + 1} tries)" if self.retries and _transient(exc) else ""
        status = _s3_status(exc)
        answered = f" (HTTP {status})" if status is not None else ""
        return TransportError(f"{self.name}: reading {what} failed{tries}{answered}: {type(exc).__name__}: {exc}",
                              self.name)

    def _cat(self, offset: int, end: int | None) -> bytes:
        failures = 0
        while True:
            answers: list[_Answer] = []
            kwargs = {"trace_request_ctx": answers} if self._traced else {}
            try:
                data = self.fs.cat_file(self.path, start=offset, end=end, **kwargs)
            except FileNotFoundError as exc:
                raise self._missing(exc) from exc
            except Exception as exc:  # noqa: BLE001 - every backend's transport errors, named once
                failures += 1
                if failures > self.retries or not _transient(exc):
                    raise self._failed(exc, _span(offset, end)) from exc
                time.sleep(_wait(exc, failures))
                continue
            return self._checked(data, offset, end, answers[-1] if answers else None)

    def _checked(self, data: Any, offset: int, end: int | None, answer: _Answer | None) -> bytes:
        """``data`` read for ``offset:end``, checked against what was asked and what the server said."""
        span = _span(offset, end)
        data = bytes(data)
        if answer is not None:
            kind = answer.content_type.split(";")[0].strip().lower()
            if kind == "text/html":
                raise TransportError(f"{self.name}: {span}: the server answered an HTML page "
                                     f"(Content-Type {answer.content_type!r}), not the object's bytes", self.name)
            if answer.status == 206:
                return self._partial(data, offset, end, answer, span)
            if answer.status == 200:  # the whole object (for a range: a server that ignored the Range header)
                if self.size is not None and len(data) != self.size:
                    raise TransportError(f"{self.name}: {span}: a whole object of {len(data)} bytes came "
                                         f"back, of an object of {self.size} bytes", self.name)
                self.size = len(data)
                return data[offset:end] if end is not None or offset else data
        elif end is not None and len(data) > end - offset:
            if len(data) < end:
                raise TransportError(f"{self.name}: {span}: {len(data)} bytes came back for "
                                     f"{end - offset}", self.name)
            data = data[offset:end]  # the whole object: a server that ignored the Range header
        if (end is not None and len(data) < end - offset and self.size is not None
                and offset + len(data) < self.size):
            raise TransportError(f"{self.name}: {span}: {len(data)} bytes came back for {end - offset}, "
                                 f"of an object of {self.size} bytes", self.name)
        return data

    def _partial(self, data: bytes, offset: int, end: int | None, answer: _Answer, span: str) -> bytes:
        m = _CONTENT_RANGE.match(answer.content_range or "")
        if m is None:
            raise TransportError(f"{self.name}: {span}: a partial answer (206) with Content-Range "
                                 f"{answer.content_range!r}", self.name)
        first, last = int(m.group(1)), int(m.group(2))
        size = None if m.group(3) == "*" else int(m.group(3))
        if size is not None:
            self.size = size
        wrong = first != offset or last < first or (end is not None and last > end - 1)
        short = end is not None and last < end - 1 and (size is None or last + 1 < size)
        unfinished = end is None and size is not None and last != size - 1
        if wrong or short or unfinished or (size is not None and last >= size):
            raise TransportError(f"{self.name}: {span} asked, the server answered Content-Range "
                                 f"{answer.content_range!r}", self.name)
        if len(data) != last - first + 1:
            raise TransportError(f"{self.name}: {span}: Content-Range {answer.content_range!r} "
                                 f"but {len(data)} bytes came back", self.name)
        return data

    def read_at(self, offset: int, n: int) -> bytes:
        head = self._head
        if offset + n <= len(head) or (self._head_complete and offset <= len(head)):
            return head[offset:offset + n]
        data = self._cat(offset, offset + n)
        if offset == 0 and len(data) > len(head):
            self._head = data
            self._head_complete = len(data) < n
        return data

    def read_ranges(self, ranges: Sequence[Range]) -> list[bytes]:
        out: list[Any] = [None] * len(ranges)
        todo = []
        for i, r in enumerate(ranges):
            if r.offset + r.length <= len(self._head):
                out[i] = self._head[r.offset:r.offset + r.length]
            else:
                todo.append(i)
        if len(todo) == 1:
            r = ranges[todo[0]]
            out[todo[0]] = self._cat(r.offset, r.offset + r.length)
            return out
        failures = 0
        while todo:
            starts = [ranges[i].offset for i in todo]
            ends = [ranges[i].offset + ranges[i].length for i in todo]
            answers: list[_Answer] = []
            kwargs = {"trace_request_ctx": answers} if self._traced else {}
            try:
                got = self.fs.cat_ranges([self.path] * len(todo), starts, ends, on_error="return", **kwargs)
            except Exception as exc:  # noqa: BLE001
                got = [exc] * len(todo)
            by_range = {a.range: a for a in answers}
            again, error = [], None
            for i, data, start, end in zip(todo, got, starts, ends):
                if isinstance(data, FileNotFoundError):
                    raise self._missing(data) from data
                if isinstance(data, BaseException):
                    if failures < self.retries and _transient(data):
                        again.append(i)
                        error = data
                        continue
                    raise self._failed(data, _span(start, end)) from data
                out[i] = self._checked(data, start, end, by_range.get(f"bytes={start}-{end - 1}"))
            todo = again
            if todo:
                failures += 1
                time.sleep(_wait(error, failures))
        return out

    def read_from(self, offset: int) -> bytes:
        if self._head_complete:
            return self._head[offset:]
        return self._cat(offset, None)

    def read_all(self) -> bytes:
        if self._head_complete:
            return self._head
        return self._cat(0, None)


def _fsspec_file(src: Any) -> bool:
    """Whether ``src`` is an fsspec file object or OpenFile (only if fsspec was imported)."""
    if "fsspec" not in sys.modules:
        return False
    import fsspec
    from fsspec.spec import AbstractBufferedFile

    return isinstance(src, (fsspec.core.OpenFile, AbstractBufferedFile))


def is_remote(src: Any) -> bool:
    """Whether ``src`` is read through fsspec: a URL with a scheme (``s3://``, ``https://``,
    ``file://``, ...), an fsspec file, or a source of them opened already (``open_source(url,
    timeout=..., retries=...)``). Plain paths (and ``os.PathLike``) are local files."""
    if type(src) is str:
        return "://" in src
    if isinstance(src, ByteSource):
        return src.remote
    return _fsspec_file(src)


def open_source(src: Any, *, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                retries: int = DEFAULT_RETRIES, **storage_options: Any) -> ByteSource:
    """The :class:`ByteSource` of ``src``: a URL, an fsspec file, or a local path.

    For a URL, ``timeout`` (seconds, or a ``(connect, read)`` pair) bounds every request of http(s)
    (aiohttp's ``ClientTimeout``) and s3 (botocore's timeouts) filesystems, and ``retries`` bounds
    the tries of each read (:class:`FsspecSource`); ``storage_options`` go to fsspec as they are.
    An fsspec file keeps its filesystem's own timeouts."""
    timeout = check_timeout(timeout)
    retries = check_retries(retries)
    if isinstance(src, ByteSource):
        return src
    if type(src) is str and "://" in src:
        fsspec = require_fsspec()
        try:
            protocol = fsspec.core.split_protocol(src)[0] or "file"
            options = _storage_options(protocol, timeout, storage_options)
            fs, path = fsspec.core.url_to_fs(src, **options)
            _one_try(fs)
        except (ValueError, ImportError) as exc:
            raise DicomError(f"{src}: no fsspec filesystem for this URL ({exc})") from exc
        return FsspecSource(fs, path, src, retries=retries)
    if _fsspec_file(src):
        url = src.fs.unstrip_protocol(src.path) if hasattr(src.fs, "unstrip_protocol") else src.path
        return FsspecSource(src.fs, src.path, url, retries=retries)
    if isinstance(src, (str, os.PathLike)):
        return FileSource(os.fspath(src))
    raise TypeError(f"not a path, URL or fsspec file: {type(src).__name__}")


def check_storage_options(storage_options: Any) -> dict:
    """A reader's ``storage_options`` as a dict (``{}`` for None); its ``timeout`` and ``retries``
    are checked here, before any request (the rest are fsspec's, checked by the filesystem)."""
    if storage_options is None:
        return {}
    if not isinstance(storage_options, Mapping):
        raise TypeError(f"storage_options must be a dict, not {type(storage_options).__name__}")
    options = dict(storage_options)
    if "timeout" in options:
        check_timeout(options["timeout"])
    if "retries" in options:
        check_retries(options["retries"])
    return options


def source_of(src: Any, storage_options: Any) -> Any:
    """What a reader reads for ``src`` given its ``storage_options``: ``src`` itself when there are
    none, a URL opened with them (:func:`open_source`: ``timeout`` and ``retries`` are ours, the
    other keys go to fsspec). Options given with anything but a URL are a ``ValueError``: a local
    path, an fsspec file or an opened source have their settings already."""
    options = check_storage_options(storage_options)
    if not options:
        return src
    if type(src) is str and "://" in src:
        return open_source(src, **options)
    raise ValueError(f"storage_options apply to URLs, not to {type(src).__name__} {src!r}")


def list_files(url: str, *, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
               retries: int = DEFAULT_RETRIES, **storage_options: Any) -> list[str]:
    """The files under a URL, sorted, as URLs (one listing: ``fs.find``); the URL itself when it is
    a file. ``timeout``, ``retries`` and ``storage_options`` as :func:`open_source`'s."""
    fsspec = require_fsspec()
    timeout = check_timeout(timeout)
    retries = check_retries(retries)
    failures = 0
    while True:
        try:
            protocol = fsspec.core.split_protocol(url)[0] or "file"
            fs, path = fsspec.core.url_to_fs(url, **_storage_options(protocol, timeout, storage_options))
            _one_try(fs)
            if not fs.isdir(path):
                return [url]
            found = fs.find(path)
            break
        except FileNotFoundError:
            return [url]
        except Exception as exc:  # noqa: BLE001
            failures += 1
            if failures > retries or not _transient(exc):
                raise TransportError(f"{url}: listing failed: {type(exc).__name__}: {exc}", url) from exc
            time.sleep(_wait(exc, failures))
    return sorted(fs.unstrip_protocol(p) for p in found)
