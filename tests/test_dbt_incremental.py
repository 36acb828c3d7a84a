"""Incremental DECP models: after one more load, an incremental `dbt build` gives the same warehouse as a full
rebuild.

Warehouse A: every fixture file loaded and built, then the extra files loaded and built incrementally. Warehouse B:
the same files loaded in the same order (so the same load ids), built with --full-refresh. Every table of the
marts, the DECP intermediate tables and the indicators summed from the incremental groups by buyer must hold the
same rows in both: EXCEPT ALL in both directions.

The extra files are made at test time from real fixture files so that the batch reaches every path of the
incremental logic: contracts published again with a modification (new versions, another kept publication), a
buyer + id published for another year (the id becomes reused across years: the contract keys of the records
already processed change), records without buyer (rejected), new contracts, and decp.info rows published again
(tabular staging, publications grouped by load). Then a SIRENE extract is loaded in both warehouses and
warehouse A is built incrementally once more (a batch without DECP load in which every supplier's size changes)
and warehouse B in full again: the two are compared after each stage.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import psycopg
import pytest

from ingest import sirene
from ingest.loader import load_file
from orcp import db, transform
from tests.conftest import SHARED_DATA, _drop_database, shared_file
from tests.test_indicators_decp import supplier_sizes, write_sirene_units

FIXTURE_FILES = ["decp_real/*.json", "decp_quirks/*.json", "decp_schema_v1.5/json_*.json",
                 "decp_schema_v2/json_*.json", "decp_tabular/*.csv"]
# the indicators summed from the incremental groups by buyer (models/intermediate/indicators)
GROUPED_INDICATORS = ["competition", "environmental_clauses", "innovation", "local_retention", "order_book",
                      "sme_access", "social_clauses"]
# data_completeness reads incremental groups too (compared in the intermediate schema), but its days since the last
# publication count from the load times, which differ between the two warehouses
SELECTION = ["--select", "+tag:marts ref_quality_flags +data_completeness " + " ".join("+" + m for m in GROUPED_INDICATORS),
             "--exclude-resource-type", "unit_test"]
SCHEMAS = ["marts", "intermediate", "indicators"]
# bookkeeping of the incremental runs themselves: different by design between the two warehouses
BOOKKEEPING = {"int_decp__load_batches", "int_decp__batch", "int_decp__batch_base_keys",
               "int_decp__batch_contract_keys", "decp_batch_watermarks", "int_indicators__batch_buyers"}
# when each file was loaded: the two warehouses loaded them at different times
LOAD_TIMES = {"rpt_decp_load_reconciliation": {"loaded_at"}, **{i: {"as_of_date"} for i in GROUPED_INDICATORS}}
# when a dimension member's attributes last changed: the full rebuild saw every member change in its one batch
CHANGE_BATCHES = {"dim_buyer": {"attributes_batch_id"}, "dim_supplier": {"attributes_batch_id"}}


class Warehouses(NamedTuple):
    incremental_url: str
    full_url: str
    contracts_before: int
    after_extra: dict  # batch_state() right after the incremental build of the extra loads
    sirens: set[str]  # the companies (SIREN) of the SIRENE extract loaded last


def query(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def unique_key_records(records: list[dict]) -> list[dict]:
    """Records whose buyer + id appear once in the file."""
    keys = Counter((r["acheteur"]["id"], r["id"]) for r in records)
    return [r for r in records if keys[(r["acheteur"]["id"], r["id"])] == 1]


def make_extra_files(folder: Path) -> list[Path]:
    real = shared_file("decp_real/decp2019_e-marchespublics_2019-04-03.json")
    records = unique_key_records(json.loads(real.read_text())["marches"])
    extra = []
    for record in copy.deepcopy(records[:5]):  # published again with a modification
        record["modifications"] = [{"objetModification": "Avenant 1", "montant": 2 * record["montant"],
                                    "dateNotificationModification": "2019-06-01",
                                    "datePublicationDonneesModification": "2019-06-05"}]
        extra.append(record)
    for record in copy.deepcopy(records[5:8]):  # the same buyer + id for a contract notified another year
        record["dateNotification"] = "2023-02-01"
        record["montant"] = 12345
        extra.append(record)
    for record in copy.deepcopy(records[8:10]):  # no buyer: rejected
        del record["acheteur"]
        extra.append(record)
    for number, record in enumerate(copy.deepcopy(records[10:13])):  # new contracts
        record["id"] = f"H4-NEW-{number}"
        extra.append(record)
    json_path = folder / "extra_republished.json"
    json_path.write_text(json.dumps({"marches": extra}, ensure_ascii=False))

    tabular = shared_file("decp_tabular/decp_info_tabular_extract_2024H2_travaux_cpv4521.csv")
    lines = tabular.read_text(encoding="utf-8").splitlines(keepends=True)
    rows = list(csv.reader(io.StringIO("".join(lines))))
    assert len(rows) > 12
    csv_path = folder / "extra_decp_info_rows.csv"
    csv_path.write_text("".join(lines[:12]), encoding="utf-8")  # header + 11 rows published again
    return [json_path, csv_path, make_supplier_move(folder, tabular)]


MOVED_SUPPLIER = "41312760600023"  # in 28 rows of the decp.info extract, for 17 buyers, all in département 34


def make_supplier_move(folder: Path, tabular: Path) -> Path:
    """30 new contracts of one buyer with MOVED_SUPPLIER placed in the Nord: its most frequent département, hence
    its location in dim_supplier, changes, and with it local_retention for buyers this batch does not touch."""
    with tabular.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        fields, template = reader.fieldnames, next(r for r in reader if r["titulaire_id"] == MOVED_SUPPLIER)
    path = folder / "extra_supplier_moved.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        for number in range(30):
            writer.writerow({**template, "uid": f"{template['uid']}-moved-{number}", "id": f"MOVED-{number}",
                             "titulaire_departement_code": "59", "titulaire_region_code": "32"})
    return path


def fixture_paths() -> list[Path]:
    paths = [path for pattern in FIXTURE_FILES for path in sorted(SHARED_DATA.glob(pattern))]
    if not paths:
        pytest.skip("shared fixture files not available")
    return paths


def load_all(url: str, paths: list[Path]) -> None:
    for path in paths:
        load_file(path, "test", database_url=url)


def load_sirene(url: str, sizes: dict[str, str], folder: Path) -> None:
    """A SIRENE extract giving the decp.info suppliers a size (tests/test_indicators_decp.py)."""
    units = write_sirene_units(folder / "StockUniteLegale_utf8.csv", sizes)
    load = sirene.load(units, sirene.Identifiers.from_values(sizes), database_url=url, extract_dir=folder / "extract")
    assert load.result.status == "loaded" and load.kept == len(sizes)


def build(url: str, *flags: str) -> transform.TransformResult:
    result = transform.run_dbt(["build", *SELECTION, *flags], url)
    assert result.succeeded, result.describe()
    return result


@pytest.fixture(scope="module")
def warehouses(module_warehouse_url, pg_admin_url, tmp_path_factory):
    full_name = f"orcp_test_{uuid.uuid4().hex[:10]}"
    full_url = db.create_database(pg_admin_url, full_name)
    try:
        db.init_warehouse(full_url)
        paths, extra = fixture_paths(), make_extra_files(tmp_path_factory.mktemp("extra"))
        with pytest.MonkeyPatch.context() as patch:  # a private dbt target dir: no clash with parallel runs
            patch.setenv("ORCP_DATA_DIR", str(tmp_path_factory.mktemp("orcp-data")))
            from orcp.settings import get_settings
            get_settings.cache_clear()
            incremental_url = module_warehouse_url
            load_all(incremental_url, paths)
            build(incremental_url)
            contracts_before = query(incremental_url, "select count(*) from marts.fct_contracts")[0][0]
            load_all(incremental_url, extra)
            build(incremental_url)
            load_all(full_url, paths + extra)
            build(full_url, "--full-refresh")
            after_extra = batch_state(incremental_url) | {
                "comparison": {schema: compare(incremental_url, full_url, schema) for schema in SCHEMAS}}
            sizes = supplier_sizes()  # then the same SIRENE extract in both, built incrementally and in full
            for url in (incremental_url, full_url):
                load_sirene(url, sizes, tmp_path_factory.mktemp("sirene"))
            build(incremental_url)
            build(full_url, "--full-refresh")
            get_settings.cache_clear()
        yield Warehouses(incremental_url, full_url, contracts_before, after_extra, set(sizes))
    finally:
        _drop_database(pg_admin_url, full_name)


def tables(url: str, schema: str) -> list[str]:
    return [row[0] for row in query(url, """
        select table_name from information_schema.tables
        where table_schema = %s and table_type = 'BASE TABLE' order by table_name""", schema)]


def columns(url: str, schema: str, table: str) -> list[str]:
    return [row[0] for row in query(url, """
        select column_name from information_schema.columns
        where table_schema = %s and table_name = %s order by ordinal_position""", schema, table)]


def differences(incremental_url: str, full_url: str, schema: str, table: str) -> tuple[int, int, int]:
    """(rows, rows only in the incremental build, rows only in the full build): the full build's table is copied
    next to the incremental one, then compared with EXCEPT ALL both ways."""
    compared = ", ".join(f'"{c}"' for c in columns(incremental_url, schema, table)
                         if c not in LOAD_TIMES.get(table, set()) | CHANGE_BATCHES.get(table, set()))
    with psycopg.connect(incremental_url) as target, psycopg.connect(full_url) as source:
        target.execute(f'create temp table full_build (like "{schema}"."{table}")')
        with source.cursor().copy(f'copy "{schema}"."{table}" to stdout') as out, \
                target.cursor().copy("copy full_build from stdin") as into:
            for chunk in out:
                into.write(chunk)
        only_incremental, only_full, rows = target.execute(f"""
            select (select count(*) from (select {compared} from "{schema}"."{table}"
                                          except all select {compared} from full_build) as a),
                   (select count(*) from (select {compared} from full_build
                                          except all select {compared} from "{schema}"."{table}") as b),
                   (select count(*) from "{schema}"."{table}")""").fetchone()
    return rows, only_incremental, only_full


def batch_state(url: str) -> dict:
    """What the incremental build of the extra loads did, read right after it (the SIRENE build comes next)."""
    state = {}
    state["is_full"], state["pending"] = query(url, "select is_full_rebuild, load_ids from intermediate.int_decp__batch")[0]
    state["extra_loads"] = [row[0] for row in query(url, "select load_id from meta.loads order by load_id desc limit 3")]
    state["keys"], state["contracts"] = query(url, """
        select (select count(*) from intermediate.int_decp__batch_contract_keys),
               (select count(*) from marts.fct_contracts)""")[0]
    # the buyer + id notified another year: its records already processed now carry the year in their key
    state["reused"] = query(url, """
        select count(*) from intermediate.int_decp__record_keys
        where id_reused_across_years and load_id < (select max(load_id) from meta.loads) - 2""")[0][0]
    # the supplier moved: the groups of its other buyers were recomputed although the batch has none of their records
    state["moved"] = query(url, """
        select suppliers.departement_code, count(distinct contracts.buyer_key),
               count(distinct contracts.buyer_key) filter (where contracts.buyer_key in
                   (select buyer_key from intermediate.int_indicators__batch_buyers))
        from marts.dim_supplier as suppliers
        join marts.fct_contract_suppliers as contract_suppliers using (supplier_key)
        join marts.fct_contracts as contracts using (contract_sk)
        where suppliers.supplier_siret = %s
        group by suppliers.departement_code""", MOVED_SUPPLIER)
    state["rejected"] = query(url, """
        select count(*) from intermediate.int_decp__record_dispositions
        where disposition = 'rejected' and load_id = (select max(load_id) - 2 from meta.loads)""")[0][0]
    state["sirene_sizes"] = sirene_sized_suppliers(url)
    return state


def sirene_sized_suppliers(url: str) -> int:
    return query(url, "select count(*) from marts.dim_supplier where company_size_source = 'sirene'")[0][0]


def test_the_extra_loads_were_processed_incrementally(warehouses):
    state = warehouses.after_extra
    assert not state["is_full"] and sorted(state["pending"]) == sorted(state["extra_loads"])
    assert 0 < state["keys"] < state["contracts"] / 4  # a slice was recomputed, not everything
    assert state["contracts"] > warehouses.contracts_before  # the new contracts arrived
    assert state["reused"] >= 3
    assert len(state["moved"]) == 1
    departement, buyers, recomputed = state["moved"][0]
    assert departement == "59" and buyers == recomputed >= 10  # the new rows name one buyer
    assert state["rejected"] == 2


def test_a_sirene_load_recomputes_the_dimensions_incrementally(warehouses):
    """The SIRENE extract arrives after the DECP loads: its batch has no DECP load, yet every supplier's size is
    recomputed (and the equality tests below show that the whole warehouse matches a full rebuild)."""
    url = warehouses.incremental_url
    is_full, pending, sirene_changed = query(url, """
        select is_full_rebuild, load_ids, is_sirene_changed from intermediate.int_decp__batch""")[0]
    assert not is_full and sirene_changed and pending == []
    assert warehouses.after_extra["sirene_sizes"] == 0
    in_extract = query(url, "select count(*) from marts.dim_supplier where left(supplier_siret, 9) = any(%s)",
                       list(warehouses.sirens))[0][0]
    assert sirene_sized_suppliers(url) == in_extract > 3000  # every establishment of a company in the extract
    assert sirene_sized_suppliers(warehouses.full_url) == in_extract


def compare(incremental_url: str, full_url: str, schema: str) -> tuple[set[str], set[str], dict]:
    """The tables of `schema` in each warehouse (bookkeeping left out), and differences() of those compared."""
    in_incremental = {t for t in tables(incremental_url, schema) if t not in BOOKKEEPING}
    in_full = {t for t in tables(full_url, schema) if t not in BOOKKEEPING}
    compared = in_incremental & set(GROUPED_INDICATORS) if schema == "indicators" else in_incremental & in_full
    return in_incremental, in_full, {table: differences(incremental_url, full_url, schema, table)
                                     for table in sorted(compared)}


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("stage", ["after the extra loads", "after the SIRENE load"])
def test_incremental_build_equals_full_rebuild(warehouses, stage, schema):
    if stage == "after the extra loads":
        in_incremental, in_full, found = warehouses.after_extra["comparison"][schema]
    else:
        in_incremental, in_full, found = compare(warehouses.incremental_url, warehouses.full_url, schema)
    assert in_incremental == in_full
    if schema == "indicators":
        assert set(found) == set(GROUPED_INDICATORS)
    if schema == "marts":
        assert {"fct_contracts", "fct_contract_suppliers", "fct_contract_modifications", "dim_buyer", "dim_supplier",
                "rpt_decp_load_reconciliation", "agg_contracts_by_year_and_nature"} <= set(found)
    assert {t: d for t, d in found.items() if d[1] or d[2]} == {}
    assert found.get("fct_contracts", (1,))[0] > 0


def test_reconciliation_balances_after_the_incremental_build(warehouses):
    incremental_url = warehouses.incremental_url
    unbalanced = query(incremental_url, """
        select load_id from marts.rpt_decp_load_reconciliation
        where unaccounted_records <> 0 or raw_records <> loaded_records""")
    assert unbalanced == []
