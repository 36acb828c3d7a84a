"""Byte-level helpers shared by the parsers: BOM, UTF-8 checks, JSON payloads ready for jsonb."""

from __future__ import annotations

import codecs
import re
from decimal import Decimal
from pathlib import Path

import orjson

from ingest.formats import ParseError

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
SCAN_CHUNK = 1 << 20
INT64_RANGE = range(-(2**63), 2**64)  # orjson serialises signed and unsigned 64-bit integers
_SURROGATE = re.compile("[\ud800-\udfff]")


def bom_length(head: bytes) -> int:
    """3 when the bytes start with a UTF-8 byte order mark (accepted and skipped), else 0."""
    return len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0


def first_invalid_utf8(path: Path) -> tuple[int, int] | None:
    """(byte offset, byte value) of the first byte that is not valid UTF-8, or None.

    Used on error paths only, to name the exact byte: files are never decoded by a guessed charset.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as stream:
        while True:
            chunk = stream.read(SCAN_CHUNK)
            # The decoder holds back the start of a sequence cut by the previous chunk.
            held = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                bad = offset - held + exc.start
                return bad, _byte_at(path, bad)
            if not chunk:
                return None
            offset += len(chunk)


def _byte_at(path: Path, offset: int) -> int:
    with path.open("rb") as stream:
        stream.seek(offset)
        return stream.read(1)[0]


def invalid_utf8_message(byte: int) -> str:
    return (f"invalid UTF-8 (byte 0x{byte:02X}): the file must be UTF-8; it is not decoded with a"
            " guessed charset (Latin-1/Windows-1252?), re-encode it as UTF-8")


def to_payload(value: object) -> bytes:
    """``value`` as JSON bytes that PostgreSQL jsonb accepts, every value kept.

    jsonb refuses the NUL character (``\\u0000``) and a single one would make the whole COPY fail:
    such a record is kept with each NUL written as the 6-character text ``\\u0000`` (backslash, u,
    0, 0, 0, 0). Integers beyond 64 bits and decimals are written as their exact JSON number text.
    """
    try:
        payload = orjson.dumps(value, default=_exact_number)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, a lone surrogate, deep nesting
        return _slow_payload(value)
    if b"\\u0000" in payload:  # cheap test; a literal backslash-u0000 text only costs a second dump
        payload = _slow_payload(value)
    return payload


def _slow_payload(value: object) -> bytes:
    try:
        return orjson.dumps(storable(value))
    except (orjson.JSONEncodeError, RecursionError) as exc:
        raise ParseError(f"a record that cannot be written as JSON ({exc})") from exc


def _exact_number(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"{type(value).__name__} is not JSON")


def storable(value: object) -> object:
    """A copy of ``value`` that orjson can write and jsonb can store (slow path, rare records)."""
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, dict):
        return {_storable_text(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if value in INT64_RANGE else orjson.Fragment(str(value).encode())
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode())
    return str(value)


def _storable_text(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "\\u0000")
    if _SURROGATE.search(text):  # lone surrogates cannot be UTF-8: keep them as escape text
        text = _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return text
