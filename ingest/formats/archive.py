"""Zip archives, read safely: every member is checked before anything is extracted.

Refused as a whole (``ArchiveError``): a member name that is absolute or climbs out with ``..``
(zip slip), a symbolic link, a declared total size or a member compression ratio over the limits
(zip bomb), an unreadable archive. Members are then extracted one at a time inside a given
directory, streamed with a byte count, and deleted once the caller is done with them.
"""

from __future__ import annotations

import logging
import shutil
import stat
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from ingest.formats import ParseError

log = logging.getLogger(__name__)
MAX_TOTAL_UNCOMPRESSED = 5 * 1024**3  # bytes, all members together
MAX_RATIO = 200  # uncompressed / compressed size of one member
RATIO_MIN_SIZE = 1 << 20  # smaller members are harmless even when they compress very well
COPY_CHUNK = 1 << 20
# Operating-system litter, not data: not loaded (logged).
LITTER_PREFIXES = ("__MACOSX/",)
LITTER_NAMES = (".DS_Store", "Thumbs.db")


class ArchiveError(ParseError):
    """The archive is refused as a whole; ``position`` names the offending member."""


class Member(NamedTuple):
    name: str  # the member's name in the archive
    path: Path | None  # where it was extracted; None when its extraction failed
    error: str | None = None  # why it could not be extracted (the member fails alone)


def iter_members(zip_path: Path, directory: Path, *, max_total: int = MAX_TOTAL_UNCOMPRESSED,
                 max_ratio: float = MAX_RATIO) -> Iterator[Member]:
    """Check the whole archive, then extract and yield its data members one at a time.

    Each extracted file lives in ``directory`` until the caller asks for the next member.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"unreadable zip archive ({exc})", "byte 0") from exc
    with archive:
        members = checked_members(archive, max_total=max_total, max_ratio=max_ratio)
        for index, info in enumerate(members, 1):
            folder = directory / f"member-{index:06d}"
            target = folder / PurePosixPath(info.filename).name
            try:
                folder.mkdir(parents=True)
                _extract(archive, info, target)
            except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError,
                    OSError, ArchiveError) as exc:
                shutil.rmtree(folder, ignore_errors=True)
                yield Member(info.filename, None, f"member cannot be extracted ({exc})")
                continue
            try:
                yield Member(info.filename, target)
            finally:
                shutil.rmtree(folder, ignore_errors=True)


def checked_members(archive: zipfile.ZipFile, *, max_total: int = MAX_TOTAL_UNCOMPRESSED,
                    max_ratio: float = MAX_RATIO) -> list[zipfile.ZipInfo]:
    """The data members of ``archive``; ArchiveError when any member makes the archive hostile."""
    members = []
    total = 0
    for info in archive.infolist():
        check_member_name(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ArchiveError("symbolic link in the archive refused", f"member {info.filename!r}")
        if info.is_dir():
            continue
        if is_litter(info.filename):
            log.info("%s: skipped %s (operating-system litter, not data)", archive.filename,
                     info.filename)
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_MIN_SIZE and ratio > max_ratio:
            raise ArchiveError(f"compression ratio {ratio:.0f} over the limit {max_ratio:.0f}"
                               " (zip bomb?)", f"member {info.filename!r}")
        total += info.file_size
        if total > max_total:
            raise ArchiveError(f"uncompressed size over the limit of {max_total} bytes (zip bomb?)",
                               f"member {info.filename!r}")
        members.append(info)
    return members


def check_member_name(name: str) -> None:
    """Refuse names that would be written outside the extraction directory (zip slip)."""
    normalised = name.replace("\\", "/")
    parts = PurePosixPath(normalised).parts
    if (normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":")
            or ".." in parts or "\x00" in name):
        raise ArchiveError("member name outside the archive folder refused (zip slip)",
                           f"member {name!r}")


def is_litter(name: str) -> bool:
    return name.startswith(LITTER_PREFIXES) or PurePosixPath(name).name in LITTER_NAMES


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Stream one member to ``target``, never writing more than its declared size."""
    written = 0
    with archive.open(info) as source, target.open("wb") as out:
        while chunk := source.read(COPY_CHUNK):
            written += len(chunk)
            if written > info.file_size:
                raise ArchiveError("member larger than its declared size",
                                   f"member {info.filename!r}")
            out.write(chunk)
