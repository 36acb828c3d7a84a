"""How a JSON file is read by ijson, the fallback real files need, and exact error positions.

The reading is ijson's C backend (yajl2_c) on the raw bytes, numbers kept exact (integers of any
size, decimals as ``Decimal``: ``12.50`` stays ``12.50``). Python and pandas write ``NaN`` /
``Infinity`` / ``-Infinity``, which JSON does not allow: when a file holds them, it is read again
with those tokens as the strings "NaN", "Infinity", "-Infinity" (jsonb has no such numbers; the
text keeps what the file said), from the record where the token appeared.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import ijson

from ingest.formats import ParseError
from ingest.formats.encoding import bom_length, first_invalid_utf8, invalid_utf8_message

READ_SIZE = 64 * 1024
# ijson picks the best backend installed: yajl2_c when available (see ijson.backend).
EXACT_NUMBERS = {"use_float": False}  # integers of any size, decimals as Decimal
NON_FINITE_TOKENS = (b"NaN", b"Infinity", b"-Infinity")
# A complete JSON string, or a bare non-finite token (only matched outside strings).
# Possessive quantifiers: no backtracking on long strings.
_STRING_OR_NON_FINITE = re.compile(rb'"(?:[^"\\]++|\\.)*+"|(-?Infinity|NaN)', re.DOTALL)
_LONGEST_TOKEN = 9
SCAN_CHUNK = 1 << 20
KEY_LOOKAHEAD = 4096
WHITESPACE = b" \t\r\n"
_ASCII_ESCAPE = re.compile(rb"\\u00[2-7]")  # printable ASCII written as \u0020-\u007f


@dataclass(frozen=True)
class Reading:
    non_finite: bool = False  # NaN/Infinity tokens read as strings

    def open(self, path: Path, start: int | None = None, lead: bytes = b"") -> BinaryIO:
        """The bytes the parser reads: the file (from ``start``, else after its BOM), ``lead``
        first. ``.source`` is the FileSource underneath (it knows the span of its last read)."""
        source = FileSource(path, start, lead)
        return NonFiniteAsText(source) if self.non_finite else source


class FileSource:
    """A file read from an offset, optionally after ``lead`` bytes; remembers where in the file its
    last read started and ended (ijson yields the records completed by that read)."""

    def __init__(self, path: Path, start: int | None = None, lead: bytes = b""):
        self.file = path.open("rb")
        if start is None:
            start = bom_length(self.file.read(3))
        self.file.seek(start)
        self.lead = lead
        self.last_span = (start, start)
        self.source = self

    def read(self, size: int = READ_SIZE) -> bytes:
        if size == 0:  # ijson probes with read(0) for bytes or text
            return b""
        if self.lead:
            lead, self.lead = self.lead, b""
            return lead
        begin = self.file.tell()
        data = self.file.read(size)
        self.last_span = (begin, begin + len(data))
        return data

    def tell(self) -> int:
        return self.file.tell()

    def close(self) -> None:
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class NonFiniteAsText:
    """A read-only byte stream that writes bare NaN/Infinity/-Infinity tokens as JSON strings.

    Works chunk by chunk with a regex (C speed); a chunk is cut after the last complete string so
    that every scan starts outside a string. ``inserted`` lists where quotes were added, to map an
    offset of this stream back to the file.
    """

    def __init__(self, raw: FileSource):
        self.raw = raw
        self.source = raw
        self.carry = b""
        self.position = 0  # bytes returned so far
        self.inserted: list[int] = []  # output offsets of each converted token

    def read(self, size: int = READ_SIZE) -> bytes:
        if size == 0:  # ijson probes with read(0) for bytes or text
            return b""
        while True:
            chunk = self.raw.read(size)
            data = self.carry + chunk
            cut = len(data) if not chunk else _safe_cut(data)
            self.carry = data[cut:]
            out = self._convert(data[:cut])
            if out or not chunk:
                self.position += len(out)
                return out

    def _convert(self, data: bytes) -> bytes:
        parts = []
        start = written = 0
        for match in _STRING_OR_NON_FINITE.finditer(data):
            if match.group(1):
                parts.append(data[start:match.start()])
                written += match.start() - start
                self.inserted.append(self.position + written)
                parts.append(b'"' + match.group(1) + b'"')
                written += len(match.group(1)) + 2
                start = match.end()
        parts.append(data[start:])
        return b"".join(parts)

    def file_offset(self, offset: int) -> int:
        """The offset in the file of this stream's byte ``offset`` (2 quotes per token added)."""
        return offset - 2 * bisect_right(self.inserted, offset)

    def tell(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _safe_cut(data: bytes) -> int:
    """A cut point outside any string and any token: after the last complete string, or before the
    tail that could hold a token when the data has no string at all."""
    last_string_end = None
    for match in _STRING_OR_NON_FINITE.finditer(data):
        if not match.group(1):
            last_string_end = match.end()
    if last_string_end is not None:
        return last_string_end
    if b'"' in data:
        return data.index(b'"')  # an unfinished string: keep it for the next chunk
    return max(0, len(data) - _LONGEST_TOKEN)


def items(stream: BinaryIO, prefix: str) -> Iterator[object]:
    return ijson.items(stream, prefix, buf_size=READ_SIZE, **EXACT_NUMBERS)


def parse_events(stream: BinaryIO) -> Iterator[tuple]:
    return ijson.parse(stream, buf_size=READ_SIZE, **EXACT_NUMBERS)


def key_offsets(path: Path, key: str, limit: int = 1000) -> list[int] | None:
    """File offsets of the string ``"key"`` as written, or None when a byte search cannot be sure
    to find that key: more than ``limit`` hits, or printable ASCII written as ``\\u00XX`` escapes
    somewhere (a key could be spelt that way)."""
    needle = b'"' + key.encode() + b'"'
    offsets: list[int] = []
    tail = b""
    read = 0
    with path.open("rb") as stream:
        while chunk := stream.read(SCAN_CHUNK):
            data = tail + chunk  # the tail is shorter than any needle: no hit is counted twice
            if _ASCII_ESCAPE.search(data):
                return None
            hit = data.find(needle)
            while hit != -1:
                offsets.append(read - len(tail) + hit)
                hit = data.find(needle, hit + 1)
            if len(offsets) > limit:
                return None
            tail = data[-(len(needle) - 1):]
            read += len(chunk)
    return offsets


def what_follows_key(path: Path, offset: int, key: str) -> str:
    """What the string ``"key"`` at ``offset`` is: "array", "object", "null", "scalar" (a key and
    its value), "value" (not a key), or "unsure" (too much whitespace to tell)."""
    with path.open("rb") as stream:
        stream.seek(offset + len(key) + 2)
        after = stream.read(KEY_LOOKAHEAD)
    rest = after.lstrip(WHITESPACE)
    if not rest:
        return "unsure"
    if rest[:1] != b":":
        return "value"
    value = rest[1:].lstrip(WHITESPACE)
    if not value:
        return "unsure"
    return {b"[": "array", b"{": "object", b"n": "null"}.get(value[:1], "scalar")


def parses_until(path: Path, start: int, lead: bytes, limit: int, reading: Reading) -> bool:
    """Whether the parser, fed ``lead`` then the file from ``start``, gets to offset ``limit``
    (or to the end) without an error."""
    coro = ijson.items_coro(_Discard(), "\x00never", **EXACT_NUMBERS)
    with reading.open(path, start, lead) as stream:
        try:
            while block := stream.read(READ_SIZE):
                coro.send(block)
                if stream.source.last_span[1] >= limit:
                    return True
            coro.close()
        except ijson.JSONError:
            return False
    return True


def recover(path: Path, exc: Exception, reading: Reading, last_record: int | None) -> Reading:
    """The reading that gets past ``exc``; raises a ParseError naming the place when none does."""
    offset = syntax_error_offset(path, reading)
    if not reading.non_finite and offset is not None and _token_at(path, offset):
        return replace(reading, non_finite=True)
    raise _located_error(path, exc, offset, last_record) from exc


def _token_at(path: Path, offset: int) -> bool:
    with path.open("rb") as stream:
        stream.seek(max(0, offset - _LONGEST_TOKEN))
        around = stream.read(2 * _LONGEST_TOKEN)
    return any(token in around for token in NON_FINITE_TOKENS)


def _located_error(path: Path, exc: Exception, offset: int | None,
                   last_record: int | None) -> ParseError:
    """A ParseError naming the exact byte: bad UTF-8 first, else where the parser stopped."""
    after = f", after record {last_record}" if last_record is not None else ""
    invalid = first_invalid_utf8(path)
    if invalid and (offset is None or invalid[0] <= offset):
        return ParseError(invalid_utf8_message(invalid[1]), f"byte {invalid[0]}{after}")
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    size = path.stat().st_size
    if offset is None or offset >= size:
        last = f"; last complete record: {last_record}" if last_record is not None else ""
        return ParseError(f"invalid JSON: truncated, the file ends before the data does"
                          f" ({reason}){last}", f"byte {size}{after}")
    return ParseError(f"invalid JSON ({reason})", f"byte {offset}{after}")


class _Discard:
    def send(self, value: object) -> None:  # pragma: no cover - the prefix never matches
        pass


def syntax_error_offset(path: Path, reading: Reading) -> int | None:
    """File offset of the byte the parser rejects (the file size when it rejects the end), or None.

    Error path only: a first feed finds the failing chunk, a second feeds that chunk byte by byte.
    """
    failing = _failing_block_start(path, reading)
    if failing is None:
        return None
    coro = ijson.items_coro(_Discard(), "\x00never", **EXACT_NUMBERS)
    with reading.open(path) as stream:
        offset = 0
        try:
            while offset < failing:
                block = stream.read(min(READ_SIZE, failing - offset))
                coro.send(block)
                offset += len(block)
            while byte := stream.read(1):  # (the NaN reader may return a few bytes at once)
                coro.send(byte)
                offset += len(byte)
            coro.close()
        except ijson.JSONError:
            pass
        in_file = stream.file_offset(offset) if isinstance(stream, NonFiniteAsText) else offset
        return in_file + _bom(path)


def _failing_block_start(path: Path, reading: Reading) -> int | None:
    """Offset (in the stream read) of the block the parser fails on; the end when it fails there."""
    coro = ijson.items_coro(_Discard(), "\x00never", **EXACT_NUMBERS)
    offset = 0
    with reading.open(path) as stream:
        try:
            while block := stream.read(READ_SIZE):
                coro.send(block)
                offset += len(block)
            coro.close()
        except ijson.JSONError:
            return offset
    return None


def _bom(path: Path) -> int:
    with path.open("rb") as stream:
        return bom_length(stream.read(3))
