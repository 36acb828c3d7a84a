"""Load zip archives member by member: each member is its own load unit in meta.loads.

A bad member fails alone (its own ``failed`` row) and the others go on; a hostile or unreadable
archive fails as a whole: one ``failed`` row for the archive and no raw rows at all.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ingest.formats import ParsedFile, ParseError
from ingest.formats.archive import ArchiveError, iter_members
from ingest.formats.detect import ZIP_MAGICS
from ingest.loader import LoadResult, ProgressCallback, load_file


def ingest_zip(path: Path, source: str, *, url: str | None = None, database_url: str | None = None,
               work_dir: Path | None = None, on_progress: ProgressCallback | None = None,
               **limits) -> list[LoadResult]:
    """Load every data member of the zip at ``path``; one LoadResult per member (or one for a
    refused archive). ``limits`` (max_total, max_ratio) override the archive safety limits."""
    path = Path(path)
    common = {"url": url, "database_url": database_url}
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="orcp-zip-", dir=work_dir) as folder:
            for member in iter_members(path, Path(folder), **limits):
                display_name = f"{path.name}!{member.name}"
                if member.path is None:
                    # Booked through load_file so the failure lands in meta.loads like any other.
                    failure = ParseError(member.error, f"member {member.name!r}")
                    results.append(load_file(path, source, display_name=display_name,
                                             member=member.name, parser=_refusing(failure),
                                             **common))
                else:
                    results.append(load_file(member.path, source, display_name=display_name,
                                             member=member.name, on_progress=on_progress, **common))
    except ArchiveError as exc:
        results.append(load_file(path, source, parser=_refusing(exc), **common))
    return results


def ingest_path(path: Path, source: str, **options) -> list[LoadResult]:
    """One file: a zip goes member by member, anything else is one load."""
    path = Path(path)
    if is_zip(path):
        return ingest_zip(path, source, **options)
    options.pop("work_dir", None)
    return [load_file(path, source, **options)]


def is_zip(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as stream:
        return stream.read(4).startswith(ZIP_MAGICS)


def _refusing(error: ParseError):
    def parser(_path: Path) -> ParsedFile:
        raise error

    return parser
