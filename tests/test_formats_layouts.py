"""The layout tables agree with the official XSDs; detection and container checks on small inputs
derived from the real files (no database needed)."""

from __future__ import annotations

import json

import orjson
import pytest
from lxml import etree

from ingest.formats import ParseError, open_records
from ingest.formats.decp_layouts import (
    V2_ONLY_FIELDS,
    WRAPPED_OBJECTS,
    WRAPPED_VALUES,
    WRAPPER_ALIASES,
)
from tests.conftest import shared_file

XS = "{http://www.w3.org/2001/XMLSchema}"
XSD_2019 = ("decp_schema_v1.5/marches.xsd", "decp_schema_v1.5/marches-dgfip.xsd")
XSD_V2 = ("decp_schema_v2/schema_decp_v2.0.2.xsd",)


def xsd_structure(relative: str) -> tuple[dict, dict]:
    """(repeating (parent, child) -> child is a simple value, children by parent) from one XSD."""
    repeats, children = {}, {}

    def walk(node, parent):
        for child in node:
            if child.tag != f"{XS}element":
                walk(child, parent)
                continue
            name = child.get("name") or child.get("ref")
            container = child.getparent()
            repeated = child.get("maxOccurs", "1") != "1" or container.get("maxOccurs", "1") != "1"
            if repeated and parent != "marches":
                repeats[(parent, name)] = child.find(f"{XS}complexType") is None
            children.setdefault(parent, set()).add(name)
            walk(child, name)

    walk(etree.parse(str(shared_file(relative))).getroot(), None)
    return repeats, children


def test_list_wrappers_are_the_repeating_elements_of_the_xsds():
    found = {}
    for relative in XSD_2019 + XSD_V2:
        found.update(xsd_structure(relative)[0])
    ours = {(parent, child): False for parent, child in WRAPPED_OBJECTS.items()}
    ours |= {(parent, child): True for parent, child in WRAPPED_VALUES.items()}
    assert ours == found
    assert all(parent in WRAPPED_OBJECTS for parent in WRAPPER_ALIASES)


def test_v2_only_fields_are_the_fields_the_2019_schemas_lack():
    def fields(relatives):
        result = set()
        for relative in relatives:
            children = xsd_structure(relative)[1]
            result |= children["marche"] | children["contrat-concession"]
        return result

    assert V2_ONLY_FIELDS == fields(XSD_V2) - fields(XSD_2019)
    assert "considerationsSociales" in V2_ONLY_FIELDS and "acheteur" not in V2_ONLY_FIELDS


# --- detection -----------------------------------------------------------------------------------


def records_of(path) -> list:
    return list(open_records(path).records)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("utf16.json", '{"marches": []}'.encode("utf-16"), "UTF-16"),
        ("spaces.json", b"  \n\t ", "only whitespace"),
        ("fake.parquet", b'{"marches": []}', "not a Parquet file"),
        ("notes.txt", b"Some notes about DECP\nsecond line\n", "unknown format for a .txt file"),
        ("other.csv", b"a,b,c\n1,2,3\n", "unknown format for a .csv file"),
        (
            "schema.xml",
            b'<?xml version="1.0"?><schema><element/></schema>',
            "root element <schema>",
        ),
        ("number.json", b"42", "unknown format for a .json file: starts with b'42'"),
        ("string_marches.json", b'{"marches": "none"}', "'marches' is a string"),
        (
            "v2_other_key.json",
            b'{"marches": {"marche": [], "avenant": []}}',
            "'marches' holds 'avenant'",
        ),
        ("empty_array.json", b"[]", "empty top-level array"),
    ],
)
def test_unknown_inputs_are_refused_saying_what_was_seen(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ParseError) as raised:
        records_of(path)
    assert message in str(raised.value) and raised.value.position


def test_xml_with_something_else_under_marches_is_refused(tmp_path):
    content = shared_file("decp_schema_v2/xml_Marche.xml").read_bytes()
    path = tmp_path / "extra.xml"
    path.write_bytes(content.replace(b"</marches>", b"<total>2</total></marches>"))
    with pytest.raises(ParseError) as raised:
        records_of(path)
    assert "unexpected <total> under <marches>" in str(raised.value)
    line = content[: content.rindex(b"</marches>")].count(b"\n") + 1
    assert raised.value.position == f"line {line}"


def test_namespaced_xml_keeps_local_names(tmp_path):
    content = shared_file("decp_schema_v2/xml_Marche.xml").read_bytes()
    path = tmp_path / "namespaced.xml"
    path.write_bytes(content.replace(b"<marches>", b'<marches xmlns="urn:example:decp">', 1))
    plain = tmp_path / "plain.xml"
    plain.write_bytes(content)
    assert [r.payload for r in records_of(path)] == [r.payload for r in records_of(plain)]


def test_xml_repeats_outside_the_schema_are_all_kept(tmp_path):
    """Two <objet> where the schema allows one: both values kept, as a list."""
    content = shared_file("decp_schema_v1.5/xml_mar-avec-modifications.xml").read_bytes()
    path = tmp_path / "double.xml"
    path.write_bytes(content.replace(b"<nature>", b"<objet>second objet</objet><nature>", 1))
    [record] = records_of(path)
    payload = orjson.loads(record.payload)
    assert payload["objet"] == ["second objet", "Entretien des jardins municipaux"] or payload[
        "objet"
    ] == ["Entretien des jardins municipaux", "second objet"]


def test_v2_kind_written_as_a_single_object_is_one_record(tmp_path):
    document = json.loads(
        shared_file("decp_schema_v2/json_marches_avec_modifications.json").read_text()
    )
    single = {"marches": {"marche": document["marches"]["marche"][0]}}
    path = tmp_path / "single.json"
    path.write_text(json.dumps(single, ensure_ascii=False))
    [record] = records_of(path)
    assert (record.kind, record.layout) == ("marche", "decp-v2")
    assert orjson.loads(record.payload) == document["marches"]["marche"][0]


def test_concession_without_type_is_recognised_in_2019_arrays():
    records = records_of(shared_file("decp_schema_v1.5/json_cc-basique.json"))
    assert [(r.kind, r.layout) for r in records] == [("contrat-concession", "decp-2019")]


def test_doctype_after_a_long_prolog_is_still_refused(tmp_path):
    """The quick prolog check reads 64 KB; lxml's own DOCTYPE information catches the rest."""
    content = shared_file("decp_schema_v2/xml_Marche.xml").read_bytes()
    padding = b"<!--" + b" " * 70_000 + b"-->\n"
    doctype = b'<!DOCTYPE marches [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    path = tmp_path / "late_doctype.xml"
    path.write_bytes(padding + doctype + content.replace(b"<ccag>Travaux", b"<ccag>&x;", 1))
    with pytest.raises(ParseError) as raised:
        records_of(path)
    assert "DOCTYPE" in str(raised.value) and raised.value.position == "before the root element"


# --- v2 files: the second list is read from its key when that is certain ------------------------


def v2_records() -> tuple[list[dict], list[dict]]:
    """Official v2 marchés (repeated past several read blocks) and concessions, with their ids."""
    marches = json.loads(
        shared_file("decp_schema_v2/json_marches_avec_modifications.json").read_text()
    )["marches"]["marche"]
    concessions = json.loads(shared_file("decp_schema_v2/json_concessions.json").read_text())[
        "marches"
    ]["contrat-concession"]
    many = [
        dict(record, id=f"{record['id']}-{index}") for index in range(300) for record in marches
    ]
    return many, concessions


def write_v2(path, members: list[tuple[str, list[dict]]]) -> list[tuple[str, dict]]:
    """A v2 document whose ``marches`` object holds ``members`` in this order (keys may repeat);
    returns the expected (kind, record) stream in file order."""
    body = ",\n".join(
        f'"{kind}": ' + json.dumps(records, ensure_ascii=False, indent=1)
        for kind, records in members
    )
    path.write_text('{"marches": {' + body + "}}", encoding="utf-8")
    return [(kind, record) for kind, records in members for record in records]


def read_back(path) -> list[tuple[str, dict]]:
    return [(record.kind, orjson.loads(record.payload)) for record in records_of(path)]


@pytest.mark.parametrize("order", ["marches first", "concessions first", "repeated keys"])
def test_v2_lists_in_any_order_give_every_record_once(order, tmp_path):
    marches, concessions = v2_records()
    members = {
        "marches first": [("marche", marches), ("contrat-concession", concessions)],
        "concessions first": [("contrat-concession", concessions), ("marche", marches)],
        "repeated keys": [
            ("marche", marches[:100]),
            ("contrat-concession", concessions[:1]),
            ("marche", marches[100:]),
            ("contrat-concession", concessions[1:]),
        ],
    }[order]
    path = tmp_path / "v2.json"
    expected = write_v2(path, members)
    got = read_back(path)
    assert sorted(map(repr, got)) == sorted(map(repr, expected)) and len(got) == len(expected)


@pytest.mark.parametrize("where", [0, -1])
def test_v2_key_nested_inside_a_record_is_not_taken_for_the_list(where, tmp_path):
    """A marché carrying a field named "contrat-concession" (first or last of its list): its
    value stays in the record and is not read as concessions."""
    marches, concessions = v2_records()
    marches[where] = dict(marches[where], **{"contrat-concession": [{"id": "not a concession"}]})
    path = tmp_path / "nested.json"
    expected = write_v2(path, [("marche", marches), ("contrat-concession", concessions)])
    assert read_back(path) == expected


def test_v2_key_written_with_escapes_is_still_found(tmp_path):
    marches, concessions = v2_records()
    path = tmp_path / "escaped.json"
    expected = write_v2(path, [("marche", marches), ("contrat-concession", concessions)])
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            '"contrat-concession":', '"contrat\\u002dconcession":'
        ),
        encoding="utf-8",
    )
    assert read_back(path) == expected


def test_v2_file_without_concessions_and_the_word_as_a_value(tmp_path):
    marches, _ = v2_records()
    marches[-1] = dict(marches[-1], objet="contrat-concession")
    path = tmp_path / "marches_only.json"
    expected = write_v2(path, [("marche", marches)])
    assert read_back(path) == expected
