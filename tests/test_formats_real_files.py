"""Every real DECP file (and official example) loads with load_file; counts, formats and values are
checked against an independent reading of the file (json / csv / lxml), not against our parsers."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from lxml import etree

from ingest.loader import load_file
from tests.conftest import SHARED_DATA, shared_file

JSON_FILES = {
    "decp_real/decp2019_e-marchespublics_2019-04-03.json": "decp-2019-json",
    "decp_real/decp2019_marches-securises_ville-de-croix-59_2019-2021.json": "decp-2019-json",
    "decp_real/decp2019_pes_dgfip_merged_2019-02.json": "decp-2019-json",
    "decp_quirks/decp_processing_test_2019_quirks.json": "decp-2019-json",
    "decp_quirks/decp_processing_test_2022_quirks.json": "decp-v2-json",
    "decp_quirks/eclaireur_public_decp2022_format_quirks_2024.json": "decp-v2-json",
    "decp_quirks/eclaireur_public_minef_decp2019_flat_quirks.json": "decp-2019-json",
    "decp_schema_v1.5/json_cc-avec-modifications.json": "decp-2019-json",
    "decp_schema_v1.5/json_cc-basique.json": "decp-2019-json",
    "decp_schema_v1.5/json_mar-avec-modifications.json": "decp-2019-json",
    "decp_schema_v1.5/json_mar-basique.json": "decp-2019-json",
    "decp_schema_v1.5/json_paquet-avec-uid.json": "decp-2019-json",
    "decp_schema_v1.5/json_paquet.json": "decp-2019-json",
    "decp_schema_v2/json_concessions.json": "decp-v2-json",
    "decp_schema_v2/json_concessions_avec_modifications.json": "decp-v2-json",
    "decp_schema_v2/json_marches_avec_modifications.json": "decp-v2-json",
    "decp_schema_v2/json_marches_concessions.json": "decp-v2-json",
}
XML_FILES = {
    "decp_schema_v1.5/xml_mar-avec-modifications.xml": "decp-2019-xml",
    "decp_schema_v1.5/xml_paquet.xml": "decp-2019-xml",
    "decp_schema_v2/xml_Contrat-concession-modification.xml": "decp-v2-xml",
    "decp_schema_v2/xml_Contrat-concession.xml": "decp-v2-xml",
    "decp_schema_v2/xml_Marche.xml": "decp-v2-xml",
}
CSV_FILES = {
    "decp_tabular/decp_info_tabular_extract_2024H2_travaux_cpv4521.csv": ("decp-tabular-csv", ","),
    "decp_tabular/minef_decp_v3_marches_valides_sample_2024.csv": ("minef-csv-v3", ";"),
    "decp_tabular/minef_decp_augmente_valides_2019_sample.csv": ("minef-csv-2019", ";"),
}
ZIP_FILE = "decp_real/decp2019_pes_dgfip_files_2019-02.zip"


def test_every_real_data_file_is_covered():
    """A data file added to the shared folders must be added here (the lists above are the test)."""
    listed = set(JSON_FILES) | set(XML_FILES) | set(CSV_FILES) | {ZIP_FILE}
    if not SHARED_DATA.exists():
        pytest.skip("shared data not available")
    present = {
        str(path.relative_to(SHARED_DATA))
        for folder in (
            "decp_real",
            "decp_quirks",
            "decp_schema_v1.5",
            "decp_schema_v2",
            "decp_tabular",
        )
        for path in (SHARED_DATA / folder).iterdir()
        if folder in ("decp_real", "decp_quirks")
        or path.name.startswith(("json_", "xml_", "minef_"))
        or path.suffix == ".csv"
    }
    assert present == listed


# --- independent readings ------------------------------------------------------------------------


def json_records(path: Path) -> list[dict]:
    """The contracts of a DECP JSON file, read by the standard library (which accepts NaN)."""
    document = json.loads(path.read_text(encoding="utf-8-sig"))
    marches = document["marches"]
    if isinstance(marches, list):
        return marches
    return [record for kind in marches for record in marches[kind]]  # in the file's order


def nan_as_text(value):
    """Our documented choice: NaN/Infinity tokens are kept as the strings "NaN"/"Infinity"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: nan_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [nan_as_text(item) for item in value]
    return value


def csv_rows(path: Path, delimiter: str) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream, delimiter=delimiter))


def xml_contracts(path: Path) -> list[etree._Element]:
    root = etree.parse(str(path)).getroot()
    if root.tag in ("marche", "contrat-concession"):
        return [root]
    return [child for child in root if child.tag in ("marche", "contrat-concession")]


def stored(url: str, load_id: int, table: str = "raw.decp_records") -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"select record_number, layout, record_kind, record from {table}"
            " where load_id = %s order by record_number",
            (load_id,),
        ).fetchall()


def load_once(path: Path, url: str, source: str = "test") -> int:
    """The load holding ``path``'s rows: loaded now, or earlier in this module (skipped now)."""
    result = load_file(path, source, database_url=url)
    if result.status == "skipped":
        with psycopg.connect(url) as conn:
            return conn.execute(
                "select load_id from meta.loads where status = 'loaded' and sha256 ="
                " (select sha256 from meta.loads where load_id = %s)",
                (result.load_id,),
            ).fetchone()[0]
    assert (result.status, result.error) == ("loaded", None)
    return result.load_id


def load_row(url: str, load_id: int) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select status, format, records, error from meta.loads where load_id = %s", (load_id,)
        ).fetchone()


# --- JSON ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("relative", sorted(JSON_FILES))
def test_real_json_file_loads_every_record_unchanged(relative, module_warehouse_url):
    path = shared_file(relative)
    expected = json_records(path)

    load_id = load_once(path, module_warehouse_url)

    assert load_row(module_warehouse_url, load_id) == (
        "loaded",
        JSON_FILES[relative],
        len(expected),
        None,
    )
    rows = stored(module_warehouse_url, load_id)
    assert [row[0] for row in rows] == list(range(1, len(expected) + 1))
    # Every value survives: jsonb gives back what the standard library read (key order aside).
    assert [row[3] for row in rows] == [nan_as_text(record) for record in expected]


def test_quirks_survive_exactly(module_warehouse_url):
    """Trailing-space keys, "NC" durations, flat dotted keys, leading zeros, NaN, nested lists."""
    checks = [
        (
            "decp_real/decp2019_marches-securises_ville-de-croix-59_2019-2021.json",
            "record->'lieuExecution' ? 'nom '",
            lambda records: sum("nom " in r["lieuExecution"] for r in records),
        ),
        (
            "decp_real/decp2019_marches-securises_ville-de-croix-59_2019-2021.json",
            "record->>'codeCPV' like '% '",
            lambda records: sum(r["codeCPV"].endswith(" ") for r in records),
        ),
        (
            "decp_quirks/decp_processing_test_2022_quirks.json",
            "record->'dureeMois' = '\"NC\"'",
            lambda records: sum(r["dureeMois"] == "NC" for r in records),
        ),
        (
            "decp_quirks/decp_processing_test_2022_quirks.json",
            "record->'concessionnaires' = '\"NaN\"'",
            lambda records: sum(isinstance(r.get("concessionnaires"), float) for r in records),
        ),
        (
            "decp_quirks/eclaireur_public_minef_decp2019_flat_quirks.json",
            "record ? 'acheteur.id'",
            lambda records: sum("acheteur.id" in r for r in records),
        ),
        (
            "decp_real/decp2019_pes_dgfip_merged_2019-02.json",
            "record->'lieuExecution'->>'code' like '0%'",
            lambda records: sum(r["lieuExecution"]["code"].startswith("0") for r in records),
        ),
        (
            "decp_quirks/decp_processing_test_2019_quirks.json",
            "jsonb_typeof(record->'modifications'->0->'titulaires'->0) = 'array'",
            lambda records: sum(
                isinstance(m.get("titulaires", [None])[0], list)
                for r in records
                for m in r["modifications"][:1]
            ),
        ),
    ]
    loads = {}
    for relative, condition, independent in checks:
        path = shared_file(relative)
        if relative not in loads:
            loads[relative] = load_once(path, module_warehouse_url)
        expected = independent(json_records(path))
        query = "select count(*) from raw.decp_records where load_id = %s and "
        with psycopg.connect(module_warehouse_url) as conn:
            found = conn.execute(query + condition.replace("%", "%%"), (loads[relative],))
            found = found.fetchone()[0]
        assert found == expected > 0, (relative, condition)


def test_mixed_layouts_are_decided_per_record(module_warehouse_url):
    """The 2019 quirks file holds one 2019 record and one v2-shaped record (wrapped modifications,
    origineUE); the v2 quirks file holds a record whose titulaires mix both shapes."""
    path = shared_file("decp_quirks/decp_processing_test_2019_quirks.json")
    load_id = load_once(path, module_warehouse_url)
    layouts = {row[0]: row[1] for row in stored(module_warehouse_url, load_id)}
    expected = {
        number: "decp-v2" if "origineUE" in record else "decp-2019"
        for number, record in enumerate(json_records(path), 1)
    }
    assert layouts == expected == {1: "decp-2019", 2: "decp-v2"}


def test_kinds_follow_the_type_or_the_v2_container(module_warehouse_url):
    for relative in (
        "decp_schema_v1.5/json_paquet.json",
        "decp_schema_v2/json_marches_concessions.json",
    ):
        path = shared_file(relative)
        load_id = load_once(path, module_warehouse_url)
        kinds = Counter(row[2] for row in stored(module_warehouse_url, load_id))
        document = json.loads(path.read_text(encoding="utf-8"))["marches"]
        if isinstance(document, dict):
            expected = Counter({kind: len(items) for kind, items in document.items()})
        else:
            expected = Counter(
                "contrat-concession" if "concession" in r["_type"].lower() else "marche"
                for r in document
            )
        assert kinds == expected and set(kinds) == {"marche", "contrat-concession"}


# --- XML -----------------------------------------------------------------------------------------

EMPTY_LIST_TAGS = ("donneesExecution", "modifications", "titulaires", "concessionnaires")


def leaf_texts(element) -> Counter:
    """Texts of the leaf elements; an empty list wrapper (``<modifications/>``) holds no text."""
    return Counter(
        (child.text or "")
        for child in element.iter()
        if len(child) == 0 and child.tag not in EMPTY_LIST_TAGS
    )


def json_strings(value) -> Counter:
    if isinstance(value, dict):
        return sum((json_strings(item) for item in value.values()), Counter())
    if isinstance(value, list):
        return sum((json_strings(item) for item in value), Counter())
    return Counter([value])


@pytest.mark.parametrize("relative", sorted(XML_FILES))
def test_real_xml_file_loads_every_contract_with_every_value(relative, module_warehouse_url):
    path = shared_file(relative)
    contracts = xml_contracts(path)

    load_id = load_once(path, module_warehouse_url)

    assert load_row(module_warehouse_url, load_id) == (
        "loaded",
        XML_FILES[relative],
        len(contracts),
        None,
    )
    rows = stored(module_warehouse_url, load_id)
    assert [row[2] for row in rows] == [element.tag for element in contracts]
    for row, element in zip(rows, contracts, strict=True):
        # Every leaf text of the element is a string value of the record, as text, nothing more.
        assert json_strings(row[3]) == leaf_texts(element)
        assert row[3]["id"] == element.findtext("id")


def shape(value):
    """The structure of a value: scalars collapsed, lists by their first item."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "scalar"


@pytest.mark.parametrize(
    "xml_file, json_file, kind",
    [
        (
            "decp_schema_v2/xml_Marche.xml",
            "decp_schema_v2/json_marches_avec_modifications.json",
            "marche",
        ),
        (
            "decp_schema_v2/xml_Contrat-concession-modification.xml",
            "decp_schema_v2/json_concessions_avec_modifications.json",
            "contrat-concession",
        ),
        (
            "decp_schema_v1.5/xml_mar-avec-modifications.xml",
            "decp_schema_v1.5/json_mar-avec-modifications.json",
            None,
        ),
    ],
)
def test_xml_records_are_shaped_like_the_json_of_their_schema(
    xml_file, json_file, kind, module_warehouse_url
):
    """Official XML and JSON examples of one schema give records of the same structure."""
    load_id = load_once(shared_file(xml_file), module_warehouse_url)
    from_xml = stored(module_warehouse_url, load_id)[0][3]
    document = json.loads(shared_file(json_file).read_text(encoding="utf-8"))["marches"]
    from_json = document[kind][0] if kind else document[0]
    common = set(from_xml) & set(from_json)
    assert len(common) >= 10
    assert {key: shape(from_xml[key]) for key in common} == {
        key: shape(from_json[key]) for key in common
    }


# --- CSV -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("relative", sorted(CSV_FILES))
def test_real_csv_file_loads_every_row_as_text(relative, module_warehouse_url):
    path = shared_file(relative)
    fmt, delimiter = CSV_FILES[relative]
    expected = csv_rows(path, delimiter)

    load_id = load_once(path, module_warehouse_url)

    assert load_row(module_warehouse_url, load_id) == ("loaded", fmt, len(expected), None)
    rows = stored(module_warehouse_url, load_id, "raw.decp_tabular_rows")
    assert [row[3] for row in rows] == expected  # every value, as the same text ("" included)
    assert {row[2] for row in rows} == {"row"}
    # Record numbers are physical lines: line N of the file is the row stored as record N.
    lines = path.read_text(encoding="utf-8-sig").split("\n")
    first_column = next(iter(expected[0]))
    for number, _, _, record in rows[:: max(1, len(rows) // 50)]:
        line = lines[number - 1]
        assert line.startswith((record[first_column] + delimiter, f'"{record[first_column]}"'))


def test_tabular_codes_keep_leading_zeros_and_markers(module_warehouse_url):
    tabular = shared_file("decp_tabular/decp_info_tabular_extract_2024H2_travaux_cpv4521.csv")
    minef = shared_file("decp_tabular/minef_decp_v3_marches_valides_sample_2024.csv")
    ids = {path: load_once(path, module_warehouse_url) for path in (tabular, minef)}
    rows = csv_rows(tabular, ",")
    minef_rows = csv_rows(minef, ";")
    queries = [
        (
            ids[tabular],
            "record->>'acheteur_id' like '0%%'",
            sum(r["acheteur_id"][:1] == "0" for r in rows),
        ),
        (
            ids[tabular],
            "record->>'acheteur_departement_code' in ('2A', '2B')",
            sum(r["acheteur_departement_code"] in ("2A", "2B") for r in rows),
        ),
        (ids[tabular], "record->>'procedure' = ''", sum(r["procedure"] == "" for r in rows)),
        (
            ids[minef],
            "record->>'attributionAvance' = 'MQ'",
            sum(r["attributionAvance"] == "MQ" for r in minef_rows),
        ),
        (
            ids[minef],
            "record->>'titulaire_id_2' = 'CDL'",
            sum(r["titulaire_id_2"] == "CDL" for r in minef_rows),
        ),
        (
            ids[minef],
            "record->>'id' like 'INX %%'",
            sum(r["id"].startswith("INX ") for r in minef_rows),
        ),
    ]
    with psycopg.connect(module_warehouse_url) as conn:
        for load_id, condition, expected in queries:
            found = conn.execute(
                f"select count(*) from raw.decp_tabular_rows where load_id = %s and {condition}",
                (load_id,),
            ).fetchone()[0]
            assert found == expected > 0, condition
            assert (
                conn.execute(
                    f"select count(*) from raw.decp_tabular_rows where load_id = %s and {condition}"
                    " and jsonb_typeof(record->'acheteur_id') = 'number'",
                    (load_id,),
                ).fetchone()[0]
                == 0
            )


# --- zip -----------------------------------------------------------------------------------------


def test_real_zip_loads_each_member_as_its_own_load(warehouse_url):
    import zipfile

    from ingest.archive_loader import ingest_zip

    path = shared_file(ZIP_FILE)
    with zipfile.ZipFile(path) as archive:
        expected = {
            info.filename: len(json.loads(archive.read(info))["marches"])
            for info in archive.infolist()
            if not info.is_dir()
        }

    results = ingest_zip(path, "pes")

    assert len(results) == len(expected) == 110 and sum(expected.values()) == 233
    assert {r.status for r in results} == {"loaded"}
    with psycopg.connect(warehouse_url) as conn:
        loads = conn.execute(
            "select l.member, l.file_name, l.format, l.records, count(r.*)"
            " from meta.loads l left join raw.decp_records r using (load_id)"
            " group by 1, 2, 3, 4"
        ).fetchall()
    assert {member: count for member, _, _, _, count in loads} == expected
    assert all(
        name == f"{path.name}!{member}" and fmt == "decp-2019-json" and records == count
        for member, name, fmt, records, count in loads
    )
