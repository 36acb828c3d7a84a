"""Format detection from a file's opening bytes."""

from __future__ import annotations

from pathlib import Path

from ingest.formats import ParsedFile, ParseError, decp_json

HEAD_BYTES = 64 * 1024


def detect(path: Path) -> ParsedFile:
    with path.open("rb") as stream:
        head = stream.read(HEAD_BYTES)
    if not head.strip():
        raise ParseError("empty file", "byte 0")
    layout = decp_json.sniff_layout(head)
    if layout:
        return decp_json.parse(path, layout)
    raise ParseError("unknown format: not a DECP JSON file", "byte 0")
