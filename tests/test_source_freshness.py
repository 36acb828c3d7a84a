"""`dbt source freshness` runs on the warehouse and judges every source by the age of its last load: the
bundled samples are fresh, loads the test makes older warn or fail by the thresholds of the sources' YAML,
and a source never loaded is stale."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import yaml

from orcp import pipeline
from orcp.settings import get_settings
from orcp.transform import DBT_PROJECT_DIR, run_dbt

SOURCE_FILES = sorted((DBT_PROJECT_DIR / "models" / "staging").glob("*/_*__sources.yml"))
PERIODS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
RAW_TABLES_WITH_NEW_FRESHNESS = {"dgp_rows", "census_rows", "sirene_records", "cerc_survey_rows"}


def declared_freshness() -> dict[str, dict]:
    """source.table -> its freshness (table config, else the source's), from the YAML files."""
    found = {}
    for path in SOURCE_FILES:
        for source in yaml.safe_load(path.read_text())["sources"]:
            source_freshness = (source.get("config") or {}).get("freshness")
            for table in source["tables"]:
                freshness = (table.get("config") or {}).get("freshness") or source_freshness
                if freshness:
                    found[f"{source['name']}.{table['name']}"] = freshness
    return found


def last_load(conn, schema_table: str) -> datetime | None:
    """The end of the last successful load that brought rows to a raw table (meta.loads: any load)."""
    if schema_table == "meta.loads":
        return conn.execute("select max(finished_at) from meta.loads").fetchone()[0]
    return conn.execute(f"select max(finished_at) from meta.loads where status = 'loaded' and load_id in"
                        f" (select load_id from {schema_table})").fetchone()[0]


def expected_status(loaded_at: datetime | None, freshness: dict, now: datetime) -> str:
    if loaded_at is None:
        return "error"
    age = now - loaded_at
    for level, status in (("error_after", "error"), ("warn_after", "warn")):
        rule = freshness[level]
        if age > rule["count"] * PERIODS[rule["period"]]:
            return status
    return "pass"


def run_freshness(url: str, data_dir) -> dict[str, dict]:
    run_dbt(["source", "freshness"], url)  # exits "failed" when a source is stale: that is a result, not an error
    results = json.loads((data_dir / "dbt-target" / "sources.json").read_text())["results"]
    return {r["unique_id"].split(".", 2)[2]: r for r in results}


def schema_table(name: str) -> str:
    table = name.split(".")[1]
    return "meta.loads" if table == "loads" else f"raw.{table}"


def test_source_freshness_judges_each_source_by_its_last_load(warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    pipeline.ingest_step(fail_on_error=True)  # bundled DECP sample, payment delays, census, CERC survey
    declared = declared_freshness()
    assert RAW_TABLES_WITH_NEW_FRESHNESS <= {name.split(".")[1] for name in declared}

    results = run_freshness(warehouse_url, tmp_path)
    assert set(results) == set(declared)
    assert not [r for r in results.values() if r["status"] == "runtime error"]
    with psycopg.connect(warehouse_url) as conn:
        now = datetime.now(UTC)
        first = {name: expected_status(last_load(conn, schema_table(name)), declared[name], now)
                 for name in declared}
    assert {name: r["status"] for name, r in results.items()} == first
    assert first["dgp.dgp_rows"] == first["census.census_rows"] == first["cerc_survey.cerc_survey_rows"] == "pass"
    assert first["sirene.sirene_records"] == "error"  # never loaded here

    # Age the loads: DGP beyond its warning delay, the survey beyond its error delay.
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for table, days in (("dgp_rows", 500), ("cerc_survey_rows", 450)):
            conn.execute(f"update meta.loads set finished_at = finished_at - interval '{days} days'"
                         f" where load_id in (select load_id from raw.{table})")
    results = run_freshness(warehouse_url, tmp_path)
    with psycopg.connect(warehouse_url) as conn:
        now = datetime.now(UTC)
        second = {name: expected_status(last_load(conn, schema_table(name)), declared[name], now)
                  for name in declared}
    assert {name: r["status"] for name, r in results.items()} == second
    assert second["dgp.dgp_rows"] == "warn" and second["cerc_survey.cerc_survey_rows"] == "error"
    assert second["census.census_rows"] == "pass"
    for name in ("dgp.dgp_rows", "cerc_survey.cerc_survey_rows"):
        criteria = results[name]["criteria"]
        assert {key: criteria[key] for key in ("warn_after", "error_after")} == \
            {key: declared[name][key] for key in ("warn_after", "error_after")}
