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
"""
from __future__ import annotations

import os
import sys
from typing import Any, NamedTuple, Sequence

from .errors import DicomError, TransportError

__all__ = ["ByteSource", "FileSource", "FsspecSource", "Range", "open_source", "is_remote", "coalesce",
           "require_fsspec", "list_files"]


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


class FsspecSource(ByteSource):
    """A file of an fsspec filesystem ``fs`` at ``path``; ``url`` names it in messages. Every read is
    one ranged request, except reads inside the first bytes read from offset 0, which are kept."""

    remote = True

    def __init__(self, fs: Any, path: str, url: str | None = None) -> None:
        self.fs = fs
        self.path = path
        self.name = url or path
        self._head = b""
        self._head_complete = False  # the head is the whole file

    def _cat(self, offset: int, end: int | None) -> bytes:
        try:
            data = self.fs.cat_file(self.path, start=offset, end=end)
        except FileNotFoundError:
            raise
        except Exception as exc:  # noqa: BLE001 - every backend's transport errors, named once
            raise TransportError(f"{self.name}: reading bytes {offset}-{'' if end is None else end - 1} "
                                 f"failed: {type(exc).__name__}: {exc}", self.name) from exc
        return self._checked(data, offset, end)

    def _checked(self, data: Any, offset: int, end: int | None) -> bytes:
        if isinstance(data, BaseException):
            if isinstance(data, FileNotFoundError):
                raise data
            raise TransportError(f"{self.name}: a ranged read failed: {type(data).__name__}: {data}",
                                 self.name) from data
        data = bytes(data)
        if end is not None and len(data) > end - offset:
            # a server that ignored the Range header sent the whole object (an HTTP 200)
            data = data[offset:end]
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
        elif todo:
            starts = [ranges[i].offset for i in todo]
            ends = [ranges[i].offset + ranges[i].length for i in todo]
            try:
                got = self.fs.cat_ranges([self.path] * len(todo), starts, ends, on_error="return")
            except Exception as exc:  # noqa: BLE001
                raise TransportError(f"{self.name}: ranged reads failed: {type(exc).__name__}: {exc}",
                                     self.name) from exc
            for i, data, start, end in zip(todo, got, starts, ends):
                out[i] = self._checked(data, start, end)
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
    ``file://``, ...) or an fsspec file. Plain paths (and ``os.PathLike``) are local files."""
    if type(src) is str:
        return "://" in src
    return _fsspec_file(src)


def open_source(src: Any, **storage_options: Any) -> ByteSource:
    """The :class:`ByteSource` of ``src``: a URL, an fsspec file, or a local path."""
    if isinstance(src, ByteSource):
        return src
    if type(src) is str and "://" in src:
        fsspec = require_fsspec()
        try:
            fs, path = fsspec.core.url_to_fs(src, **storage_options)
        except (ValueError, ImportError) as exc:
            raise DicomError(f"{src}: no fsspec filesystem for this URL ({exc})") from exc
        return FsspecSource(fs, path, src)
    if _fsspec_file(src):
        url = src.fs.unstrip_protocol(src.path) if hasattr(src.fs, "unstrip_protocol") else src.path
        return FsspecSource(src.fs, src.path, url)
    if isinstance(src, (str, os.PathLike)):
        return FileSource(os.fspath(src))
    raise TypeError(f"not a path, URL or fsspec file: {type(src).__name__}")


def list_files(url: str) -> list[str]:
    """The files under a URL, sorted, as URLs (one listing: ``fs.find``); the URL itself when it is
    a file."""
    fsspec = require_fsspec()
    try:
        fs, path = fsspec.core.url_to_fs(url)
        if not fs.isdir(path):
            return [url]
        found = fs.find(path)
    except FileNotFoundError:
        return [url]
    except Exception as exc:  # noqa: BLE001
        raise TransportError(f"{url}: listing failed: {type(exc).__name__}: {exc}", url) from exc
    return sorted(fs.unstrip_protocol(p) for p in found)
