"""Servers for the remote-data tests, on localhost, on free ports, started and stopped by fixtures.

* :class:`RangeServer`: a static HTTP server for a directory that answers ``Range`` requests (one
  range, ``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) and ``HEAD``, and counts what it was asked:
  ``requests`` (method, path, range) and ``bytes_sent``. Written on the standard library's
  ``http.server`` (which ignores ``Range``), as a test double, not as a product.
* :func:`moto_server`: moto's S3-compatible server (``moto.server.ThreadedMotoServer``), whose
  requests are counted by a WSGI wrapper around its app.
* Orthanc (``orthanc_server`` in test_dicomweb.py's fixtures), with its DICOMweb plugin.
"""
from __future__ import annotations

import http.server
import os
import re
import socket
import threading
from pathlib import Path
from typing import Any, NamedTuple


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Request(NamedTuple):
    method: str
    path: str
    range: str | None
    sent: int


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Request] = []

    def add(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()

    @property
    def bytes_sent(self) -> int:
        return sum(r.sent for r in self.requests)

    def gets(self, path_part: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == "GET" and path_part in r.path]


_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeServer:
    """``with RangeServer(root) as server: server.url("a.dcm")``; ``server.counter`` counts."""

    def __init__(self, root: str | os.PathLike, ignore_ranges: bool = False) -> None:
        self.root = Path(root)
        self.counter = _Counter()
        self.ignore_ranges = ignore_ranges
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _file(self) -> Path | None:
                path = (server.root / self.path.split("?")[0].lstrip("/")).resolve()
                if server.root.resolve() not in path.parents or not path.is_file():
                    return None
                return path

            def _answer(self, body: bool) -> None:
                path = self._file()
                rng = self.headers.get("Range")
                if path is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    server.counter.add(Request(self.command, self.path, rng, 0))
                    return
                size = path.stat().st_size
                start, end, status = 0, size, 200
                m = _RANGE.match(rng or "") if not server.ignore_ranges else None
                if m is not None:
                    a, b = m.groups()
                    if a == "":
                        start, end = max(size - int(b), 0), size
                    else:
                        start = int(a)
                        end = min(int(b) + 1, size) if b else size
                    if start >= size:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        server.counter.add(Request(self.command, self.path, rng, 0))
                        return
                    status = 206
                self.send_response(status)
                self.send_header("Content-Type", "application/dicom")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(end - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
                # counted before the answer is sent: the client may go on as soon as it has it
                server.counter.add(Request(self.command, self.path, rng, end - start if body else 0))
                self.end_headers()
                if body:
                    with open(path, "rb") as f:
                        f.seek(start)
                        self.wfile.write(f.read(end - start))

            def do_GET(self) -> None:
                self._answer(True)

            def do_HEAD(self) -> None:
                self._answer(False)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> "RangeServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class CountingWSGI:
    """A WSGI app that counts the requests (method, path, Range) and body bytes of another."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counter = _Counter()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        method, path, rng = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), environ.get("HTTP_RANGE")
        body = b"".join(self.app(environ, start_response))
        self.counter.add(Request(method, path, rng, len(body)))
        return [body]
