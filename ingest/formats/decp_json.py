"""DECP JSON: 2019 ``{"marches": [...]}``, v2 ``{"marches": {"marche": [...], ...}}``, bare arrays.

The container is read from the first events of the file; then ijson's C backend builds the records
(``ijson.items``) and orjson writes them: per-record Python work is a few dict lookups. The layout
is decided per record (real files mix them): see ``decp_layouts.json_record_layout``. Slower
readings take over only where a file needs them (``json_reading``).

ijson extracts one path per pass, and a v2 file holds two lists. The first pass reads the whole
file (so the whole file is checked). The second list is then read from its key on when that key
can be found for sure (``_locate_list``): the parser is fed ``{"marches":{`` and the file from the
key, so it sees the same structure; otherwise the second pass reads the whole file too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import ijson

from ingest.formats import ParsedFile, ParseError, RawRecord
from ingest.formats.decp_layouts import (
    KINDS,
    LAYOUT_2019,
    LAYOUT_V2,
    json_record_layout,
    kind_2019,
    looks_like_contract,
)
from ingest.formats.encoding import to_payload
from ingest.formats.json_reading import (
    READ_SIZE,
    Reading,
    items,
    key_offsets,
    parse_events,
    parses_until,
    recover,
    what_follows_key,
)

RAW_TABLE = "raw.decp_records"
SNIFF_BYTES = 1 << 20  # how far the container is checked before records stream
V2_LEAD = b'{"marches":{'  # what precedes a v2 kind's key at the top of the document
ABSENT = "absent"


@dataclass(frozen=True)
class _Pass:
    """One ijson pass: the records under ``prefix``, their kind and their container's layout."""

    prefix: str
    layout: str
    kind_of: Callable[[dict], str]
    v2_kind: str | None = None  # the key of a v2 list, which a later pass may locate


@dataclass(frozen=True)
class _Container:
    format: str
    passes: tuple[_Pass, ...]
    reading: Reading


def parse(path: Path) -> ParsedFile:
    """Check the container of a JSON file and return its record stream (records stream lazily)."""
    container = _sniff(path)
    return ParsedFile(format=container.format, table=RAW_TABLE, records=_records(path, container))


def _records(path: Path, container: _Container) -> Iterator[RawRecord]:
    number = 1
    reading = container.reading
    span = None  # the file span read when the previous pass completed its last record
    for index, one_pass in enumerate(container.passes):
        start, lead, prefix = None, b"", one_pass.prefix
        if index and one_pass.v2_kind:
            located = _locate_list(path, one_pass.v2_kind, span, reading)
            if located == ABSENT:
                continue
            if located:
                (start, prefix), lead = located, V2_LEAD
        layout, kind_of = one_pass.layout, one_pass.kind_of
        produced = 0
        while True:  # restarts with a fallback reading, skipping the records already produced
            try:
                with reading.open(path, start, lead) as stream:
                    source = stream.source
                    # The hot loop: keep it to a few lookups per record.
                    for item in islice(items(stream, prefix), produced, None):
                        if type(item) is not dict:
                            raise _not_a_contract(number + produced, item)
                        yield RawRecord(number + produced, json_record_layout(item, layout),
                                        kind_of(item), to_payload(item))
                        produced += 1
                        span = source.last_span
                break
            except ijson.JSONError as exc:
                if start is not None:  # the whole file parsed in the first pass: a wrong start
                    raise ParseError(f"the {one_pass.v2_kind!r} list cannot be read from its key"
                                     f" ({exc})", f"byte {start}") from exc
                reading = recover(path, exc, reading, last_record=number + produced - 1)
            except ParseError as exc:  # a record orjson cannot write: name it
                place = exc.position or f"record {number + produced}"
                raise ParseError(exc.message, place) from exc
        number += produced


def _locate_list(path: Path, kind: str, span: tuple[int, int] | None,
                 reading: Reading) -> tuple[int, str] | str | None:
    """Where the ``kind`` list of a v2 file starts and its ijson prefix; ABSENT when the file has no
    such key; None when not sure (the caller then reads the whole file).

    The list follows the first pass's list: the key cannot be before the read (``span``) that
    completed that list's last record. Seen before it, the key is inside those records or listed
    twice: not sure. Seen after, it is tried: a key nested in a record makes the parser fail when
    that record closes, within the span; the first candidate parsed past it is the list.
    """
    offsets = key_offsets(path, kind)
    if offsets is None:
        return None
    first_start, first_end = span or (0, 0)
    found = [(offset, what_follows_key(path, offset, kind)) for offset in offsets]
    keys = [(offset, follows) for offset, follows in found if follows != "value"]
    if not keys:
        return ABSENT
    if any(offset < first_start for offset, _ in keys):
        return None
    for offset, follows in keys:
        if follows in ("unsure", "null"):
            return None
        if follows in ("array", "object") and parses_until(
                path, offset, V2_LEAD, max(first_end, offset) + READ_SIZE, reading):
            return offset, f"marches.{kind}.item" if follows == "array" else f"marches.{kind}"
    return None


def _not_a_contract(number: int, item: object) -> ParseError:
    return ParseError(f"record {number} is a {_json_type(item)}, not a contract object",
                      f"record {number}")


# --- container -----------------------------------------------------------------------------------

def _sniff(path: Path) -> _Container:
    """Read the first events to know where the records are; reject what is not DECP."""
    reading = Reading()
    while True:
        with reading.open(path) as stream:
            try:
                fmt, passes = _container(parse_events(stream), stream)
                return _Container(fmt, passes, reading)
            except ijson.JSONError as exc:
                reading = recover(path, exc, reading, last_record=None)
            except StopIteration:
                raise ParseError("empty JSON document", "byte 0") from None


def _container(events, stream: BinaryIO) -> tuple[str, tuple[_Pass, ...]]:
    _, event, value = next(events)
    if event == "start_array":
        return _bare_array(events)
    if event != "start_map":
        raise _unknown(f"the document is a single {_event_type(event)}")
    top_keys = []
    for prefix, event, value in events:
        if prefix == "" and event == "map_key":
            top_keys.append(value)
            if value == "marches":
                break
        elif prefix == "" and event == "end_map":
            shown = ", ".join(repr(key) for key in top_keys[:10]) or "none"
            raise _unknown(f"an object without a 'marches' key (keys: {shown})")
    _, event, _ = next(events)
    if event == "start_array":
        return "decp-2019-json", (_Pass("marches.item", LAYOUT_2019, kind_2019),)
    if event == "start_map":
        return _v2_container(events, stream)
    raise _unknown(f"'marches' is a {_event_type(event)},"
                   " expected an array (2019) or an object (v2)")


def _v2_container(events, stream: BinaryIO) -> tuple[str, tuple[_Pass, ...]]:
    """Kinds found under ``marches`` within the first SNIFF_BYTES; any other key is refused.

    A kind whose value is a single object (XML converted to JSON) is read as one record. The kind
    written first is read first (the second is then located after it).
    """
    shapes: dict[str, str] = {}
    pending_key = None
    for prefix, event, value in events:
        if prefix == "marches" and event == "map_key":
            if value not in KINDS:
                raise _unknown(f"'marches' holds {value!r};"
                               " expected 'marche' and/or 'contrat-concession'")
            pending_key = value
        elif pending_key and prefix == f"marches.{pending_key}":
            if event not in ("start_array", "start_map", "null"):  # null: none of that kind
                raise _unknown(f"'marches.{pending_key}' is a {_event_type(event)},"
                               " not a list of contracts")
            shapes[pending_key] = event
            pending_key = None
        elif (prefix == "marches" and event == "end_map") or stream.tell() > SNIFF_BYTES:
            break
    order = sorted(KINDS, key=lambda kind: list(shapes).index(kind) if kind in shapes else 2)
    passes = tuple(
        _Pass(f"marches.{kind}" if shapes.get(kind) == "start_map" else f"marches.{kind}.item",
              LAYOUT_V2, lambda _record, kind=kind: kind, v2_kind=kind)
        for kind in order
    )
    return "decp-v2-json", passes


def _bare_array(events) -> tuple[str, tuple[_Pass, ...]]:
    """A top-level array is accepted when its first item is a contract object (e.g. API exports)."""
    prefix, event, value = next(events)
    if event == "end_array":
        raise _unknown("an empty top-level array: no contracts and no DECP container")
    if event != "start_map":
        raise _unknown(f"a top-level array of {_event_type(event)}s, not of contract objects")
    keys = set()
    for prefix, event, value in events:
        if prefix == "item" and event == "map_key":
            keys.add(value)
        elif prefix == "item" and event == "end_map":
            break
    if not looks_like_contract(keys):
        shown = ", ".join(repr(key) for key in sorted(keys)[:10])
        raise _unknown(f"a top-level array of objects that are not contracts (keys: {shown})")
    return "decp-array-json", (_Pass("item", LAYOUT_2019, kind_2019),)


def _unknown(what: str) -> ParseError:
    return ParseError(f"unknown JSON layout: {what}", "byte 0")


def _event_type(event: str) -> str:
    names = {"start_map": "object", "start_array": "array", "map_key": "object"}
    return names.get(event, event)  # boolean, null, number, string keep their name


def _json_type(value: object) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
            type(None): "null"}.get(type(value), type(value).__name__)
