"""Download a remote file into the landing directory, once, completely, or not at all.

- retries with exponential backoff on timeouts, connection errors, 429 and 5xx (``Retry-After``
  honoured);
- streamed to ``<landing>/<source>/<YYYY-MM-DD>/.<name>.<random>.part`` and renamed when
  complete, so a file under its final name is always whole; sha256 computed while streaming;
- conditional GET (``If-None-Match`` / ``If-Modified-Since``) with the validators of the last
  download of the same URL whose content reached raw: a 304 downloads nothing;
- a body shorter than its ``Content-Length`` or an HTML page instead of data is a failure, never
  a file;
- every attempt is a row of ``meta.downloads``.

Retries are a loop of our own rather than urllib3's ``Retry``: that one only covers the request
and its headers, while a connection that breaks or stalls in the middle of a 1 GB body must be
retried too.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import requests
import urllib3

from ingest.loader import sha256_of
from orcp import db
from orcp.settings import get_settings

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}
USER_AGENT = "orcp-warehouse (Observatoire regional de la commande publique Hauts-de-France)"
EXTENSIONS = {"json": ".json", "xml": ".xml", "csv": ".csv", "parquet": ".parquet", "zip": ".zip"}

BytesCallback = Callable[[int, "int | None"], None]  # (bytes received, bytes announced or None)


@dataclass(frozen=True)
class DownloadPolicy:
    retries: int = 4  # further attempts after the first one
    backoff_factor: float = 1.0  # wait backoff_factor * 2**(n-1) seconds before attempt n+1
    max_wait: float = 120.0  # cap of one wait, Retry-After included
    connect_timeout: float = 15.0
    read_timeout: float = 120.0  # longest silence accepted between two reads
    chunk_size: int = 1 << 20

    @classmethod
    def from_environment(cls) -> DownloadPolicy:
        """Defaults, overridden by ORCP_DOWNLOAD_RETRIES, _BACKOFF and _TIMEOUT (read, seconds)."""
        env = os.environ
        return cls(
            retries=int(env.get("ORCP_DOWNLOAD_RETRIES", cls.retries)),
            backoff_factor=float(env.get("ORCP_DOWNLOAD_BACKOFF", cls.backoff_factor)),
            read_timeout=float(env.get("ORCP_DOWNLOAD_TIMEOUT", cls.read_timeout)),
        )

    def wait_before(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        wait = self.backoff_factor * 2 ** (attempt - 1)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_wait)


@dataclass
class Download:
    """One download attempt (all its retries) as booked in meta.downloads."""

    source: str
    url: str
    status: str  # downloaded / unchanged / failed
    path: Path | None = None
    sha256: str | None = None
    bytes: int | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    error: str | None = None
    error_position: str | None = None
    attempts: int = 0
    unchanged_since: str | None = None  # for a 304: when the content was first downloaded
    download_id: int | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    duration_s: float = 0.0

    @property
    def file_name(self) -> str:
        if self.path:
            return self.path.name
        return Path(unquote(urlsplit(self.url).path)).name or self.source


class DownloadError(Exception):
    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        http_status: int | None = None,
        position: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.http_status = http_status
        self.position = position
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Validators:
    """What the last good download of a URL left: sent back as a conditional GET."""

    etag: str | None
    last_modified: str | None
    sha256: str
    path: str | None
    downloaded_at: datetime


def download(
    source: str,
    url: str,
    *,
    file_format: str = "auto",
    force: bool = False,
    landing_dir: Path | None = None,
    policy: DownloadPolicy | None = None,
    database_url: str | None = None,
    on_bytes: BytesCallback | None = None,
) -> Download:
    """Download ``url`` for ``source`` and book the attempt. Network and HTTP problems are results.

    ``force`` ignores the validators of previous downloads (a full GET, no 304 possible).
    """
    database_url = database_url or db.database_url()
    landing_dir = landing_dir or get_settings().landing_dir
    policy = policy or DownloadPolicy.from_environment()
    result = Download(source, url, status="failed")
    started = time.monotonic()
    # Short connections before and after: none stays idle during a long transfer.
    with db.connect(database_url, autocommit=True) as conn:
        previous = None if force else _last_good_download(conn, source, url)
    day_dir = landing_dir / _safe_name(source) / date.today().isoformat()
    with requests.Session() as session:
        session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
        _attempt_with_retries(session, result, previous, day_dir, file_format, policy, on_bytes)
    result.duration_s = round(time.monotonic() - started, 3)
    with db.connect(database_url, autocommit=True) as conn:
        result.download_id = _book(conn, result)
    _log_outcome(result)
    return result


def record_load_status(download_id: int, load_status: str, database_url: str | None = None) -> None:
    """Note what loading the downloaded file gave (loaded / skipped / failed)."""
    with db.connect(database_url or db.database_url(), autocommit=True) as conn:
        conn.execute(
            "update meta.downloads set load_status = %s where download_id = %s",
            (load_status, download_id),
        )


def _attempt_with_retries(
    session,
    result: Download,
    previous: _Validators | None,
    day_dir: Path,
    file_format: str,
    policy: DownloadPolicy,
    on_bytes,
) -> None:
    for attempt in range(1, policy.retries + 2):
        result.attempts = attempt
        try:
            _attempt(session, result, previous, day_dir, file_format, policy, on_bytes)
            return
        except DownloadError as exc:
            result.error, result.error_position, result.http_status = (
                exc.message,
                exc.position,
                exc.http_status,
            )
            if not exc.retryable or attempt > policy.retries:
                result.status = "failed"
                if exc.retryable:
                    result.error = f"{exc.message} (gave up after {attempt} attempts)"
                return
            wait = policy.wait_before(attempt, exc.retry_after)
            log.warning(
                "%s: attempt %d failed (%s); retrying in %.1f s",
                result.url,
                attempt,
                exc.message,
                wait,
            )
            time.sleep(wait)


def _attempt(
    session,
    result: Download,
    previous: _Validators | None,
    day_dir: Path,
    file_format: str,
    policy: DownloadPolicy,
    on_bytes,
) -> None:
    try:
        response = session.get(
            result.url,
            headers=_conditional_headers(previous),
            stream=True,
            timeout=(policy.connect_timeout, policy.read_timeout),
        )
    except requests.ConnectTimeout:
        raise DownloadError(
            f"no connection within {policy.connect_timeout:g} s (timeout)", retryable=True
        ) from None
    except requests.Timeout:
        raise DownloadError(
            f"no answer within {policy.read_timeout:g} s (timeout)", retryable=True
        ) from None
    except requests.ConnectionError as exc:
        raise DownloadError(f"connection failed: {_reason(exc)}", retryable=True) from None
    except requests.RequestException as exc:
        raise DownloadError(f"request failed: {exc}", retryable=False) from None
    with response:
        result.http_status, result.final_url = response.status_code, response.url
        if response.status_code == 304 and previous:
            _mark_unchanged(result, previous)
            return
        if response.status_code != 200:
            raise DownloadError(
                f"HTTP {response.status_code} {response.reason or ''}".strip(),
                retryable=response.status_code in RETRYABLE_STATUSES,
                http_status=response.status_code,
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        result.etag = response.headers.get("ETag")
        result.last_modified = response.headers.get("Last-Modified")
        name = _file_name(response, result.source, file_format)
        result.path, result.sha256, result.bytes = _stream_to_landing(
            response, day_dir, name, policy, on_bytes
        )
        result.status, result.error, result.error_position = "downloaded", None, None


def _conditional_headers(previous: _Validators | None) -> dict[str, str]:
    headers = {}
    if previous and previous.etag:
        headers["If-None-Match"] = previous.etag
    if previous and previous.last_modified:
        headers["If-Modified-Since"] = previous.last_modified
    return headers


def _mark_unchanged(result: Download, previous: _Validators) -> None:
    result.status, result.error, result.error_position = "unchanged", None, None
    result.etag, result.last_modified, result.sha256 = (
        previous.etag,
        previous.last_modified,
        previous.sha256,
    )
    result.path = Path(previous.path) if previous.path else None
    result.unchanged_since = previous.last_modified or previous.downloaded_at.isoformat(
        timespec="seconds"
    )


def _stream_to_landing(
    response: requests.Response,
    day_dir: Path,
    name: str,
    policy: DownloadPolicy,
    on_bytes: BytesCallback | None,
) -> tuple[Path, str, int]:
    """Write the body to a temporary name, check it is whole, rename it: (path, sha256, bytes)."""
    announced = _announced_length(response)
    day_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=day_dir, prefix=f".{name}.", suffix=".part")
    writer, received = _LandingWriter(os.fdopen(handle, "wb"), temporary), 0
    try:
        for chunk in response.iter_content(policy.chunk_size):
            if received == 0:
                _reject_html_page(chunk, response)
            writer.put(chunk)
            received += len(chunk)
            if on_bytes:
                on_bytes(received, announced)
        sha256 = writer.close()
        if announced is not None and received != announced:
            raise DownloadError(
                f"truncated body: received {received} of the {announced} bytes announced",
                retryable=True,
                http_status=200,
                position=f"byte {received}",
            )
        final = _final_path(day_dir, name, sha256, received)
        os.replace(temporary, final)
        _remember_sha256(final, sha256)
        return final, sha256, received
    except (
        requests.RequestException
    ) as exc:  # broken or stalled connection in the middle of the body
        partial = _partial_read(exc)
        received += partial
        if announced is not None and partial:
            message = (
                f"truncated body: the connection closed after {received} of the {announced}"
                " bytes announced"
            )
        else:
            of = f" of {announced}" if announced is not None else ""
            message = f"connection broken after {received}{of} bytes: {_reason(exc)}"
        raise DownloadError(
            message, retryable=True, http_status=200, position=f"byte {received}"
        ) from None
    finally:
        writer.stop()
        Path(temporary).unlink(missing_ok=True)


class _LandingWriter:
    """Writes and hashes the chunks in a thread of its own while the next ones arrive.

    Both file writes and sha256 release the GIL, so receiving, hashing and writing overlap on
    two cores; the bounded queue keeps memory flat when the disk is slower than the network.
    """

    QUEUE_CHUNKS = 8

    def __init__(self, out: BinaryIO, path: str):
        self._out, self._path, self._digest, self._written = out, path, hashlib.sha256(), 0
        self._chunks: queue.Queue[bytes | None] = queue.Queue(self.QUEUE_CHUNKS)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="landing-writer", daemon=True)
        self._thread.start()

    def put(self, chunk: bytes) -> None:
        if self._error:
            self._raise()
        self._chunks.put(chunk)

    def close(self) -> str:
        """Wait until every chunk is written; the sha256 of the whole body."""
        self.stop()
        if self._error:
            self._raise()
        return self._digest.hexdigest()

    def stop(self) -> None:
        """End the thread once the queued chunks are written (also after a failure; idempotent)."""
        if self._thread.is_alive():
            self._chunks.put(None)
            self._thread.join()
        self._out.close()

    def _run(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            if self._error is None:  # after an error, drain the queue so put() never blocks
                try:
                    self._out.write(chunk)
                    self._out.flush()  # a full disk shows here, at this chunk, not at close
                    self._digest.update(chunk)
                    self._written += len(chunk)
                except OSError as exc:
                    self._error = exc

    def _raise(self) -> None:
        raise DownloadError(
            f"cannot write the landing file {self._path} after {self._written} bytes: {self._error}",
            retryable=False,
            position=f"byte {self._written}",
        ) from self._error


def _announced_length(response: requests.Response) -> int | None:
    if response.headers.get("Content-Encoding", "identity") != "identity":
        return None  # the announced length is that of the encoded body, not of what we write
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


def _reject_html_page(head: bytes, response: requests.Response) -> None:
    """An error or login page served with status 200 instead of the data file."""
    opening = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower()
    if not opening.startswith((b"<!doctype html", b"<html")):
        return
    title = re.search(rb"<title[^>]*>(.*?)</title>", head, re.IGNORECASE | re.DOTALL)
    about = f": page titled {title.group(1).decode('utf-8', 'replace').strip()!r}" if title else ""
    content_type = response.headers.get("Content-Type", "none")
    raise DownloadError(
        f"the server sent an HTML page instead of a data file (HTTP {response.status_code},"
        f" Content-Type {content_type}){about}",
        retryable=False,
        http_status=response.status_code,
        position="byte 0",
    )


def _file_name(response: requests.Response, source: str, file_format: str) -> str:
    """Content-Disposition's file name, else the final URL's last segment, else the source name."""
    message = Message()
    message["Content-Disposition"] = response.headers.get("Content-Disposition", "")
    name = message.get_filename() or Path(unquote(urlsplit(response.url).path)).name
    if not Path(name).suffix and file_format in EXTENSIONS:
        name = f"{name or source}{EXTENSIONS[file_format]}"
    return _safe_name(name or source)


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.\-]", "_", Path(name).name).lstrip(".") or "download"


def _final_path(day_dir: Path, name: str, sha256: str, size: int) -> Path:
    """The file's landing name; a different content already there keeps its own (provenance)."""
    path = day_dir / name
    if path.exists() and _landed_sha256(path, size) != sha256:
        path = day_dir / f"{path.stem}-{sha256[:12]}{path.suffix}"
    return path


# The sha256 of a landed file is kept in an extended attribute with the size and modification time
# it was computed for, so a new download of the same name compares checksums without reading the
# old file again (a second read of a 1 GB file). Where the file system has no extended attributes
# or the file changed since, the file is read.
SHA256_ATTRIBUTE = "user.orcp.sha256"


def _remember_sha256(path: Path, sha256: str) -> None:
    stat = path.stat()
    try:
        os.setxattr(path, SHA256_ATTRIBUTE, f"{sha256} {stat.st_size} {stat.st_mtime_ns}".encode())
    except (OSError, AttributeError):  # no xattr support here: _landed_sha256 reads the file
        pass


def _landed_sha256(path: Path, size: int) -> str | None:
    """The sha256 of a landed file, or None when its size already tells it differs."""
    stat = path.stat()
    if stat.st_size != size:
        return None
    try:
        sha256, recorded_size, mtime_ns = os.getxattr(path, SHA256_ATTRIBUTE).decode().split()
        if (int(recorded_size), int(mtime_ns)) == (stat.st_size, stat.st_mtime_ns):
            return sha256
    except (OSError, AttributeError, ValueError):
        pass
    return sha256_of(path)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _partial_read(exc: BaseException) -> int:
    """Bytes urllib3 had read in the chunk it was filling when the connection closed early."""
    while exc is not None:
        if isinstance(exc, urllib3.exceptions.IncompleteRead) and isinstance(exc.partial, int):
            return exc.partial
        exc = exc.__context__
    return 0


def _reason(exc: Exception) -> str:
    """The innermost cause of a requests error, which says what really happened."""
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    return f"{type(exc).__name__}: {exc}"


def _last_good_download(conn, source: str, url: str) -> _Validators | None:
    row = conn.execute(
        "select etag, last_modified, sha256, path, started_at from meta.downloads"
        " where source = %s and url = %s and status in ('downloaded', 'unchanged')"
        " and load_status in ('loaded', 'skipped')"
        " and (etag is not null or last_modified is not null)"
        " order by download_id desc limit 1",
        (source, url),
    ).fetchone()
    return _Validators(*row) if row else None


def _book(conn, result: Download) -> int:
    return conn.execute(
        "insert into meta.downloads (source, url, final_url, status, http_status, etag,"
        " last_modified, bytes, sha256, path, attempts, error, started_at, duration_s)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning download_id",
        (
            result.source,
            result.url,
            result.final_url,
            result.status,
            result.http_status,
            result.etag,
            result.last_modified,
            result.bytes,
            result.sha256,
            str(result.path) if result.path else None,
            result.attempts,
            _with_position(result),
            result.started_at,
            result.duration_s,
        ),
    ).fetchone()[0]


def _with_position(result: Download) -> str | None:
    if result.error and result.error_position:
        return f"{result.error_position}: {result.error}"
    return result.error


def _log_outcome(result: Download) -> None:
    if result.status == "downloaded":
        log.info(
            "%s: downloaded %s (%d bytes, sha256 %s)",
            result.url,
            result.path,
            result.bytes,
            result.sha256[:12],
        )
    elif result.status == "unchanged":
        log.info(
            "%s: unchanged since %s (HTTP 304), nothing downloaded",
            result.url,
            result.unchanged_since,
        )
    else:
        log.error("%s: download failed: %s", result.url, _with_position(result))
