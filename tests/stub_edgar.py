"""A small SEC EDGAR of ours on 127.0.0.1, for tests and for recording the AAPL fixture.

It serves EDGAR's URL paths (``/files/company_tickers.json``, ``/submissions/CIK##########.json``,
``/api/xbrl/companyfacts/...``, ``/Archives/edgar/data/...``) from a table of files, gzipped when
the client accepts it (as EDGAR does), and can be told to fail: 429 with Retry-After, 403 with the
SEC's rate-limit page or a plain 403, 404, 500, for a path or for every path's first requests.
:meth:`Running.transport` sends the client's ``https://www.sec.gov`` and ``https://data.sec.gov``
requests here, under the recording transport, so recordings keep the real URLs.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2

# The page the SEC serves (HTTP 403) to a client over its rate or without a User-Agent; the
# two phrases are what EDGAR's page says, the rest is trimmed.
RATE_LIMIT_PAGE = (
    b"<html><head><title>SEC.gov | Request Rate Threshold Exceeded</title></head><body>"
    b"<h1>Your Request Originates from an Undeclared Automated Tool</h1>"
    b"<p>To allow for equitable access to all users, SEC reserves the right to limit requests "
    b"originating from undeclared automated tools.</p></body></html>"
)
FORBIDDEN_PAGE = b"<html><body><h1>Access Denied</h1></body></html>"


@dataclass
class Fault:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def too_many(retry_after: str = "3") -> Fault:
    return Fault(429, b"Too Many Requests", {"Retry-After": retry_after})


def rate_limit_page() -> Fault:
    return Fault(403, RATE_LIMIT_PAGE, {"content-type": "text/html"})


def forbidden() -> Fault:
    return Fault(403, FORBIDDEN_PAGE, {"content-type": "text/html"})


def server_error() -> Fault:
    return Fault(500, b"Internal Server Error")


def not_found() -> Fault:
    return Fault(404, b"<html><body>Not Found</body></html>", {"content-type": "text/html"})


def _content_type(path: str) -> str:
    return "application/json" if path.endswith(".json") else "text/html"


class _Handler(BaseHTTPRequestHandler):
    server: _StubServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.requests.append({"path": path, "headers": dict(self.headers)})
            count = self.server.seen.get(path, 0)
            self.server.seen[path] = count + 1
            plan = self.server.faults.get(path, self.server.faults.get("*", []))
        if count < len(plan):
            fault = plan[count]
            self._send(fault.status, fault.body, fault.headers)
            return
        source = self.server.routes.get(path)
        if source is None:
            fault = not_found()
            self._send(fault.status, fault.body, fault.headers)
            return
        body = source if isinstance(source, bytes) else source.read_bytes()
        self._send(200, body, {"content-type": _content_type(path)})

    def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        if "gzip" in self.headers.get("accept-encoding", ""):
            body = gzip.compress(body, mtime=0)
            headers = {**headers, "content-encoding": "gzip"}
        try:
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, routes: Mapping[str, Path | bytes], faults: Mapping[str, list[Fault]]
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = dict(routes)
        self.faults = dict(faults)
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.seen: dict[str, int] = {}


class _ToStub(httpx2.BaseTransport):
    """EDGAR's hosts rewritten to the stub's address; anything else is refused (no network)."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._inner = httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.host not in ("www.sec.gov", "data.sec.gov", "127.0.0.1"):
            raise AssertionError(f"a request outside EDGAR: {request.url}")
        # A new request: the caller's keeps its EDGAR URL (the recording stores that one).
        url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        forwarded = httpx2.Request(
            request.method, url, headers=request.headers, stream=request.stream
        )
        return self._inner.handle_request(forwarded)

    def close(self) -> None:
        self._inner.close()


@dataclass
class Running:
    port: int
    requests: list[dict[str, Any]]

    def transport(self) -> httpx2.BaseTransport:
        return _ToStub(self.port)

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]


@contextmanager
def serve(
    routes: Mapping[str, Path | bytes], faults: Mapping[str, list[Fault]] | None = None
) -> Iterator[Running]:
    """Serve ``routes`` (URL path -> file or bytes); ``faults[path]`` (or ``faults["*"]``, for
    every path) are the answers to that path's first requests, in turn."""
    server = _StubServer(routes, faults or {})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Running(int(server.server_address[1]), server.requests)
    finally:
        server.shutdown()
        server.server_close()
