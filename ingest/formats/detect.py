"""Format detection from a file's opening bytes (and its name, for messages and tie-breaks).

zip ``PK`` -> refused here (each member is its own load: ``ingest.archive_loader.ingest_zip``);
Parquet ``PAR1`` -> tabular; ``<`` -> DECP XML (HTML pages refused); ``{`` / ``[`` -> DECP JSON;
a text header line -> decp.info tabular CSV or ministry CSV. Anything else: ParseError saying what
was seen.
"""

from __future__ import annotations

from pathlib import Path

from ingest.formats import ParsedFile, ParseError, decp_json, decp_xml, tabular
from ingest.formats.encoding import UTF16_BOMS, bom_length

HEAD_BYTES = 64 * 1024
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
PARQUET_MAGIC = b"PAR1"
WHITESPACE = b" \t\r\n"
HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")


def detect(path: Path) -> ParsedFile:
    """The parsed-file stream for ``path``; raises ParseError when the format is not one we read."""
    with path.open("rb") as stream:
        head = stream.read(HEAD_BYTES)
    if not head:
        raise ParseError("empty file", "byte 0")
    if head.startswith(ZIP_MAGICS):
        raise ParseError("zip archive: ingest it with ingest.archive_loader.ingest_zip"
                         " (each member is loaded as its own unit)", "byte 0")
    if head.startswith(PARQUET_MAGIC):
        return tabular.parse_parquet(path)
    if head.startswith(UTF16_BOMS):
        raise ParseError("UTF-16 text: DECP files must be UTF-8 (re-encode the file)", "byte 0")
    start = bom_length(head)
    text = head[start:].lstrip(WHITESPACE)
    if not text:
        raise ParseError("empty file (only whitespace)", "byte 0")
    offset = len(head) - len(text)
    if path.suffix.lower() == ".parquet":
        raise ParseError("named .parquet but not a Parquet file (no PAR1 magic)", "byte 0")
    first = text[:1]
    if first == b"<":
        if _is_html(text):
            raise ParseError(f"an HTML page, not DECP data (an error page saved as {_name(path)}?)",
                             f"byte {offset}")
        return decp_xml.parse(path)
    if first in (b"{", b"["):
        return decp_json.parse(path)
    csv_kind = tabular.sniff_csv(head[start:])
    if csv_kind:
        return tabular.parse_csv(path, csv_kind)
    raise ParseError(f"unknown format for {_name(path)}: starts with {text[:60]!r}",
                     f"byte {offset}")


def _is_html(text: bytes) -> bool:
    opening = text[:1024].lower()
    return any(marker in opening for marker in HTML_MARKERS)


def _name(path: Path) -> str:
    return f"a {path.suffix} file" if path.suffix else "a file without extension"
