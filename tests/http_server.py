"""A real threaded HTTP server on 127.0.0.1 for tests, with scriptable misbehaviour per path.

    def test_x(http_server):
        url = http_server.serve("decp.json", shared_file("decp_real/....json"))
        http_server.behave("decp.json", failures=[500])          # one 500, then the file
        ...
        assert http_server.hit_count("decp.json") == 2

Files are served with ETag (sha256 of the content) and Last-Modified (the file's mtime); a request
whose If-None-Match or If-Modified-Since matches gets 304. Behaviours, each optional:
- ``failures``: statuses answered (with a small body) before the file is served, one per request;
- ``delay``: seconds to wait before answering (longer than the client's timeout = a timeout);
- ``truncate_at``: announce the full Content-Length, send only this many bytes, then close;
- ``html_page``: answer 200 with an HTML error page instead of the file;
- ``retry_after``: Retry-After header sent with the failures;
- ``conditional``: False to ignore If-None-Match / If-Modified-Since (always 200);
- ``redirect_to``: answer 302 to this path (as data.gouv.fr's stable /r/<id> resource links do).
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import pytest

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Maintenance en cours</title></head>"
    b"<body><h1>Le service est momentan\xc3\xa9ment indisponible</h1></body></html>\n"
)


@dataclass
class Behaviour:
    failures: list[int] = field(default_factory=list)
    delay: float = 0.0
    truncate_at: int | None = None
    html_page: bool = False
    retry_after: str | None = None
    conditional: bool = True
    redirect_to: str | None = None


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    status: int | None = None  # None until answered; -1 if the client went away first


class TestHTTPServer:
    """Serves the files of ``root`` (``serve`` adds some) on 127.0.0.1, on a free port."""

    __test__ = False  # not a test class for pytest

    def __init__(self, root: Path):
        self.root = root
        self.behaviours: dict[str, Behaviour] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def serve(self, path: str, file: Path | bytes) -> str:
        """Put a copy of ``file`` (or these bytes) at ``path``; returns its URL."""
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(file, bytes):
            target.write_bytes(file)
        else:
            shutil.copyfile(file, target)
        return self.url(path)

    def behave(self, path: str, **behaviour) -> None:
        self.behaviours[path.lstrip("/")] = Behaviour(**behaviour)

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path == path.lstrip("/")]

    def hit_count(self, path: str) -> int:
        return len(self.hits_for(path))

    def _record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)


def _handler_for(server: TestHTTPServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].lstrip("/")
            hit = Hit(path, dict(self.headers))
            server._record(hit)  # on arrival: a test counts requests even while they are delayed
            try:
                hit.status = self._answer(path, server.behaviours.get(path, Behaviour()))
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): fine
                hit.status = -1

        def _answer(self, path: str, behaviour: Behaviour) -> int:
            if behaviour.delay:
                time.sleep(behaviour.delay)
            if behaviour.failures:
                return self._fail(behaviour.failures.pop(0), behaviour.retry_after)
            if behaviour.redirect_to:
                return self._send(302, b"", {"Location": server.url(behaviour.redirect_to)})
            if behaviour.html_page:
                return self._send(
                    200, HTML_ERROR_PAGE, {"Content-Type": "text/html; charset=utf-8"}
                )
            file = server.root / path
            if not path or not file.is_file():
                return self._send(404, b"not found\n", {"Content-Type": "text/plain"})
            return self._send_file(file, behaviour)

        def _send_file(self, file: Path, behaviour: Behaviour) -> int:
            body = file.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            modified = int(file.stat().st_mtime)
            validators = {"ETag": etag, "Last-Modified": formatdate(modified, usegmt=True)}
            if behaviour.conditional and self._not_modified(etag, modified):
                return self._send(304, b"", validators)
            headers = {"Content-Type": "application/octet-stream", **validators}
            if behaviour.truncate_at is not None:
                return self._send_truncated(body, behaviour.truncate_at, headers)
            return self._send(200, body, headers)

        def _not_modified(self, etag: str, modified: int) -> bool:
            if "If-None-Match" in self.headers:
                return etag in [tag.strip() for tag in self.headers["If-None-Match"].split(",")]
            since = self.headers.get("If-Modified-Since")
            if since:
                try:
                    return modified <= parsedate_to_datetime(since).timestamp()
                except (TypeError, ValueError):
                    return False
            return False

        def _fail(self, status: int, retry_after: str | None) -> int:
            headers = {"Content-Type": "text/plain"}
            if retry_after:
                headers["Retry-After"] = retry_after
            return self._send(status, f"error {status}\n".encode(), headers)

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> int:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return status

        def _send_truncated(self, body: bytes, keep: int, headers: dict[str, str]) -> int:
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[:keep])
            self.wfile.flush()
            self.close_connection = True
            return 200

    return Handler


@pytest.fixture
def http_server(tmp_path_factory) -> TestHTTPServer:
    """A running TestHTTPServer serving an empty temporary folder (add files with ``serve``)."""
    with TestHTTPServer(tmp_path_factory.mktemp("http_root")) as server:
        yield server
