"""The foundation's promises: idempotent init and ingest, failed files leave nothing, the demo's
published totals equal an independent count over the source file."""

from __future__ import annotations

import csv
import json
import re
import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from ingest.formats import dgp
from ingest.loader import load_file
from orcp import db, pipeline, transform
from tests.conftest import SAMPLE_DATA, _drop_database

SAMPLE = SAMPLE_DATA / "decp2019_e-marchespublics_2019-04-03.json"


def _catalog_snapshot(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns"
            " where table_schema in ('raw', 'meta') order by 1, 2, 3").fetchall() + conn.execute(
            "select nspname from pg_namespace order by 1").fetchall()


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def test_init_twice_changes_nothing(warehouse_url):
    before = _catalog_snapshot(warehouse_url)
    db.init_warehouse(warehouse_url)
    assert _catalog_snapshot(warehouse_url) == before
    roles = _count(warehouse_url, "select count(*) from pg_roles where rolname in "
                                  "('orcp_loader', 'orcp_transformer', 'orcp_analyst', 'orcp_publisher')")
    assert roles == 4


def test_warehouse_databases_sort_bytes_but_keep_unicode_letters(warehouse_url, pg_admin_url, caplog):
    """create_database: collation "C" for speed, the server's character type so that accented letters stay letters;
    init warns about a database made another way."""
    with psycopg.connect(warehouse_url) as conn:
        collation, lowered, is_word = conn.execute("""
            select datcollate, lower('ÉCOLE Œuvre'), 'é' ~ '^\\w$'
            from pg_database where datname = current_database()""").fetchone()
        keys = [row[0] for row in conn.execute("select * from unnest(array['b', 'a', 'É', 'Z', 'é']) order by 1")]
    assert (collation, lowered, is_word) == ("C", "école œuvre", True)
    assert keys == sorted(["b", "a", "É", "Z", "é"])  # code point order, as Python sorts
    assert "collation" not in caplog.text
    name = f"orcp_test_{uuid.uuid4().hex[:10]}"  # a database made another way
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"create database \"{name}\" template template0 encoding 'UTF8' lc_collate 'C.UTF-8'"
                     " lc_ctype 'C.UTF-8'")
    try:
        db.init_warehouse(db.sibling_database_url(pg_admin_url, name))
    finally:
        _drop_database(pg_admin_url, name)
    assert 'collation C.UTF-8: its builds would be about 10 % faster under "C"' in caplog.text


def test_ingest_twice_loads_once(warehouse_url):
    expected = len(json.loads(SAMPLE.read_text())["marches"])
    first = load_file(SAMPLE, "sample", database_url=warehouse_url)
    second = load_file(SAMPLE, "sample", database_url=warehouse_url)
    assert (first.status, first.records) == ("loaded", expected)
    assert second.status == "skipped" and f"load {first.load_id}" in second.error
    assert _count(warehouse_url, "select count(*) from raw.decp_records") == expected == 470
    with psycopg.connect(warehouse_url) as conn:
        rows = conn.execute("select status, records, bytes, sha256 from meta.loads order by load_id").fetchall()
    assert [r[0] for r in rows] == ["loaded", "skipped"]
    assert rows[0][1] == 470 and rows[0][2] == SAMPLE.stat().st_size and rows[0][3] == rows[1][3]


@pytest.mark.parametrize("content, expected_error", [
    (None, "file not found"),
    (b"", "empty file"),
    (b"this is not json", "unknown format"),
    (b'{"marches": [{"id": "1"}, {"id": "2"', "invalid JSON"),
])
def test_bad_file_fails_cleanly(warehouse_url, tmp_path, content, expected_error):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_bytes(content)
    result = load_file(path, "test", database_url=warehouse_url)
    assert result.status == "failed"
    assert "bad.json" in result.error and expected_error in result.error
    assert _count(warehouse_url, "select count(*) from raw.decp_records") == 0
    assert _count(warehouse_url, "select count(*) from meta.loads where status = 'failed'") == 1


def test_truncated_file_leaves_no_rows(warehouse_url, tmp_path):
    data = SAMPLE.read_bytes()
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(data[: len(data) // 2])
    result = load_file(truncated, "test", database_url=warehouse_url)
    assert result.status == "failed" and "truncated.json" in result.error
    assert _count(warehouse_url, "select count(*) from raw.decp_records") == 0


def _clean_id(value) -> str:
    return re.sub(r"[\s\u00a0\u202f.\-/]", "", str(value or "")).upper()


def _usable_amount(value) -> Decimal:
    """The documented amount rules: placeholders, repeated digits, over 3 bn or under 1 EUR add nothing."""
    try:
        amount = Decimal(str(value))
    except (ArithmeticError, ValueError):
        return Decimal(0)
    whole = str(int(amount))
    if amount == 0 or int(amount) == 999_999_999 or re.fullmatch(r"([1-9])\1{4,}", whole):
        return Decimal(0)
    return amount if 1 <= amount <= 3_000_000_000 else Decimal(0)


def _independent_contracts(path: Path) -> dict[tuple, list[dict]]:
    """Contracts of the file by the documented key: buyer SIRET + cleaned id (+ year when the id
    was reused in several years); each with all its published versions."""
    records = json.loads(path.read_text())["marches"]
    years = defaultdict(set)
    for c in records:
        years[(_clean_id(c["acheteur"]["id"]), _clean_id(c["id"]))].add(str(c["dateNotification"])[:4])
    contracts = defaultdict(list)
    for c in records:
        key = (_clean_id(c["acheteur"]["id"]), _clean_id(c["id"]))
        if len(years[key]) > 1:
            key += (str(c["dateNotification"])[:4],)
        contracts[key].append(c)
    return contracts


def test_pipeline_publishes_independent_totals(warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path / "data"))
    db.get_settings.cache_clear()
    pipeline.ingest_step([str(SAMPLE)], fail_on_error=True)
    pipeline.transform_step()
    report = pipeline.check_step()
    published = pipeline.publish_step()
    assert not report.critical_failures and report.docs_index.exists()

    folder = published[0].folder
    with (folder / f"{published[0].name}.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    contracts = _independent_contracts(SAMPLE)
    per_year = defaultdict(int)
    for versions in contracts.values():
        per_year[date.fromisoformat(versions[0]["dateNotification"][:10]).year] += 1
    published_per_year = defaultdict(int)
    for r in rows:
        published_per_year[int(r["notification_year"])] += int(r["contracts"])
    assert published_per_year == per_year
    assert sum(per_year.values()) == len(contracts) == 441  # 470 records, 29 re-publications
    # Which version is current is the warehouse's rule; the total must lie within what the versions allow.
    published_amount = sum(Decimal(r["amount_eur"] or 0) for r in rows)
    low = sum(min(_usable_amount(v.get("montant")) for v in versions) for versions in contracts.values())
    high = sum(max(_usable_amount(v.get("montant")) for v in versions) for versions in contracts.values())
    assert low <= published_amount <= high and high > 0

    package = json.loads((folder / "datapackage.json").read_text())
    assert package["licenses"][0]["name"] == "etalab-2.0"
    assert {f["name"]: f.get("title") for f in package["resources"][0]["schema"]["fields"]}["contracts"] \
        == "Nombre de contrats"
    assert pipeline.publish_step()[0].changed is False  # nothing changed: nothing rewritten


def _built(data_dir: Path, kind: str) -> list[str]:
    results = json.loads((data_dir / "dbt-target" / "run_results.json").read_text())["results"]
    return [r["unique_id"] for r in results if r["unique_id"].startswith(kind + ".")]


def test_unchanged_seeds_are_not_reloaded(warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path / "data"))
    db.get_settings.cache_clear()
    seed_files = sorted(p.stem for p in (transform.DBT_PROJECT_DIR / "seeds").rglob("*.csv"))
    transform.run_dbt(["seed"], warehouse_url)  # seeds there, but not loaded by a successful build
    assert sorted(s.rsplit(".", 1)[1] for s in _built(tmp_path / "data", "seed")) == seed_files
    fingerprint = transform.seeds_fingerprint()
    assert not transform._seeds_loaded(warehouse_url, fingerprint)

    transform.build(warehouse_url)
    assert len(_built(tmp_path / "data", "seed")) == len(seed_files)
    assert transform._seeds_loaded(warehouse_url, fingerprint)
    assert not transform._seeds_loaded(warehouse_url, "0" * 64)  # other seed files: reloaded

    load_file(SAMPLE, "test", database_url=warehouse_url)
    transform.build(warehouse_url)
    assert _built(tmp_path / "data", "seed") == []  # unchanged: skipped, and the build still succeeds
    assert _built(tmp_path / "data", "unit_test") == [] and _built(tmp_path / "data", "test")  # as in production
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute("drop table reference.ref_quality_flags cascade")
    assert not transform._seeds_loaded(warehouse_url, fingerprint)  # a seed table is gone: reloaded


def test_a_build_runs_only_what_the_new_loads_change(warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path / "data"))
    db.get_settings.cache_clear()
    everything = transform.build(warehouse_url)
    assert everything.counts["success"] > 50
    models = set(_built(tmp_path / "data", "model"))

    idle = transform.build(warehouse_url)  # nothing loaded since: nothing to run
    assert idle.succeeded and idle.counts == {} and "nothing to run" in idle.describe()
    load_file(SAMPLE, "test", database_url=warehouse_url)
    assert transform.changed_sources(warehouse_url, transform.project_fingerprint()) == ["decp", "orcp_meta"]
    transform.build(warehouse_url)
    decp_models = set(_built(tmp_path / "data", "model"))
    assert {"model.orcp.fct_contracts", "model.orcp.dim_buyer", "model.orcp.sme_access"} <= decp_models
    assert not {"model.orcp.fct_payment_delays", "model.orcp.dim_cpv", "model.orcp.public_works_outlook"} & decp_models
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from marts.fct_contracts").fetchone()[0] > 0

    # another project (a model or a var changed): everything again
    monkeypatch.setattr(transform, "project_fingerprint", lambda: "0" * 64)
    dgp.load(SAMPLE_DATA / "dgp", database_url=warehouse_url)
    transform.build(warehouse_url)
    assert set(_built(tmp_path / "data", "model")) == models


def test_tables_of_retired_models_are_dropped_unless_something_depends_on_them(warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path / "data"))
    db.get_settings.cache_clear()

    def exists(name: str) -> bool:
        with psycopg.connect(warehouse_url) as conn:
            return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]

    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute("create table intermediate.int_decp__contracts (contract_key text)")
    transform.run_dbt(["seed", "--select", "ref_quality_flags"], warehouse_url)  # any dbt run starts with the hook
    assert not exists("intermediate.int_decp__contracts")

    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute("create table intermediate.int_decp__contracts (contract_key text)")
        conn.execute("create view public.analyst_view as select * from intermediate.int_decp__contracts")
    assert transform.run_dbt(["seed", "--select", "ref_quality_flags"], warehouse_url).succeeded
    assert exists("intermediate.int_decp__contracts") and exists("public.analyst_view")
