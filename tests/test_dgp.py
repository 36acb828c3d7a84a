"""DGFiP payment delays: the real 12-row file and variants built from it at test time (Latin-1 + ';' +
decimal comma with official-style labels, XLSX), a missing column, year replacement on reload, and the
fact and indicator models compared with pandas over the same rows."""

from __future__ import annotations

import csv
import json
import math
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import psycopg
import pytest

from ingest.formats import ParseError, dgp
from ingest.loader import load_file
from orcp.settings import get_settings
from orcp.transform import run_dbt
from tests.conftest import shared_file

REAL = "dgp/dgp_collectivites_2024_sample_transcribed.csv"
HDF = ("02", "59", "60", "62", "80")
# Official-style French labels for the relabelled copy's columns (the official ones were never verified).
OFFICIAL_LABELS = {
    "millesime": "Exercice", "code_departement": "Code département", "departement": "Département",
    "collectivite": "Nom de la collectivité", "siret": "N° SIRET", "type_budget": "Type de budget",
    "nature_budget": "Nature du budget", "delai_global_paiement_j": "Délai global de paiement (jours)",
}


def _real_rows() -> list[dict[str, str]]:
    with shared_file(REAL).open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _query(url: str, sql: str, params: tuple | None = None) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def _write_french_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    """Windows Latin-1, ';' separated, decimal comma, official-style labels (no 'respecte_seuil_30j')."""
    with path.open("w", newline="", encoding="cp1252") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(OFFICIAL_LABELS.values())
        for row in rows:
            writer.writerow([row[key].replace(".", ",") if key == "delai_global_paiement_j" else row[key]
                             for key in OFFICIAL_LABELS])
    return path


def _build(url: str, selection: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path / "orcp-data"))
    get_settings.cache_clear()
    result = run_dbt(["build", "--select", selection], url)
    assert result.succeeded, result.describe()


def test_real_file_loads_every_row_as_it_came(warehouse_url):
    path = shared_file(REAL)
    expected = _real_rows()
    result = load_file(path, "dgfip-dgp", parser=dgp.parse, database_url=warehouse_url)
    assert len(expected) == 12
    assert (result.status, result.records) == ("loaded", 12)
    stored = _query(warehouse_url, "select record, layout, record_kind from raw.dgp_rows order by record_number")
    assert [record["row"] for record, _, _ in stored] == expected
    assert {layout for _, layout, _ in stored} == {"dgp"}
    assert stored[0][0]["mapping"] == {
        "year": "millesime", "department_code": "code_departement", "department_name": "departement",
        "entity_name": "collectivite", "siret": "siret", "budget_type": "type_budget",
        "budget_nature": "nature_budget", "payment_delay_days": "delai_global_paiement_j",
        "ceiling_respected": "respecte_seuil_30j"}
    assert _query(warehouse_url, "select format from meta.loads")[0][0] == "dgp-csv (utf-8-sig, ',')"
    again = load_file(path, "dgfip-dgp", parser=dgp.parse, database_url=warehouse_url)
    assert again.status == "skipped"


def test_latin1_and_xlsx_variants_read_to_the_real_values(warehouse_url, tmp_path, monkeypatch):
    real = _real_rows()
    french = _write_french_csv(tmp_path / "dgp_2024_latin1.csv", real)
    assert b"Exercice;Code d\xe9partement" in french.read_bytes()  # really Latin-1 with ';'

    # XLSX as a spreadsheet holds it: numbers typed (year, SIRET, delay, département '2' for '02').
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "DGP 2024"
    sheet.append(list(real[0]))
    xlsx_rows = real + [{**real[6], "code_departement": "2", "siret": "21020001500016", "collectivite": "AISNE TEST"}]
    for row in xlsx_rows:
        sheet.append([int(row["millesime"]), int(row["code_departement"]) if row["code_departement"].isdigit()
                      else row["code_departement"], row["departement"], row["collectivite"], int(row["siret"]),
                      row["type_budget"], row["nature_budget"], float(row["delai_global_paiement_j"]),
                      row["respecte_seuil_30j"] == "true"])
    xlsx = tmp_path / "dgp_2024.xlsx"
    workbook.save(xlsx)

    csv_load = load_file(french, "dgfip-dgp", parser=dgp.parse, database_url=warehouse_url)
    xlsx_load = load_file(xlsx, "dgfip-dgp", parser=dgp.parse, database_url=warehouse_url)
    assert (csv_load.status, csv_load.records, csv_load.format) == ("loaded", 12, "dgp-csv (cp1252, ';')")
    assert (xlsx_load.status, xlsx_load.records, xlsx_load.format) == ("loaded", 13, "dgp-xlsx (sheet 'DGP 2024')")

    _build(warehouse_url, "stg_dgp__payment_delays", tmp_path, monkeypatch)
    for load, rows in ((csv_load, real), (xlsx_load, xlsx_rows)):
        typed = _query(warehouse_url,
                       "select year, department_code, siret, budget_nature, payment_delay_days, entity_name"
                       " from staging.stg_dgp__payment_delays where load_id = %s order by record_number",
                       (load.load_id,))
        assert typed == [(int(r["millesime"]), r["code_departement"].zfill(2), r["siret"], r["nature_budget"],
                          Decimal(r["delai_global_paiement_j"]), r["collectivite"]) for r in rows]
    # Same year twice: the later load (XLSX) is current, the earlier one superseded.
    statuses = dict(_query(warehouse_url, "select load_id, string_agg(distinct row_status, ',')"
                                          " from staging.stg_dgp__payment_delays group by load_id"))
    assert statuses == {csv_load.load_id: "superseded", xlsx_load.load_id: "current"}


def test_missing_required_column_fails_with_found_and_expected_columns(warehouse_url, tmp_path):
    path = tmp_path / "dgp_without_delay.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        columns = [c for c in _real_rows()[0] if c != "delai_global_paiement_j"]
        writer.writerow(columns)
        for row in _real_rows():
            writer.writerow([row[c] for c in columns])

    result = load_file(path, "dgfip-dgp", parser=dgp.parse, database_url=warehouse_url)

    assert result.status == "failed" and "dgp_without_delay.csv" in result.error
    assert "missing required column(s): payment_delay_days" in result.error
    assert "Columns found: 'millesime', 'code_departement'" in result.error
    assert "Columns expected: year, department_code, entity_name, siret, budget_type, payment_delay_days" \
        in result.error
    (status, error, position), = _query(warehouse_url, "select status, error, error_position from meta.loads")
    assert (status, position) == ("failed", "header") and "Délai global de paiement" in error
    assert _query(warehouse_url, "select count(*) from raw.dgp_rows") == [(0,)]


def test_reloading_a_year_replaces_that_year_only(warehouse_url, tmp_path, monkeypatch):
    real = _real_rows()
    both_years = tmp_path / "dgp_2023_2024.csv"
    rows_2023 = [{**r, "millesime": "2023", "delai_global_paiement_j": str(Decimal(r["delai_global_paiement_j"]) + 1)}
                 for r in real]
    _write_french_csv(both_years, rows_2023 + real)
    corrected_2024 = [{**r, "delai_global_paiement_j": str(Decimal(r["delai_global_paiement_j"]) * 2)}
                      for r in real[:10]]  # the corrected file has 10 budgets, not 12
    correction = _write_french_csv(tmp_path / "dgp_2024_corrected.csv", corrected_2024)

    first = load_file(both_years, "dgfip-dgp", parser=dgp.parse, database_url=warehouse_url)
    second = load_file(correction, "dgfip-dgp", parser=dgp.parse, database_url=warehouse_url)
    assert (first.records, second.records) == (24, 10)
    _build(warehouse_url, "+fct_payment_delays", tmp_path, monkeypatch)

    facts = _query(warehouse_url, "select year, load_id, siret, payment_delay_days from marts.fct_payment_delays"
                                  " order by year, record_number")
    assert [f for f in facts if f[0] == 2023] == [
        (2023, first.load_id, r["siret"], Decimal(r["delai_global_paiement_j"])) for r in rows_2023]
    assert [f for f in facts if f[0] == 2024] == [
        (2024, second.load_id, r["siret"], Decimal(r["delai_global_paiement_j"])) for r in corrected_2024]
    counts = dict(_query(warehouse_url, "select row_status, count(*) from staging.stg_dgp__payment_delays"
                                        " group by row_status"))
    assert counts == {"current": 22, "superseded": 12}  # nothing dropped: 24 + 10 raw rows


# --- fact and indicator against pandas -------------------------------------------------------

def _national_rows() -> list[dict[str, str]]:
    """Three years of budgets for the five Hauts-de-France départements, derived from the real rows
    (delay scaled per département and year), the real rows themselves, and four awkward rows."""
    real = _real_rows()
    rows = []
    for year in (2022, 2023, 2024):
        for index, department in enumerate(HDF):
            factor = 1 + Decimal(index) / 10 + Decimal(year - 2022) / 20
            rows += [{**r, "millesime": str(year), "code_departement": department,
                      "delai_global_paiement_j": str((Decimal(r["delai_global_paiement_j"]) * factor)
                                                     .quantize(Decimal("0.01")))} for r in real]
    rows += real
    awkward = dict(rows[-1], code_departement="59")
    rows += [dict(awkward, collectivite="DELAI ILLISIBLE", delai_global_paiement_j="n.c."),
             dict(awkward, collectivite="DELAI NEGATIF", delai_global_paiement_j="-3"),
             dict(awkward, millesime=""),  # no year: rejected
             dict(rows[40])]  # exact duplicate: counted once
    return rows


def _category(budget_type: str, siret: str) -> str:
    """The documented rules, for the budget types of the real file (no SIRENE loaded)."""
    by_type = {"Commune": "commune", "Sivu": "epci", "Ccas-Cias": "other"}
    if budget_type in by_type:
        return by_type[budget_type]
    return {"21": "commune", "22": "departement", "23": "region"}.get(siret[:2], "unknown")


def _expected_facts(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    frame.columns = list(OFFICIAL_LABELS)
    frame = frame[frame["millesime"] != ""].drop_duplicates()
    delay = pd.to_numeric(frame["delai_global_paiement_j"].str.replace(",", "."), errors="coerce")
    return pd.DataFrame({
        "year": frame["millesime"].astype(int),
        "department": frame["code_departement"],
        "category": [_category(t, s) for t, s in zip(frame["type_budget"], frame["siret"])],
        "delay": delay.where(delay >= 0),
    })


def _expected_indicator(facts: pd.DataFrame, minimum: int = 10) -> dict[tuple, dict]:
    expected = {}
    territories = {**{d: facts[facts.department == d] for d in HDF},
                   "32": facts[facts.department.isin(HDF)], "FR": facts}
    categories = ["all", "commune", "epci", "departement", "region", "health", "social_housing", "other",
                  "unknown"]
    for year in sorted(facts.year.unique()):
        for code, territory in territories.items():
            in_year = territory[territory.year == year]
            for category in categories:
                cell = in_year if category == "all" else in_year[in_year.category == category]
                before = territory[territory.year == year - 1]
                before = before if category == "all" else before[before.category == category]
                n, n_before = int(cell.delay.notna().sum()), int(before.delay.notna().sum())
                ok = n >= minimum
                expected[(int(year), code, category)] = {
                    "n": n, "in_scope": len(cell),
                    "coverage": n / len(cell) if len(cell) else None,
                    "unknown_share": (in_year.category == "unknown").mean() if len(in_year) else None,
                    "mean_delay_days": cell.delay.mean() if ok else None,
                    "median_delay_days": cell.delay.median() if ok else None,
                    "share_above_ceiling": (cell.delay > 30).sum() / n if ok else None,
                    "mean_delay_change_days": cell.delay.mean() - before.delay.mean()
                    if ok and n_before >= minimum and year - 1 in facts.year.values else None,
                }
    return expected


def _close(got, want, tolerance: float) -> bool:
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return got is None
    return got is not None and abs(float(got) - float(want)) <= tolerance


def test_fact_and_indicator_equal_pandas_over_the_same_rows(warehouse_url, tmp_path, monkeypatch):
    path = _write_french_csv(tmp_path / "dgp_2022_2024.csv", _national_rows())
    assert load_file(path, "dgfip-dgp", parser=dgp.parse, database_url=warehouse_url).status == "loaded"
    _build(warehouse_url, "+payment_delays", tmp_path, monkeypatch)
    facts = _expected_facts(path)

    got_facts = pd.DataFrame(_query(warehouse_url, "select year, department_code, entity_category,"
                                                   " payment_delay_days::float from marts.fct_payment_delays"),
                             columns=["year", "department", "category", "delay"])
    key = ["year", "department", "category", "delay"]
    assert len(got_facts) == len(facts) == 12 * 5 * 3 + 12 + 2
    pd.testing.assert_frame_equal(got_facts.sort_values(key, na_position="first").reset_index(drop=True),
                                  facts[key].sort_values(key, na_position="first").reset_index(drop=True),
                                  check_dtype=False)
    assert dict(_query(warehouse_url, "select row_status, count(*) from staging.stg_dgp__payment_delays"
                                      " group by 1")) == {"current": len(facts), "rejected": 1, "duplicate": 1}

    expected = _expected_indicator(facts)
    rows = _query(warehouse_url, "select year, territory_code, entity_category, measure, value, n,"
                                 " records_in_scope, coverage, unknown_share, status, threshold, method_version,"
                                 " numerator, denominator from indicators.payment_delays")
    assert len(rows) == len(expected) * 4 == 3 * 7 * 9 * 4
    for year, territory, category, measure, value, n, in_scope, coverage, unknown, status, threshold, \
            version, numerator, denominator in rows:
        want = expected[(year, territory, category)]
        context = (year, territory, category, measure)
        assert (n, in_scope) == (want["n"], want["in_scope"]), context
        assert _close(coverage, want["coverage"], 1e-4) and _close(unknown, want["unknown_share"], 1e-4), context
        tolerance = 1e-4 if measure == "share_above_ceiling" else 0.01
        assert _close(value, want[measure], tolerance), (context, value, want[measure])
        assert (status == "ok") == (want[measure] is not None), context
        assert (threshold, version) == ("n/a", "1.0")
        if measure == "share_above_ceiling" and status == "ok":
            assert float(numerator) / float(denominator) == pytest.approx(want[measure]) and denominator == n
    # The cells that must be published as numbers are published: every HdF département has 12 budgets a year.
    published = {(r[0], r[1], r[2]) for r in rows if r[3] == "mean_delay_days" and r[9] == "ok"}
    assert {(2024, d, "all") for d in HDF} | {(2024, "32", "all"), (2024, "FR", "all")} <= published
    assert _query(warehouse_url, "select count(*) from indicators.payment_delays where status = 'insufficient data'"
                                 " and value is not null") == [(0,)]


def test_ragged_rows_are_kept_and_flagged_and_bad_files_fail(tmp_path):
    real = shared_file(REAL).read_text(encoding="utf-8").splitlines()
    ragged = tmp_path / "dgp_ragged.csv"
    ragged.write_text("\n".join([real[0], real[1] + ",EXTRA", real[2].rsplit(",", 2)[0], real[3], ""]),
                      encoding="utf-8")
    records = [json.loads(r.payload) for r in dgp.parse(ragged).records]
    assert [r.get("problem") for r in records] == ["10 cells for 9 columns", "7 cells for 9 columns", None]
    assert records[0]["extra_cells"] == ["EXTRA"] and records[1]["row"]["respecte_seuil_30j"] is None

    for content, message in ((b"", "empty file"), (b"\xd0\xcf\x11\xe0rest", "legacy Excel .xls"),
                             (real[0].encode() + b"\n\n", "no data row after the header"),
                             (b"PK\x03\x04not a workbook", "unreadable XLSX workbook")):
        bad = tmp_path / "bad_dgp_file"
        bad.write_bytes(content)
        with pytest.raises(ParseError, match=message):
            list(dgp.parse(bad).records)
