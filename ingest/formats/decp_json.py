"""DECP JSON, both layouts: 2019 (``{"marches": [...]}``) and v2 (``{"marches": {"marche": [...]}}``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import ijson
import orjson

from ingest.formats import ParsedFile, ParseError, RawRecord

RAW_TABLE = "raw.decp_records"
V2_KINDS = ("marche", "contrat-concession")
_MARCHES_OPENING = re.compile(rb'"marches"\s*:\s*([\[{])')


def sniff_layout(head: bytes) -> str | None:
    """'decp-2019' or 'decp-v2' from the opening bytes of a file, None if not DECP JSON."""
    match = _MARCHES_OPENING.search(head)
    if not match:
        return None
    return "decp-2019" if match.group(1) == b"[" else "decp-v2"


def parse(path: Path, layout: str) -> ParsedFile:
    records = _iter_2019(path) if layout == "decp-2019" else _iter_v2(path)
    return ParsedFile(format=f"{layout}-json", table=RAW_TABLE, records=records)


def _kind_2019(item: dict) -> str:
    return "contrat-concession" if "concession" in str(item.get("_type", "")).lower() else "marche"


def _iter_2019(path: Path) -> Iterator[RawRecord]:
    yield from _items(path, "marches.item", "decp-2019", _kind_2019, start=1)


def _iter_v2(path: Path) -> Iterator[RawRecord]:
    # One pass per kind: ijson's C backend builds items far faster than a Python event loop.
    number = 1
    for kind in V2_KINDS:
        for record in _items(path, f"marches.{kind}.item", "decp-v2", lambda _: kind, start=number):
            number = record.number + 1
            yield record


def _items(path: Path, prefix: str, layout: str, kind_of, start: int) -> Iterator[RawRecord]:
    number = start
    with path.open("rb") as stream:
        try:
            for item in ijson.items(stream, prefix, use_float=True):
                if not isinstance(item, dict):
                    raise ParseError(f"expected a contract object, found {type(item).__name__}",
                                     f"record {number}")
                yield RawRecord(number, layout, kind_of(item), orjson.dumps(item))
                number += 1
        except ijson.JSONError as exc:
            raise ParseError(f"invalid JSON ({exc})",
                             f"byte {stream.tell()}, after record {number - 1}") from exc
