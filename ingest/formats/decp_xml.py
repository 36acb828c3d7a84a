"""DECP XML of both schemas (v1.5 "2019" and v2), streamed with lxml.etree.iterparse.

Each ``<marche>`` / ``<contrat-concession>`` becomes one JSON record shaped like the JSON layout of
its schema (lists where the XSD repeats an element, see ``decp_layouts``). Values stay the text the
file holds (``"575000"``, ``"oui"``): staging reads text and numbers alike. Documents with a DOCTYPE
are refused: entity declarations can expand without bound or read other files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from ingest.formats import ParsedFile, ParseError, RawRecord
from ingest.formats.decp_layouts import (
    KINDS,
    LAYOUT_V2,
    WRAPPED_OBJECTS,
    WRAPPED_VALUES,
    WRAPPER_ALIASES,
    xml_record_layout,
)
from ingest.formats.encoding import first_invalid_utf8, invalid_utf8_message, to_payload

RAW_TABLE = "raw.decp_records"
ROOT_TAGS = ("marches", *KINDS)
PROLOG_BYTES = 64 * 1024
XSI_NAMESPACE = "{http://www.w3.org/2001/XMLSchema-instance}"
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_LXML_PLACE = re.compile(r",? line \d+, column \d+.*$")  # lxml repeats the place in its message


class _Repeated(list):
    """Values of a child element that repeats where the schema does not say so: all kept."""


def parse(path: Path) -> ParsedFile:
    _refuse_doctype(path)
    peek = _records(path)
    first = next(peek, None)  # the format names the layout of the first record
    peek.close()
    fmt = f"{first.layout}-xml" if first else "decp-xml"
    return ParsedFile(format=fmt, table=RAW_TABLE, records=_records(path))


def _refuse_doctype(path: Path) -> None:
    with path.open("rb") as stream:
        head = stream.read(PROLOG_BYTES)
    root_start = _ROOT_START.search(head)
    prolog = head[:root_start.start()] if root_start else head
    for marker in (b"<!DOCTYPE", b"<!ENTITY"):
        if marker in prolog:
            raise _doctype_error(f"byte {prolog.index(marker)}")


def _doctype_error(position: str) -> ParseError:
    return ParseError("XML with a DOCTYPE/ENTITY declaration refused (entities could expand without"
                      " bound or read external files)", position)


def _records(path: Path) -> Iterator[RawRecord]:
    context = etree.iterparse(
        str(path), events=("start", "end"), resolve_entities=False, no_network=True,
        load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True,
    )
    root = None
    single_record = False  # a document whose root is one <marche> (v1.5 examples)
    number = 0
    try:
        for event, element in context:
            if root is None:
                root = element
                single_record = _check_root(root) in KINDS
            if event == "start":
                continue
            parent = element.getparent()
            if (element is not root) if single_record else (parent is not root):
                continue
            tag = _local(element.tag)
            if tag not in KINDS:
                raise ParseError(f"unexpected <{tag}> under <{_local(root.tag)}>: expected <marche>"
                                 " or <contrat-concession>", f"line {element.sourceline}")
            number += 1
            yield _record(number, tag, element)
            element.clear()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise _xml_error(path, exc, number) from exc


def _check_root(root) -> str:
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _doctype_error("before the root element")
    if _local(root.tag) not in ROOT_TAGS:
        raise ParseError(f"unknown XML layout: root element <{_local(root.tag)}>,"
                         " expected <marches>", f"line {root.sourceline}")
    return _local(root.tag)


def _record(number: int, kind: str, element) -> RawRecord:
    children = {_local(child.tag) for child in element}
    layout = xml_record_layout(children)
    return RawRecord(number, layout, kind, to_payload(_object(element, layout)))


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _convert(element, layout: str) -> object:
    tag = _local(element.tag)
    if len(element) == 0 and not _attributes(element):
        empty = _empty_list(tag, layout, element.text)
        return element.text or "" if empty is None else empty
    listed = _as_list(tag, element, layout)
    return listed if listed is not None else _object(element, layout)


def _object(element, layout: str) -> dict:
    """Children as keys; attributes as "@name"; text beside children as "#text" (never dropped)."""
    result: dict[str, object] = dict(_attributes(element))
    if len(element) == 0 or (element.text and element.text.strip()):
        result["#text"] = element.text or ""
    for child in element:
        key, value = _local(child.tag), _convert(child, layout)
        if key not in result:
            result[key] = value
        elif isinstance(result[key], _Repeated):
            result[key].append(value)
        else:
            result[key] = _Repeated([result[key], value])
    return result


def _attributes(element) -> dict[str, str]:
    return {f"@{_local(name)}": value for name, value in element.attrib.items()
            if not name.startswith(XSI_NAMESPACE)}


def _as_list(tag: str, element, layout: str) -> object | None:
    """A list wrapper shaped like the JSON of its layout, or None when ``element`` is not one."""
    if _attributes(element) or (element.text and element.text.strip()):
        return None
    names = {_local(child.tag) for child in element}
    if tag in WRAPPED_VALUES and names == {WRAPPED_VALUES[tag]}:
        values = [_convert(child, layout) for child in element]
        return {WRAPPED_VALUES[tag]: values} if layout == LAYOUT_V2 else values
    if tag not in WRAPPED_OBJECTS:
        return None
    if len(names) != 1 or not names <= {WRAPPED_OBJECTS[tag], *WRAPPER_ALIASES.get(tag, ())}:
        return None
    if layout == LAYOUT_V2:
        return [{_local(child.tag): _convert(child, layout)} for child in element]
    return [_convert(child, layout) for child in element]


def _empty_list(tag: str, layout: str, text: str | None) -> object | None:
    """``<modifications/>``: an empty list (v2 value lists: ``{"technique": []}``)."""
    if text and text.strip():
        return None
    if tag in WRAPPED_VALUES:
        return {WRAPPED_VALUES[tag]: []} if layout == LAYOUT_V2 else []
    return [] if tag in WRAPPED_OBJECTS else None


def _xml_error(path: Path, exc: etree.XMLSyntaxError, last_record: int) -> ParseError:
    line, column = exc.position if exc.position else (exc.lineno, 0)
    place = f"line {line}, column {column}, after record {last_record}"
    message = _LXML_PLACE.sub("", str(getattr(exc, "msg", None) or exc))
    if "encoding" in message.lower() or "utf-8" in message.lower():
        invalid = first_invalid_utf8(path)
        if invalid:
            return ParseError(invalid_utf8_message(invalid[1]), f"byte {invalid[0]} ({place})")
    return ParseError(f"invalid XML ({message})", place)
