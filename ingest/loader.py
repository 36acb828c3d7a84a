"""Load one file into raw: skip known content, COPY every record in one transaction, book it in meta.loads.

A file that fails anywhere leaves no raw rows, only a ``failed`` row in meta.loads
whose error names the file and the position.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ingest.formats import ParseError, Parser, RawRecord, open_records
from orcp import db

log = logging.getLogger(__name__)

RAW_COLUMNS = "(load_id, record_number, source, source_file, layout, record_kind, record)"
PROGRESS_EVERY = 10_000
# Records reach COPY in chunks of about this size: one write per record cost 9 % of a national file's load
# (1M records: 8.8-9.0 s against 8.0-8.3 s), the parser waiting on psycopg instead of running beside the server.
COPY_CHUNK_BYTES = 1 << 20
HASH_CHUNK = 1 << 20

ProgressCallback = Callable[[int], None]


@dataclass
class LoadResult:
    load_id: int
    file_name: str
    status: str  # loaded / skipped / failed
    records: int = 0
    format: str | None = None
    error: str | None = None

    def describe(self) -> str:
        if self.status == "loaded":
            return f"{self.file_name}: loaded {self.records} records ({self.format}), load {self.load_id}"
        if self.status == "skipped":
            return f"{self.file_name}: skipped, same content already loaded ({self.error})"
        return f"{self.file_name}: FAILED: {self.error}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load_file(
    path: Path,
    source: str,
    *,
    url: str | None = None,
    display_name: str | None = None,
    member: str | None = None,
    database_url: str | None = None,
    parser: Parser = open_records,
    sha256: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> LoadResult:
    """Load ``path`` into its raw table. Never raises for bad input: the result says what happened.

    ``parser`` defaults to DECP format detection; other sources (payment delays, survey) pass theirs.
    ``sha256`` is the file's hash when the caller already has it (computed while downloading): it
    saves a read of the whole file.
    """
    database_url = database_url or db.database_url()
    name = display_name or path.name
    with db.connect(database_url, autocommit=True) as conn:
        if not path.is_file():
            return _book_failure(conn, source, url, name, member, None, None, f"file not found: {path}")
        sha256, size = sha256 or sha256_of(path), path.stat().st_size
        previous = conn.execute(
            "select load_id from meta.loads where sha256 = %s and status = 'loaded'", (sha256,)
        ).fetchone()
        if previous:
            load_id = _insert_load(conn, source, url, name, member, sha256, size, "skipped")
            conn.execute(
                "update meta.loads set error = %s, finished_at = clock_timestamp() where load_id = %s",
                (f"same sha256 as load {previous[0]}", load_id),
            )
            return LoadResult(load_id, name, "skipped", error=f"same sha256 as load {previous[0]}")
        load_id = _insert_load(conn, source, url, name, member, sha256, size, "running")
        started = time.monotonic()
        try:
            parsed = parser(path)
            count = _copy_records(database_url, parsed.table, parsed.records, load_id, source, name,
                                  on_progress)
        except (ParseError, OSError, psycopg.Error) as exc:
            position = exc.position if isinstance(exc, ParseError) else None
            message = exc.message if isinstance(exc, ParseError) else str(exc).strip()
            _finish(conn, load_id, "failed", started, error=message, position=position)
            log.error("%s: load failed: %s", name, exc)
            return LoadResult(load_id, name, "failed", error=f"{name}: {exc}")
        _finish(conn, load_id, "loaded", started, records=count, fmt=parsed.format)
        log.info("%s: loaded %d records (%s) as load %d", name, count, parsed.format, load_id)
        return LoadResult(load_id, name, "loaded", records=count, format=parsed.format)


def _copy_records(database_url: str, table: str, records: Iterable[RawRecord], load_id: int,
                  source: str, file_name: str, on_progress: ProgressCallback | None) -> int:
    """COPY all records in one transaction: any error rolls the whole file back."""
    prefix = f"{load_id}\t".encode()
    constant = f"\t{_copy_text(source)}\t{_copy_text(file_name)}\t".encode()
    count, lines, buffered = 0, [], 0
    with db.connect(database_url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY {table} {RAW_COLUMNS} FROM STDIN") as copy:
            for record in records:
                line = b"".join((
                    prefix, str(record.number).encode(), constant,
                    record.layout.encode(), b"\t", record.kind.encode(), b"\t",
                    record.payload.replace(b"\\", b"\\\\"), b"\n",
                ))
                lines.append(line)
                buffered += len(line)
                if buffered >= COPY_CHUNK_BYTES:
                    copy.write(b"".join(lines))
                    lines, buffered = [], 0
                count += 1
                if count % PROGRESS_EVERY == 0:
                    _report(on_progress, file_name, count)
            copy.write(b"".join(lines))
        conn.commit()
    _report(on_progress, file_name, count)
    return count


def _report(on_progress: ProgressCallback | None, file_name: str, count: int) -> None:
    if on_progress:
        on_progress(count)
    elif count and count % (PROGRESS_EVERY * 10) == 0:
        log.info("%s: %d records", file_name, count)


def _copy_text(value: str) -> str:
    """Escape a value for COPY's text format."""
    return (value.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def _insert_load(conn, source, url, name, member, sha256, size, status) -> int:
    return conn.execute(
        "insert into meta.loads (source, url, file_name, member, sha256, bytes, status)"
        " values (%s, %s, %s, %s, %s, %s, %s) returning load_id",
        (source, url, name, member, sha256, size, status),
    ).fetchone()[0]


def _finish(conn, load_id: int, status: str, started: float, *, records: int | None = None,
            fmt: str | None = None, error: str | None = None, position: str | None = None) -> None:
    conn.execute(
        "update meta.loads set status = %s, records = %s, format = %s, error = %s,"
        " error_position = %s, finished_at = clock_timestamp(), duration_s = %s where load_id = %s",
        (status, records, fmt, error, position, round(time.monotonic() - started, 3), load_id),
    )


def _book_failure(conn, source, url, name, member, sha256, size, error: str) -> LoadResult:
    load_id = _insert_load(conn, source, url, name, member, sha256, size, "failed")
    conn.execute("update meta.loads set error = %s, finished_at = clock_timestamp() where load_id = %s",
                 (error, load_id))
    return LoadResult(load_id, name, "failed", error=f"{name}: {error}")
