"""The quality gate's suites on tables the tests write: the indicator template checks every table of schema
indicators (a new table without any YAML too) and names what is wrong; the fct_contracts suite blocks on
duplicate keys, negative usable amounts and implausible years, and only warns on amounts as published."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from expectations.checks import QualityGateError, gate, load_suites, run_checks, template_suites

INDICATOR_COLUMNS = """measure text, year int, territory_code text, value numeric, numerator numeric,
    denominator numeric, n bigint, unknown_share numeric, coverage numeric, threshold_eur numeric,
    method_version text, as_of_date date, status text"""
GOOD_ROWS = [  # measure, year, territory, value, n, status
    ("share", 2024, "32", 0.25, 40, "ok"),
    ("share", 2024, "59", None, 4, "insufficient data"),
    ("share", 2024, "FR", None, 0, "not available"),
]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path / "orcp-data"))


def _write_indicator(conn, table: str, rows: list[tuple], method_version: str | None = "1.0") -> None:
    conn.execute(f"create table indicators.{table} ({INDICATOR_COLUMNS})")
    for measure, year, territory, value, n, status in rows:
        conn.execute(f"insert into indicators.{table} values (%s, %s, %s, %s, null, null, %s, 0, 1, 40000, %s,"
                     " current_date, %s)", (measure, year, territory, value, n, method_version, status))


def _failures(report, suite: str) -> dict[tuple, str]:
    return {(o.column, o.expectation, o.condition): o.observed
            for o in report.outcomes if o.suite == suite and not o.success}


def test_indicator_template_checks_every_table_and_blocks_a_number_published_without_data(
        data_dir, warehouse_url):
    broken = [
        ("share", 2024, "32", 0.25, 40, "ok"),
        ("share", 2024, "02", 3, 4, "insufficient data"),   # a number for insufficient data
        ("share", 2024, "59", None, 25, "ok"),               # no number although ok
        ("share", 2024, "60", None, -1, "insufficient data"),  # impossible n
        ("share", 2024, "62", None, 2, "maybe"),             # unknown status
    ]
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        _write_indicator(conn, "alpha_indicator", GOOD_ROWS)
        _write_indicator(conn, "beta_indicator", broken, method_version=None)  # no YAML anywhere

    suites = template_suites(warehouse_url)
    assert [s["name"] for s in suites] == ["indicators.alpha_indicator", "indicators.beta_indicator"]
    report = run_checks(warehouse_url, suites)

    assert _failures(report, "indicators.alpha_indicator") == {}
    failures = _failures(report, "indicators.beta_indicator")
    not_ok = [row for row in broken if row[5] != "ok"]
    ok = [row for row in broken if row[5] == "ok"]
    assert set(failures) == {
        ("value", "expect_column_values_to_be_null", "status != ok"),
        ("value", "expect_column_values_to_not_be_null", "status == ok"),
        ("n", "expect_column_values_to_be_between", None),
        ("status", "expect_column_values_to_be_in_set", None),
        ("method_version", "expect_column_values_to_not_be_null", None),
    }
    # observed: percent of the rows in scope (those the condition selects)
    assert float(failures[("value", "expect_column_values_to_be_null", "status != ok")]) == pytest.approx(
        100 * sum(row[3] is not None for row in not_ok) / len(not_ok))
    assert float(failures[("value", "expect_column_values_to_not_be_null", "status == ok")]) == pytest.approx(
        100 * sum(row[3] is None for row in ok) / len(ok))
    assert all(o.severity == "critical" for o in report.critical_failures)
    with pytest.raises(QualityGateError, match=r"indicators\.beta_indicator\.value "
                                               r"expect_column_values_to_be_null where status != ok"):
        gate(report)


def test_indicator_table_missing_a_standard_column_fails(data_dir, warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute("create table indicators.no_status (measure text, value numeric, n bigint,"
                     " method_version text)")
        conn.execute("insert into indicators.no_status values ('m', 1, 12, '1.0')")
    report = run_checks(warehouse_url, template_suites(warehouse_url))
    failed = {(o.column, o.expectation) for o in report.critical_failures}
    assert ("status", "expect_column_values_to_not_be_null") in failed
    assert ("value", "expect_column_values_to_not_be_null") in failed  # its condition names a missing column


FCT_COLUMNS = """contract_sk text, notification_year int, notification_date date, publication_date date,
    initial_amount_eur numeric, initial_amount_usable_eur numeric, amount_eur numeric, amount_usable_eur numeric,
    supplier_count int, offers_received int"""


def _write_contracts(conn, rows: list[tuple]) -> None:
    conn.execute("drop table if exists marts.fct_contracts")
    conn.execute(f"create table marts.fct_contracts ({FCT_COLUMNS})")
    with conn.cursor().copy("copy marts.fct_contracts from stdin") as copy:
        for row in rows:
            copy.write_row(row)


def _contract(index: int, year: int = 2023, amount: float = 50000.0, published_amount: float | None = None,
              sk: str | None = None) -> tuple:
    notified = date(year, 3, 1)
    return (sk or f"sk{index}", year, notified, date(max(year, 2000), 3, 15), amount, amount,
            amount if published_amount is None else published_amount, amount, 1, 3)


def _fct_suite() -> list[dict]:
    return [suite for suite in load_suites() if suite["table"] == "fct_contracts"]


def test_fct_contracts_suite_blocks_duplicates_negative_usable_amounts_and_implausible_years(
        data_dir, warehouse_url):
    good = [_contract(i) for i in range(100)]
    # 3 % implausible years pass (mostly 0.95); a negative amount as published only warns.
    tolerated = good[:97] + [_contract(97 + i, year=1990) for i in range(3)]
    tolerated[5] = _contract(5, published_amount=-10.0)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        _write_contracts(conn, tolerated)
    report = run_checks(warehouse_url, _fct_suite())
    assert report.critical_failures == []
    assert [(o.column, o.expectation) for o in report.warnings] == [
        ("amount_eur", "expect_column_values_to_be_between")]

    next_year = date.today().year + 1
    broken = good[:88] + [_contract(88 + i, year=next_year + 1) for i in range(10)] + [
        _contract(98, amount=-5.0), _contract(99, sk="sk0")]  # a usable amount below 0, a duplicate key
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        _write_contracts(conn, broken)
    report = run_checks(warehouse_url, _fct_suite())
    assert {(o.column, o.expectation) for o in report.critical_failures} == {
        ("contract_sk", "expect_column_values_to_be_unique"),
        ("notification_year", "expect_column_values_to_be_between"),  # 10 % after next year
        ("initial_amount_usable_eur", "expect_column_values_to_be_between"),
        ("amount_usable_eur", "expect_column_values_to_be_between"),
    }
    with pytest.raises(QualityGateError, match="fct_contracts.contract_sk expect_column_values_to_be_unique"):
        gate(report)
