"""OECP census key figures: the curated CSV loads, fct_census_aggregates holds the published figures
(those DATA.md quotes), a corrected file replaces its years only, and a bad file fails with its line."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from ingest import census
from orcp.settings import get_settings
from orcp.transform import run_dbt

FIGURE_KEY = ("year", "territory_code", "buyer_category", "nature", "company_size", "measure")


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def _facts(url: str) -> dict[tuple, tuple]:
    rows = _query(url, "select year::text, territory_code, buyer_category, nature, company_size, measure,"
                       " value, precision, threshold_eur, source_reference, indicator_id, threshold_note_fr"
                       " from marts.fct_census_aggregates")
    return {row[:6]: row[6:] for row in rows}


def _build(url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path / "orcp-data"))
    get_settings.cache_clear()
    result = run_dbt(["build", "--select", "+fct_census_aggregates"], url)
    assert result.succeeded, result.describe()


def test_curated_figures_reach_the_mart_and_a_correction_replaces_its_year(warehouse_url, tmp_path, monkeypatch):
    rows = _csv_rows(census.DEFAULT_FILE)
    result = census.load(database_url=warehouse_url)
    assert (result.status, result.records) == ("loaded", len(rows))
    _build(warehouse_url, tmp_path, monkeypatch)

    facts = _facts(warehouse_url)
    assert facts.keys() == {tuple(row[k] for k in FIGURE_KEY) for row in rows}
    for row in rows:
        value, precision, threshold, reference, _, note = facts[tuple(row[k] for k in FIGURE_KEY)]
        assert (value, precision, threshold, reference) == (
            Decimal(row["value"]), row["precision"], int(row["threshold_eur"]), row["source_reference"])
        assert "40 000" in note  # every census figure carries the series break
    # The figures docs/DATA.md quotes.
    assert facts[("2021", "FR", "all", "all", "all", "contracts")][:2] == (186000, "about")
    assert facts[("2021", "FR", "all", "all", "all", "amount_eur")][0] == Decimal("128e9")
    assert facts[("2019", "FR", "all", "all", "TPE_PME", "contracts_share")][0] == Decimal("0.62")
    assert facts[("2019", "FR", "all", "all", "TPE_PME", "amount_share")][0] == Decimal("0.32")
    assert facts[("2019", "FR", "all", "all", "all", "social_clause_share")][0] == Decimal("0.125")
    assert facts[("2019", "FR", "all", "all", "all", "environmental_clause_share")][0] == Decimal("0.158")
    assert facts[("2014", "32", "all", "all", "all", "amount_eur")][0] == Decimal("2.5e9")
    assert facts[("2014", "32", "all", "works", "all", "amount_eur")][:2] == (Decimal("1.4e9"), "over")
    assert facts[("2014", "32", "all", "supplies", "all", "amount_eur")][0] == Decimal("420e6")
    assert facts[("2014", "32", "all", "services", "all", "amount_eur")][0] == Decimal("526e6")
    assert facts[("2014", "32", "local_authorities", "all", "all", "amount_share")][0] == Decimal("0.56")
    assert facts[("2014", "32", "all", "all", "TPE", "mean_amount_eur")][0] == 190000
    assert facts[("2014", "32", "all", "all", "PME", "mean_amount_eur")][0] == 360000
    assert facts[("2014", "32", "all", "all", "TPE_PME", "amount_share")][:3] == (Decimal("0.40"), "under", 90000)
    assert facts[("2019", "FR", "all", "all", "all", "social_clause_share")][4] == "social_clauses"
    assert facts[("2019", "FR", "all", "all", "TPE_PME", "amount_share")][4] == "sme_access"

    # A corrected file with 2021 only: 2021 replaced, 2014 and 2019 untouched.
    corrected = tmp_path / "census_2021_corrected.csv"
    with corrected.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=census.COLUMNS)
        writer.writeheader()
        writer.writerow({**next(r for r in rows if r["year"] == "2021" and r["measure"] == "contracts"),
                         "value": "186500", "precision": "exact"})
    assert census.load(corrected, database_url=warehouse_url).status == "loaded"
    _build(warehouse_url, tmp_path, monkeypatch)
    after = _facts(warehouse_url)
    assert [key for key in after if key[0] == "2021"] == [("2021", "FR", "all", "all", "all", "contracts")]
    assert after[("2021", "FR", "all", "all", "all", "contracts")][:2] == (186500, "exact")
    assert {k: v for k, v in after.items() if k[0] != "2021"} == {k: v for k, v in facts.items() if k[0] != "2021"}


@pytest.mark.parametrize("change, expected", [
    (lambda row: row.update(value="62"), "out of range for amount_share"),
    (lambda row: row.update(measure="part_pme"), "measure 'part_pme' is not one of"),
    (lambda row: row.update(value="0,40"), "is not a number"),
    (lambda row: row.update(source_reference=" "), "source_reference is empty"),
])
def test_bad_figure_fails_with_its_line_and_loads_nothing(warehouse_url, tmp_path, change, expected):
    rows = _csv_rows(census.DEFAULT_FILE)
    change(rows[6])  # the 7th figure, on line 8 (an amount_share)
    path = tmp_path / "census_bad.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=census.COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    result = census.load(path, database_url=warehouse_url)
    assert result.status == "failed" and "census_bad.csv" in result.error and expected in result.error
    assert _query(warehouse_url, "select status, error_position from meta.loads") == [("failed", "line 8")]
    assert _query(warehouse_url, "select count(*) from raw.census_rows") == [(0,)]


def test_missing_column_lists_found_and_expected(warehouse_url, tmp_path):
    path = tmp_path / "census_no_threshold.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow([c for c in census.COLUMNS if c != "threshold_eur"])
    result = census.load(path, database_url=warehouse_url)
    assert result.status == "failed"
    assert "missing ['threshold_eur']" in result.error and "columns expected: year, territory_level" in result.error
