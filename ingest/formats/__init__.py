"""File formats: detect what a file is and stream its records.

Every parser yields ``RawRecord`` objects whose payload is already serialised JSON
(bytes), ready for COPY, and raises ``ParseError`` with a position on bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


class RawRecord(NamedTuple):
    """One record (a NamedTuple: built a million times per national file, it must be cheap)."""

    number: int  # 1-based record (or line) number within the file
    layout: str  # e.g. "decp-2019", "decp-v2", "decp-tabular", "minef-csv"
    kind: str  # "marche", "contrat-concession", or "row" for tabular files
    payload: bytes  # the record as JSON, exactly the values the source sent


class ParseError(ValueError):
    """A file that cannot be read as a whole; ``position`` says where (byte, line or record)."""

    def __init__(self, message: str, position: str | None = None):
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.position}: {self.message}" if self.position else self.message


@dataclass(frozen=True)
class ParsedFile:
    format: str  # the detected format, recorded in meta.loads
    table: str  # the raw table the records go to
    records: Iterator[RawRecord]


Parser = Callable[[Path], ParsedFile]


def open_records(path: Path) -> ParsedFile:
    """Detect the format of ``path`` and return its record stream."""
    from ingest.formats.detect import detect

    return detect(path)
