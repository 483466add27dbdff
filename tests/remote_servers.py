"""Servers for the remote-data tests, on localhost, on free ports, started and stopped by fixtures.

* :class:`RangeServer`: a static HTTP server for a directory that answers ``Range`` requests (one
  range, ``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) and ``HEAD``, and counts what it was asked:
  ``requests`` (method, path, range) and ``bytes_sent``. Written on the standard library's
  ``http.server`` (which ignores ``Range``), as a test double, not as a product.
* :class:`MotoS3Server`: moto's S3-compatible server, whose requests are counted by a WSGI wrapper
  around its app (:class:`CountingWSGI`), with fsspec's ``s3://`` pointed at it; a second wrapper
  (:class:`FaultWSGI`, ``faults``) makes its object reads fail, stall or throttle on request.
* :class:`FaultServer`: a server that misbehaves on purpose, one ``mode`` at a time (closes early,
  lies about lengths, answers the wrong range or content type, breaks its multipart bodies, fails
  then succeeds, stalls), for the fault tests (tests/test_remote_faults.py).
* :class:`OrthancServer`: Orthanc with its DICOMweb plugin, on free ports, with its own
  configuration and storage in a directory; :class:`CountingProxy` in front of it (or of any HTTP
  server) counts the requests and the bytes of the answers.

The counters also record how many requests were in progress at once (``max_in_flight``), so a test
can tell concurrent requests from sequential ones; ``RangeServer(delay=s)`` holds each answer ``s``
seconds to make the overlap visible.
"""
from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up early is no error
            super().handle_error(request, client_address)


class Request(NamedTuple):
    method: str
    path: str
    range: str | None
    sent: int


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def add(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)

    def start(self) -> None:
        """A request begins (``stop`` when its answer is sent)."""
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def stop(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.max_in_flight = self.in_flight

    @property
    def bytes_sent(self) -> int:
        return sum(r.sent for r in self.requests)

    def gets(self, path_part: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == "GET" and path_part in r.path]


_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeServer:
    """``with RangeServer(root) as server: server.url("a.dcm")``; ``server.counter`` counts."""

    def __init__(self, root: str | os.PathLike, ignore_ranges: bool = False, delay: float = 0.0) -> None:
        self.root = Path(root)
        self.counter = _Counter()
        self.ignore_ranges = ignore_ranges
        self.delay = delay
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls

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
                self._timed(True)

            def do_HEAD(self) -> None:
                self._timed(False)

            def _timed(self, body: bool) -> None:
                server.counter.start()
                try:
                    if server.delay:
                        time.sleep(server.delay)
                    self._answer(body)
                finally:
                    server.counter.stop()

        self.httpd = _Server(("127.0.0.1", free_port()), Handler)
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


_SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
              b"<Message>Please reduce your request rate.</Message></Error>")


class FaultWSGI:
    """A WSGI app in front of another (moto's) whose GETs under ``prefix`` (object reads) misbehave,
    one ``mode`` at a time (``reset``): ``"ok"``; ``"status"``: the first ``fail_first`` GETs (all,
    with -1) answer ``fail_status`` with S3's SlowDown error document; ``"stall"``: no answer until
    ``release()`` (or ``stall_seconds``); ``"stall_body"``: the headers and the first 100 bytes,
    then a stall; ``"close_early"``: the headers and the first 100 bytes, then the connection
    closes (a body cut short)."""

    def __init__(self, app: Any, prefix: str = "/", counter: Any = None) -> None:
        self.app = app
        self.prefix = prefix
        self.counter = counter  # counts the answers made here (the others are the app's)
        self.stall_seconds = 10.0
        self._release = threading.Event()
        self._lock = threading.Lock()
        self.reset()

    def reset(self, mode: str = "ok", fail_first: int = 0, fail_status: int = 503) -> None:
        self.mode, self.fail_first, self.fail_status = mode, fail_first, fail_status
        self._failed = 0

    def release(self) -> None:
        self._release.set()
        self._release = threading.Event()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        mode = self.mode
        if mode == "ok" or environ.get("REQUEST_METHOD") != "GET" or not environ.get("PATH_INFO", "").startswith(
                self.prefix):
            return self.app(environ, start_response)
        if mode == "status":
            with self._lock:
                fail = self.fail_first < 0 or self._failed < self.fail_first
                self._failed += fail
            if not fail:
                return self.app(environ, start_response)
            if self.counter is not None:
                self.counter.add(Request("GET", environ.get("PATH_INFO"), environ.get("HTTP_RANGE"), len(_SLOW_DOWN)))
            start_response(f"{self.fail_status} Slow Down", [("Content-Type", "application/xml"),
                                                              ("Content-Length", str(len(_SLOW_DOWN)))])
            return [_SLOW_DOWN]
        release = self._release
        if mode == "stall":
            release.wait(self.stall_seconds)
            return self.app(environ, start_response)
        body = b"".join(self.app(environ, start_response))  # (status and headers as moto's)

        def cut() -> Any:
            yield body[:100]
            if mode == "stall_body":
                release.wait(self.stall_seconds)
                yield body[100:]
            else:
                raise ConnectionAbortedError("the fault layer closes the connection mid-body")

        return cut()


class MotoS3Server:
    """moto's S3 server on a free port, its WSGI app wrapped in :class:`CountingWSGI` (``counter``)
    and, outside it, :class:`FaultWSGI` (``faults``: ``faults.reset(mode, ...)``), with fsspec's ``s3`` configuration and the AWS environment pointed at it while it runs (both
    restored on exit). ``fs`` is an ``s3fs.S3FileSystem`` on it; ``endpoint`` its URL."""

    def __enter__(self) -> "MotoS3Server":
        import fsspec
        import s3fs
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        class Quiet(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:  # no line on stderr per request
                pass

        counting = CountingWSGI(DomainDispatcherApplication(create_backend_app))
        self.counter = counting.counter
        self.app = self.faults = FaultWSGI(counting, counter=self.counter)
        self.server = make_server("127.0.0.1", free_port(), self.app, threaded=True, request_handler=Quiet)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
        self._saved_env = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        self._saved_conf = fsspec.config.conf.get("s3")
        fsspec.config.conf["s3"] = {"client_kwargs": {"endpoint_url": self.endpoint}, "anon": False}
        s3fs.S3FileSystem.clear_instance_cache()
        self.fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": self.endpoint})
        return self

    def __exit__(self, *exc: Any) -> None:
        import fsspec

        if self._saved_conf is None:
            fsspec.config.conf.pop("s3", None)
        else:
            fsspec.config.conf["s3"] = self._saved_conf
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self.faults.release()
        self.server.shutdown()
        self.server.server_close()


class CountingProxy:
    """An HTTP proxy on a free port in front of ``upstream`` (``http://host:port``) that counts
    what passes: each request (method, path, Range) with the bytes of its answer's body, and the
    requests in progress at once. ``with CountingProxy(url) as proxy: proxy.url``; ``proxy.delay``
    holds each request that many seconds."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.split("://", 1)[1].rstrip("/").partition(":")
        self.counter = _Counter()
        self.delay = 0.0  # seconds each answer is held (to make concurrent requests overlap)
        counter = self.counter
        local = threading.local()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                counter.start()
                try:
                    if proxy.delay:
                        time.sleep(proxy.delay)
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length) if length else None
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in ("host", "connection", "keep-alive", "proxy-connection")}
                    for attempt in (0, 1):  # once more on a fresh connection if the kept one was closed
                        conn = getattr(local, "conn", None)
                        if conn is None:
                            conn = local.conn = http.client.HTTPConnection(host, int(port), timeout=120)
                        try:
                            conn.request(self.command, self.path, body=body, headers=headers)
                            answer = conn.getresponse()
                            data = answer.read()
                            break
                        except (http.client.HTTPException, OSError):
                            conn.close()
                            local.conn = None
                            if attempt:
                                raise
                    counter.add(Request(self.command, self.path, self.headers.get("Range"), len(data)))
                    self.send_response(answer.status, answer.reason)
                    for k, v in answer.getheaders():
                        if k.lower() not in ("content-length", "transfer-encoding", "connection", "keep-alive"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    counter.stop()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.httpd = _Server(("127.0.0.1", free_port()), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "CountingProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


ORTHANC = shutil.which("Orthanc")
ORTHANC_DICOMWEB = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


def orthanc_missing() -> str | None:
    """Why Orthanc cannot be started here (None when it can)."""
    if ORTHANC is None:
        return "no Orthanc binary (apt-get install orthanc orthanc-dicomweb; ci/setup.sh does)"
    if not os.path.exists(ORTHANC_DICOMWEB):
        return f"no Orthanc DICOMweb plugin at {ORTHANC_DICOMWEB} (apt-get install orthanc-dicomweb)"
    return None


class OrthancServer:
    """Orthanc with its DICOMweb plugin, started in ``root`` (configuration, storage, ``orthanc.log``)
    on free ports, and terminated on exit. ``url`` is its HTTP root, ``dicomweb`` its DICOMweb base."""

    def __init__(self, root: str | os.PathLike, timeout: float = 30.0) -> None:
        why = orthanc_missing()
        if why:
            raise RuntimeError(why)
        self.root = Path(root)
        self.timeout = timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dicomweb = f"{self.url}/dicom-web"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "OrthancServer":
        config = {
            "Name": "dicomfast-tests", "HttpPort": self.port, "DicomPort": free_port(),
            "StorageDirectory": str(self.root / "db"), "IndexDirectory": str(self.root / "db"),
            "RemoteAccessAllowed": False, "AuthenticationEnabled": False, "HttpServerEnabled": True,
            "Plugins": [ORTHANC_DICOMWEB], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
            "HttpCompressionEnabled": False,  # the bytes counted are the DICOM data, not gzip's
        }
        (self.root / "orthanc.json").write_text(json.dumps(config))
        self._log = open(self.root / "orthanc.log", "wb")
        self.proc = subprocess.Popen([ORTHANC, str(self.root / "orthanc.json")], stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"Orthanc exited: {self.log()[-2000:]}")
                try:
                    with urllib.request.urlopen(f"{self.dicomweb}/studies", timeout=1) as answer:
                        if answer.status in (200, 204):
                            return self
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Orthanc did not answer in {self.timeout:g} s: {self.log()[-2000:]}")
                time.sleep(0.1)
        except BaseException:
            self.__exit__()
            raise

    def log(self) -> str:
        return (self.root / "orthanc.log").read_text(errors="replace")

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        self._log.close()


class Resource(NamedTuple):
    """What a :class:`FaultServer` answers for a path: ``body`` of ``content_type``; a multipart
    body's boundary in ``boundary`` (so the server can break it)."""

    body: bytes
    content_type: str
    boundary: str | None = None


def multipart(parts: list[tuple[str, bytes]], boundary: str = "fault-boundary") -> Resource:
    """A multipart/related resource of ``(content type, content)`` parts."""
    body = b"".join(f"--{boundary}\r\nContent-Type: {kind}\r\n\r\n".encode() + content + b"\r\n"
                    for kind, content in parts) + f"--{boundary}--\r\n".encode()
    kind = parts[0][0] if parts else "application/dicom"
    return Resource(body, f'multipart/related; type="{kind}"; boundary={boundary}', boundary)


FAULT_MODES = (
    "ok",                  # answers as it should (Range requests too)
    "close_early",         # sends the headers and half the body, then closes the connection
    "length_long",         # Content-Length larger than the body it sends, then closes
    "length_short",        # Content-Length smaller than the body (the rest is dropped), then closes
    "range_wrong",         # 206 with a Content-Range that starts elsewhere than asked
    "range_short",         # 206 with fewer bytes than asked (Content-Range and Content-Length say so)
    "range_long",          # 206 with more bytes than asked (Content-Range says what was asked)
    "body_short",          # half the bytes (Content-Length says so), though Content-Range says all asked
    "html",                # 200 text/html: a login or error page in place of what was asked
    "multipart_truncated", # a multipart body cut inside its last part (an honest Content-Length)
    "multipart_no_close",  # a multipart body without its close delimiter
    "multipart_bad_boundary",  # the Content-Type's boundary is not the one in the body
    "stall",               # reads the request and never answers
    "stall_body",          # sends the headers, then never the body
)


class FaultServer:
    """A misbehaving HTTP server for ``resources`` (path -> :class:`Resource`), on ``http.server``.

    ``mode`` (one of :data:`FAULT_MODES`) says how each answer goes wrong; before that, the first
    ``fail_first`` requests are answered ``fail_status`` (with ``Retry-After: retry_after`` when it is
    set), so that retries can be counted. POST answers ``post_answer`` (JSON) under the same faults.
    ``ignore_range`` answers 200 with the whole body. ``counter`` counts every request, fault or not.
    ``release()`` (and leaving the ``with``) lets stalled handlers go."""

    def __init__(self, resources: dict[str, Resource]) -> None:
        self.resources = dict(resources)
        self.counter = _Counter()
        self.mode = "ok"
        self.fail_first = 0
        self.fail_status = 503
        self.retry_after: str | None = None
        self.ignore_range = False  # answer 200 with the whole body, whatever the Range
        self.post_answer = Resource(b"{}", "application/dicom+json")
        self.stall_seconds = 10.0
        self._release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, headers: dict, body: bytes, length: int | None = None,
                      close: bool = False, announce: bool = True) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                if close:
                    if announce:
                        self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                if close:
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

            def _answer(self, head_only: bool = False) -> None:
                rng = self.headers.get("Range")
                if self.command == "POST":
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.counter.add(Request(self.command, self.path, rng, 0))
                with server.counter.lock:
                    number = len(server.counter.requests)
                if number <= server.fail_first:
                    headers = {"Content-Type": "text/plain"}
                    if server.retry_after is not None:
                        headers["Retry-After"] = server.retry_after
                    self._send(server.fail_status, headers, b"try again later")
                    return
                mode = server.mode
                if mode == "stall":
                    server._release.wait(server.stall_seconds)
                    self.close_connection = True
                    return
                if self.command == "POST":
                    found = server.post_answer
                else:
                    found = server.resources.get(self.path.split("?")[0])
                if found is None:
                    self._send(404, {"Content-Type": "text/plain"}, b"not found")
                    return
                body, kind = found.body, found.content_type
                headers = {"Content-Type": kind, "Accept-Ranges": "bytes"}
                status = 200
                m = None if server.ignore_range else _RANGE.match(rng or "")
                if m is not None and m.group(1):
                    size = len(body)
                    start = int(m.group(1))
                    end = min(int(m.group(2)) + 1, size) if m.group(2) else size
                    if start >= size:
                        self._send(416, {"Content-Range": f"bytes */{size}"}, b"")
                        return
                    status, part = 206, body[start:end]
                    if mode == "range_wrong":
                        start, end = start + 16, min(end + 16, size)
                        part = body[start:end]
                    elif mode == "range_short":
                        end = start + max((end - start) // 2, 1)
                        part = body[start:end]
                    elif mode == "range_long":
                        part = body[start:end + 100]
                    headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
                    body = part
                if mode == "body_short":
                    body = body[:len(body) // 2]
                if mode == "html":
                    self._send(200, {"Content-Type": "text/html; charset=utf-8"},
                               b"<html><body>Please sign in</body></html>")
                elif mode == "close_early":
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif mode == "length_long":
                    self._send(status, headers, body, length=len(body) + 1000, close=True)
                elif mode == "length_short":
                    # no "Connection: close", or aiohttp's parser would see the bytes after the body
                    self._send(status, headers, body, length=len(body) // 2, close=True, announce=False)
                elif mode == "stall_body":
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.flush()
                    server._release.wait(server.stall_seconds)
                    self.close_connection = True
                elif mode.startswith("multipart_") and found.boundary is not None:
                    if mode == "multipart_truncated":
                        body = body[:len(body) - 200]
                    elif mode == "multipart_no_close":
                        body = body[:body.rindex(f"--{found.boundary}--".encode())]
                    else:
                        headers["Content-Type"] = kind.replace(found.boundary, "another-boundary")
                    self._send(status, headers, body)
                else:
                    self._send(status, headers, b"" if head_only else body,
                               length=len(body) if head_only else None)

            def do_GET(self) -> None:
                self._answer()

            def do_HEAD(self) -> None:
                self._answer(head_only=True)

            def do_POST(self) -> None:
                self._answer()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def reset(self, mode: str = "ok", fail_first: int = 0, fail_status: int = 503,
              retry_after: str | None = None) -> None:
        """A new fault (counts cleared)."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}")
        self.counter.reset()
        self.ignore_range = False
        self.mode, self.fail_first, self.fail_status, self.retry_after = mode, fail_first, fail_status, retry_after

    def release(self) -> None:
        self._release.set()
        time.sleep(0)
        self._release = threading.Event()

    def __enter__(self) -> "FaultServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
