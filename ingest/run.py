"""Entry points that `orcp` and the DAGs call: ingest a local path, a URL or a registry source.

Every outcome is a ``LoadResult`` backed by a meta.loads row, including the files that never
reached the loader: a failed download is a ``failed`` row naming the URL, an unchanged remote
file (HTTP 304) a ``skipped`` row saying since when it is unchanged.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from ingest.archive_loader import ingest_zip, is_zip
from ingest.download import Download, download, record_load_status
from ingest.loader import LoadResult, load_file
from ingest.registry import load_registry, local_path_of
from orcp import db

log = logging.getLogger(__name__)

DEFAULT_SOURCE = "manual"


class IngestProgress:
    """Progress of an ingestion. This base class writes plain log lines, at most one per stream and
    ``interval`` seconds (what Airflow's task log shows); RichProgress draws bars on a terminal."""

    def __init__(self, interval: float = 10.0):
        self.interval = interval
        self._last_line: dict[str, float] = {}

    def downloading(self, name: str, received: int, total: int | None) -> None:
        if self._due(f"download {name}") or received == total:
            of = f" of {total / 1e6:.1f}" if total else ""
            log.info("%s: downloaded %.1f%s MB", name, received / 1e6, of)

    def loading(self, name: str, records: int) -> None:
        if self._due(f"load {name}"):
            log.info("%s: %d records loaded", name, records)

    def file_done(self, name: str) -> None:
        """The loader is done with ``name`` (it logs the outcome itself)."""

    def _due(self, stream: str) -> bool:
        now = time.monotonic()
        if now - self._last_line.get(stream, float("-inf")) < self.interval:
            return False
        self._last_line[stream] = now
        return True


class CallbackProgress(IngestProgress):
    """Adapts a plain ``on_progress(records)`` callback; downloads still go to the log."""

    def __init__(self, callback: Callable[[int], None]):
        super().__init__()
        self.callback = callback

    def loading(self, name: str, records: int) -> None:
        self.callback(records)


class RichProgress(IngestProgress):
    """A bytes bar per download and a records counter per file, in one Rich live display."""

    def __init__(self, console=None):
        super().__init__()
        from rich.console import Group
        from rich.live import Live
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TransferSpeedColumn,
        )

        self.bytes_bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
        )
        self.records_counters = Progress(
            SpinnerColumn(finished_text="✓"),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,.0f} records"),
            TimeElapsedColumn(),
        )
        self.live = Live(Group(self.bytes_bars, self.records_counters), console=console)
        self._tasks: dict[str, int] = {}
        self._records: dict[str, int] = {}

    def downloading(self, name: str, received: int, total: int | None) -> None:
        task = self._task(self.bytes_bars, f"download {name}", total)
        self.bytes_bars.update(task, completed=received, total=total)

    def loading(self, name: str, records: int) -> None:
        task = self._task(self.records_counters, f"load {name}", None)
        self.records_counters.update(task, completed=records)
        self._records[name] = records

    def file_done(self, name: str) -> None:
        # A counter whose total is reached shows a tick instead of its spinner.
        task = self._task(self.records_counters, f"load {name}", None)
        self.records_counters.update(task, total=self._records.get(name, 0))

    def _task(self, bars, description: str, total: int | None) -> int:
        if description not in self._tasks:
            self._tasks[description] = bars.add_task(description, total=total)
        return self._tasks[description]


@contextmanager
def progress_display(console=None) -> Iterator[IngestProgress]:
    """Rich bars when stdout is a terminal, plain log lines otherwise (Airflow, CI, pipes)."""
    if not sys.stdout.isatty():
        yield IngestProgress()
        return
    display = RichProgress(console)
    with display.live:
        yield display


def ingest_target(
    target: str,
    source: str | None = None,
    on_progress: IngestProgress | Callable[[int], None] | None = None,
    *,
    force: bool = False,
    database_url: str | None = None,
) -> list[LoadResult]:
    """Ingest a local file or folder (every file in it), an http(s) URL or a registry source name.

    A local path that exists wins over a source of the same name. Failures are results, not
    exceptions: one failed file does not stop the others.
    """
    progress = _as_progress(on_progress)
    scheme = urlsplit(target).scheme
    if scheme in ("http", "https"):
        return ingest_url(
            target,
            source or DEFAULT_SOURCE,
            force=force,
            progress=progress,
            database_url=database_url,
        )
    path = local_path_of(target) if scheme == "file" else Path(target)
    if not path.exists() and scheme != "file" and target in load_registry():
        return ingest_source(target, force=force, on_progress=progress, database_url=database_url)
    return ingest_path(path, source or DEFAULT_SOURCE, progress=progress, database_url=database_url)


def ingest_source(
    name: str,
    force: bool = False,
    on_progress: IngestProgress | Callable[[int], None] | None = None,
    *,
    database_url: str | None = None,
) -> list[LoadResult]:
    """Ingest one source of the registry (its URL, or its local file or folder)."""
    source = load_registry().get(name)
    progress = _as_progress(on_progress)
    if source.is_remote:
        return ingest_url(
            source.effective_url,
            source.name,
            file_format=source.format,
            force=force,
            progress=progress,
            database_url=database_url,
        )
    return ingest_path(source.local_path, source.name, progress=progress, database_url=database_url)


def ingest_url(
    url: str,
    source: str,
    *,
    file_format: str = "auto",
    force: bool = False,
    progress: IngestProgress | None = None,
    database_url: str | None = None,
) -> list[LoadResult]:
    """Download ``url`` into the landing directory (unless unchanged), then load it."""
    database_url = database_url or db.database_url()
    progress = progress or IngestProgress()
    fetched = download(
        source,
        url,
        file_format=file_format,
        force=force,
        database_url=database_url,
        on_bytes=lambda received, total: progress.downloading(_name_of(url), received, total),
    )
    if fetched.status == "failed":
        return [
            _book_without_file(
                database_url,
                fetched,
                "failed",
                f"download of {url} failed: {fetched.error}",
                fetched.error_position,
            )
        ]
    if fetched.status == "unchanged":
        result = _book_without_file(
            database_url,
            fetched,
            "skipped",
            f"remote file unchanged since {fetched.unchanged_since}"
            f" (HTTP 304 on {url}), not downloaded again",
        )
        record_load_status(fetched.download_id, "skipped", database_url)
        return [result]
    results = _load_local_file(
        fetched.path, source, url=url, progress=progress, database_url=database_url,
        sha256=fetched.sha256,
    )
    record_load_status(fetched.download_id, _overall_status(results), database_url)
    return results


def ingest_path(
    path: Path,
    source: str,
    *,
    progress: IngestProgress | None = None,
    database_url: str | None = None,
) -> list[LoadResult]:
    """Load a file, or every file of a folder (hidden files such as partial downloads excepted)."""
    progress = progress or IngestProgress()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    else:
        files = [path]
    results: list[LoadResult] = []
    for file in files:
        results += _load_local_file(file, source, progress=progress, database_url=database_url)
    return results


def _load_local_file(
    path: Path,
    source: str,
    *,
    url: str | None = None,
    progress: IngestProgress,
    database_url: str | None,
    sha256: str | None = None,
) -> list[LoadResult]:
    def on_records(count: int) -> None:
        progress.loading(path.name, count)

    options = {"url": url, "database_url": database_url, "on_progress": on_records}
    if is_zip(path):  # member by member, each its own load (safe reader of ingest.formats.archive)
        results = ingest_zip(path, source, **options)
        progress.loading(path.name, sum(result.records for result in results))
    else:
        results = [load_file(path, source, sha256=sha256, **options)]  # hashed while downloading
    progress.file_done(path.name)
    return results


def _as_progress(on_progress) -> IngestProgress:
    if on_progress is None:
        return IngestProgress()
    if isinstance(on_progress, IngestProgress):
        return on_progress
    return CallbackProgress(on_progress)


def _overall_status(results: list[LoadResult]) -> str:
    statuses = {r.status for r in results}
    if "failed" in statuses:
        return "failed"
    return "loaded" if "loaded" in statuses else "skipped"


def _name_of(url: str) -> str:
    return Path(urlsplit(url).path).name or url


def _book_without_file(
    database_url: str, fetched: Download, status: str, error: str, position: str | None = None
) -> LoadResult:
    """A meta.loads row for a file the loader never saw (failed or unchanged download)."""
    with db.connect(database_url, autocommit=True) as conn:
        load_id = conn.execute(
            "insert into meta.loads (source, url, file_name, sha256, status, error, error_position,"
            " started_at, finished_at, duration_s)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp(), %s) returning load_id",
            (
                fetched.source,
                fetched.url,
                fetched.file_name,
                fetched.sha256,
                status,
                error,
                position,
                fetched.started_at,
                fetched.duration_s,
            ),
        ).fetchone()[0]
    return LoadResult(
        load_id,
        fetched.file_name,
        status,
        error=f"{fetched.file_name}: {error}" if status == "failed" else error,
    )
