"""Entry points that `orcp` and the DAGs call: ingest a path (file or folder)."""

from __future__ import annotations

from pathlib import Path

from ingest.loader import LoadResult, ProgressCallback, load_file


def ingest_target(target: str, source: str | None = None,
                  on_progress: ProgressCallback | None = None) -> list[LoadResult]:
    path = Path(target)
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    return [load_file(f, source or "manual", on_progress=on_progress) for f in files]
