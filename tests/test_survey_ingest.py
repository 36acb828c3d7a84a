"""CERC survey intake end to end: a filled template with realistic mistakes, loaded into a real
warehouse, its control report read back, the dbt models built and the indicator recomputed here."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from ingest.survey.intake import ingest_survey, prepare_input
from ingest.survey.schema import PROJECTS_SHEET, RESPONDENTS_SHEET
from ingest.survey.template import csv_twin_paths, write_template
from orcp.transform import run_dbt

ERR, WARN = "erreur", "avertissement"
MIN_RECORDS = 2
DBT_SELECTION = ["build", "--select", "+fct_public_works_projects +public_works_outlook"]

# Respondent rows as typed (columns A-I of the template), from sheet row 2; None = blank row.
# Expected: valid, département, owner type, under 5,000 inhabitants, answer to "no project".
RESPONDENTS = [
    (("R001", 2026, "Commune d'Amiens", None, "Commune", "80 - Somme", "80021",
      "100 000 habitants ou plus", "Non"), {"valid": True, "dep": "80", "type": "commune", "small": False}),
    (("R002", 2026, "Commune de Beauvais", None, "commune", "60", 60057,
      "De 20 000 à 99 999 habitants", "Non"), {"valid": True, "dep": "60", "type": "commune", "small": False}),
    (("R003", 2026, "Commune d'Achiet-le-Grand", "21620005500012", "Commune", "62", "62005",
      "De 1 000 à 4 999 habitants", "Oui"), {"valid": True, "dep": "62", "type": "commune", "small": True}),
    (("R004", 2026, "Communauté d'agglomération du Pays de Laon", None, "Communauté d'agglomération",
      "02", None, None, "Non"), {"valid": True, "dep": "02", "type": "epci", "small": None}),
    (("R005", 2026, "Département de la Somme", None, "Département", "Somme", None, None, "Non"),
     {"valid": True, "dep": "80", "type": "departement", "small": None}),
    # A postal code instead of the INSEE code.
    (("R006", 2026, "Commune de Péronne", None, "Commune", "80", "80000", 7400, None),
     {"valid": False}),
    (("R007", 2026, "Commune de Villers-Bretonneux", "123 456 789 00012", "Commune", "80", "80799",
      "De 1 000 à 4 999 habitants", "Oui"), {"valid": True, "dep": "80", "type": "commune", "small": True}),
    None,  # a blank row in the middle
    (("R008", 2026, "Commune de Crèvecœur-le-Grand", None, "Commune", "60", "60178",
      "De 1 000 à 4 999 habitants", None), {"valid": True, "dep": "60", "type": "commune", "small": True}),
    (("R101", 2025, "Commune d'Amiens", None, "Commune", "80", "80021", "100 000 habitants ou plus",
      "Non"), {"valid": True, "dep": "80", "type": "commune", "small": False}),
    # An Aisne code typed as a number loses its leading zero (2173 for 02173).
    (("R102", 2025, "Commune de Chauny", None, "Commune", "02", 2173, "De 5 000 à 19 999 habitants",
      "Oui"), {"valid": True, "dep": "02", "type": "commune", "small": False}),
    (("R001", 2026, "Commune d'Amiens (envoi en double)", None, "Commune", "80", "80021",
      "100 000 habitants ou plus", "Non"),
     {"valid": False}),
    (("R009", 2026, "Centre hospitalier de Saint-Quentin", None, "Hôpital", "02", "02691", None, "Non"),
     {"valid": True, "dep": "02", "type": "hopital", "small": None}),
    (("R010", 2026, "SIVOM du Ponthieu", None, "Syndicat des eaux", "80", None, None, None),
     {"valid": False}),
]
RESPONDENT_WAVE = {entry[0][0]: str(entry[0][1]) for entry in RESPONDENTS if entry}

# Project rows as typed (columns A-N), from sheet row 4 (a title row and a group row come first);
# "↑" = the respondent cell merged with the one above. Expected when valid: département, planned
# year, segment, amount.
PROJECTS = [
    (("R001", "Rénovation énergétique du groupe scolaire", None, "Rénovation de bâtiment", "Isolation",
      "1,2 M€", 2026, "T2", "T4 2026", 14, "Programmé", "Oui", "Oui", "DSIL"),
     {"dep": "80", "year": 2026, "segment": "batiment_renovation", "amount": 1_200_000}),
    (("R001", "Réhabilitation de la mairie annexe", None, "Rénovation", None, "850 k€", "T3 2026", None,
      datetime(2027, 1, 15), "2 ans", "Études", None, None, None),
     {"dep": "80", "year": 2026, "segment": "batiment_renovation", "amount": 850_000}),
    (("↑", "Extension du réseau de chaleur", None, "Énergie", None, "1.2e6", 2027, None, "2027", None,
      "Programmé", "Non", "Oui", None),
     {"dep": "80", "year": 2027, "segment": "energie", "amount": 1_200_000}),
    (("R002", "Construction d'un gymnase", None, "Bâtiment neuf", None, "1 200 000", 2026, "T3",
      "09/2026", "18 mois", "En consultation", "Oui", "Oui", "DETR"),
     {"dep": "60", "year": 2026, "segment": "batiment_neuf", "amount": 1_200_000}),
    (("R002", "Assainissement rue de Calais", None, "Eau et assainissement", None, 640000, "2026", 4,
      None, 6, "Programmé", "Non", "Oui", "Agence de l'eau"),
     {"dep": "60", "year": 2026, "segment": "reseaux_eau", "amount": 640_000}),
    (("R002", "Piscine municipale", None, "Piscine", None, "3 M€", 2027, None, None, None, None, None,
      None, None), None),
    (("R004", "Station d'épuration", "02408", "Réseaux d'eau et d'assainissement", None,
      "1.200.000 € HT", 2027, "T1", "S2 2027", None, "Études", "Oui", "Oui", None),
     {"dep": "02", "year": 2027, "segment": "reseaux_eau", "amount": 1_200_000}),
    (("R004", "Voie verte", None, "Voirie et routes", None, "12O 000", 2026, None, None, None, None,
      None, None, None), None),
    ((None, "Réfection de la place", None, "Aménagement urbain", None, "300 000", 2026, None, None,
      None, None, None, None, None), None),
    (("R099", "Salle des fêtes", None, "Bâtiment neuf", None, "500 000", 2026, None, None, None, None,
      None, None, None), None),
    (("R006", "Aménagement du centre-bourg", None, "Aménagement urbain", None, "2,5 millions", 2026,
      None, None, None, None, None, None, None), None),
    (("R005", "Pont sur la Somme", "Abbeville", "Ouvrages d'art", None, "2 100 000 €", "2026-T4", None,
      "2027", 10, "Programmé", "Oui", "Non", "Département"),
     {"dep": "80", "year": 2026, "segment": "ouvrages_art", "amount": 2_100_000}),
    (("R005", "Renforcement de la RD 1001", None, "Voirie et routes", None, "NC", None, None, None,
      None, "Études", None, None, None),
     {"dep": "80", "year": None, "segment": "voirie", "amount": None}),
    (("R101", "Rénovation énergétique du groupe scolaire", None, "Rénovation de bâtiment", None,
      "1 000 000", 2025, "T4", None, None, "Études", None, None, None),
     {"dep": "80", "year": 2025, "segment": "batiment_renovation", "amount": 1_000_000}),
    (("R009", "Bâtiment de soins de suite", None, "Bâtiment neuf", None, "18 M€", 2027, "T3", "2028",
      30, "Études", "Oui", "Oui", "ARS"),
     {"dep": "02", "year": 2027, "segment": "batiment_neuf", "amount": 18_000_000}),
    (("R010", "Réseau d'eau potable", None, "Réseaux d'eau et d'assainissement", None, "900 000", 2026,
      None, None, None, None, None, None, None), None),
    (("R009", "Parking du centre de consultations d'Arras", "62041", "Aménagement urbain", None,
      "450 000", 2026, None, None, None, None, None, None, None),
     {"dep": "62", "year": 2026, "segment": "amenagement_urbain", "amount": 450_000}),
    (("R001", "Voirie du quartier nord", None, "voirie", None, "1 500 000", "T3 2026", "T2", None,
      None, None, None, None, None), None),
]
FIRST_PROJECT_ROW = 4

# Every problem the report must list: (sheet, row, column, severity, words of the message).
EXPECTED_PROBLEMS = {
    (RESPONDENTS_SHEET, 7, "G", ERR, "commune inconnue"),
    (RESPONDENTS_SHEET, 8, "D", WARN, "SIRET invalide"),
    (RESPONDENTS_SHEET, 10, "I", WARN, "aucun projet déclaré"),
    (RESPONDENTS_SHEET, 13, "A", ERR, "en double"),
    (RESPONDENTS_SHEET, 15, "E", ERR, "valeur hors liste"),
    (PROJECTS_SHEET, 9, "D", ERR, "valeur hors liste"),
    (PROJECTS_SHEET, 11, "F", ERR, "montant illisible"),
    (PROJECTS_SHEET, 12, "A", ERR, "projet sans répondant : identifiant répondant manquant"),
    (PROJECTS_SHEET, 13, "A", ERR, "projet sans répondant : « R099 » absent"),
    (PROJECTS_SHEET, 14, "A", ERR, "répondant rejeté (feuille Répondants, ligne 7)"),
    (PROJECTS_SHEET, 15, "C", WARN, "commune saisie par son nom : code INSEE 80001"),
    (PROJECTS_SHEET, 19, "A", ERR, "répondant rejeté (feuille Répondants, ligne 15)"),
    (PROJECTS_SHEET, 21, "H", ERR, "trimestre différent"),
}


def fill_survey(path: Path) -> Path:
    """The template as a CERC officer fills it: answers, mistakes, merged cells, trailing rows."""
    write_template(path)
    workbook = load_workbook(path)
    respondents = workbook[RESPONDENTS_SHEET]
    for row, entry in enumerate(RESPONDENTS, start=2):
        for column, value in enumerate(entry[0] if entry else (), start=1):
            respondents.cell(row, column, value)
    respondents.cell(40, 3, "   ")  # trailing rows holding only spaces and formatting
    respondents.cell(60, 5).number_format = "0.00"

    projects = workbook[PROJECTS_SHEET]
    projects.insert_rows(1, amount=2)
    projects["A1"] = "Enquête CERC 2026 : projets de travaux publics"
    projects.merge_cells("A1:N1")
    for cells, label in (("A2:F2", "Le projet"), ("G2:H2", "Consultation prévue"),
                         ("I2:J2", "Début des travaux"), ("K2:N2", "Suivi")):
        projects[cells.split(":")[0]] = label
        projects.merge_cells(cells)
    projects["G3"], projects["H3"], projects["I3"] = "Année", "Trimestre", "Date"
    for row, (values, _) in enumerate(PROJECTS, start=FIRST_PROJECT_ROW):
        for column, value in enumerate(values, start=1):
            if value != "↑":
                projects.cell(row, column, value)
    merged_over = next(i for i, (values, _) in enumerate(PROJECTS) if values[0] == "↑")
    projects.merge_cells(f"A{FIRST_PROJECT_ROW + merged_over - 1}:A{FIRST_PROJECT_ROW + merged_over}")
    projects.cell(80, 2).number_format = "@"
    workbook.save(path)
    return path


def expected_projects() -> list[dict]:
    """Valid project rows with their respondent's attributes, computed from the tables above."""
    respondents = {}
    for entry in RESPONDENTS:
        if entry and entry[1]["valid"] and entry[0][0] not in respondents:
            respondents[entry[0][0]] = entry[1] | {"wave": RESPONDENT_WAVE[entry[0][0]]}
    rows, previous_id = [], None
    for offset, (values, expected) in enumerate(PROJECTS):
        respondent_id = previous_id if values[0] == "↑" else values[0]
        previous_id = respondent_id
        if expected:
            owner = respondents[respondent_id]
            rows.append(expected | {"row": FIRST_PROJECT_ROW + offset, "wave": owner["wave"],
                                    "type": owner["type"]})
    return rows


@pytest.fixture
def survey_env(warehouse_url, tmp_path, monkeypatch):
    """A fresh warehouse, the project's files (reports, dbt target) under tmp_path, and a small
    minimum of records so that the indicator publishes some values from a small survey."""
    from orcp.settings import get_settings

    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path / "orcp"))
    monkeypatch.setenv("ORCP_MIN_RECORDS", str(MIN_RECORDS))
    get_settings.cache_clear()
    yield warehouse_url
    get_settings.cache_clear()


def read_report(path: Path) -> list[tuple]:
    sheet = load_workbook(path)["Anomalies"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Feuille", "Ligne", "Colonne", "Intitulé de colonne", "Valeur saisie",
                       "Problème", "Gravité")
    return rows[1:]


def test_filled_survey_is_checked_loaded_reported_and_aggregated(survey_env, tmp_path):
    url = survey_env
    path = fill_survey(tmp_path / "enquete_cerc_2026.xlsx")

    result = ingest_survey(path, database_url=url)

    assert result.load.status == "loaded"
    # Every problem is in the report, at the right sheet, row and column, and nothing else is.
    problems = read_report(result.report_path)
    found = {(sheet, row, column, severity) for sheet, row, column, _, _, _, severity in problems}
    assert found == {p[:4] for p in EXPECTED_PROBLEMS}
    assert len(problems) == len(EXPECTED_PROBLEMS)
    for sheet, row, column, severity, words in EXPECTED_PROBLEMS:
        message = next(p[5] for p in problems if p[:3] == (sheet, row, column))
        assert words in message, (sheet, row, column, message)
    typed = {(p[0], p[1], p[2]): p[4] for p in problems}
    assert typed[(PROJECTS_SHEET, 11, "F")] == "12O 000"
    assert typed[(RESPONDENTS_SHEET, 7, "G")] == "80000"
    summary = [row for row in load_workbook(result.report_path)["Synthèse"].iter_rows(values_only=True)]
    assert (RESPONDENTS_SHEET, "répondants", 1, 13, 10, 3, 3, 2) in summary
    assert (PROJECTS_SHEET, "projets", 3, 18, 11, 7, 7, 1) in summary

    # Raw keeps every row, valid or not, with the cells as typed.
    with psycopg.connect(url) as conn:
        raw = conn.execute(
            "select record_kind, record ->> 'sheet', (record ->> 'row')::int, (record ->> 'valid')::bool,"
            " record -> 'cells', record -> 'parsed' from raw.cerc_survey_rows where load_id = %s",
            (result.load.load_id,)).fetchall()
    invalid_rows = {(sheet, row) for sheet, row, _, severity, _ in EXPECTED_PROBLEMS if severity == ERR}
    assert len(raw) == 13 + 18 == result.load.records
    assert {(sheet, row) for _, sheet, row, valid, _, _ in raw if not valid} == invalid_rows
    by_place = {(sheet, row): (cells, parsed) for _, sheet, row, _, cells, parsed in raw}
    cells, parsed = by_place[(PROJECTS_SHEET, 11)]
    assert cells["Montant estimé HT (€)"] == "12O 000" and parsed["amount_eur"] is None
    cells, parsed = by_place[(PROJECTS_SHEET, 5)]
    assert cells["Année"] == "T3 2026" and (parsed["tender_year"], parsed["tender_quarter"]) == (2026, 3)
    assert parsed["respondent_id"] == "R001" and parsed["works_start_date"] == "2027-01-15"
    assert by_place[(PROJECTS_SHEET, 6)][1]["respondent_id"] == "R001"  # merged cell repeated
    assert by_place[(RESPONDENTS_SHEET, 12)][1]["commune_code"] == "02173"

    dbt = run_dbt(DBT_SELECTION, url)
    assert dbt.succeeded, dbt.describe()

    expected = expected_projects()
    with psycopg.connect(url) as conn:
        fct = conn.execute(
            "select sheet_row, survey_wave, departement_code, owner_type, planned_year, segment,"
            " amount_eur from marts.fct_public_works_projects").fetchall()
        indicator = conn.execute(
            "select measure, survey_wave, geo_level, geo_code, planned_year, segment, owner_type,"
            " commune_size, value, numerator, denominator, n, unknown_share, coverage, status,"
            " method_version, as_of_date from indicators.public_works_outlook").fetchall()
        loaded_on = conn.execute("select finished_at::date from meta.loads where load_id = %s",
                                 (result.load.load_id,)).fetchone()[0]
    assert sorted(fct) == sorted(
        (p["row"], p["wave"], p["dep"], p["type"], p["year"], p["segment"],
         None if p["amount"] is None else Decimal(p["amount"])) for p in expected)

    assert_indicator(indicator, expected, loaded_on)


def assert_indicator(rows: list[tuple], projects: list[dict], loaded_on) -> None:
    """Recompute public_works_outlook from the test's own tables and compare every row."""
    wanted = {}
    cells = defaultdict(list)
    for p in projects:
        for geo in (("departement", p["dep"]), ("region", "32")):
            cells[(p["wave"], *geo, p["year"], p["segment"], p["type"])].append(p)
    project_coverage = _project_coverage()
    for (wave, level, code, year, segment, owner), members in cells.items():
        series = [p for (w, lv, c, _, s, o), ps in cells.items()
                  if (w, lv, c, s, o) == (wave, level, code, segment, owner) for p in ps]
        unknown_year = sum(p["year"] is None for p in series) / len(series)
        amounts = [p["amount"] for p in members if p["amount"] is not None]
        key = (wave, level, code, year, segment, owner, None)
        wanted[("planned_projects", *key)] = (len(members), len(members), unknown_year,
                                              project_coverage[wave])
        wanted[("planned_amount_eur", *key)] = (sum(amounts), len(amounts),
                                                (len(members) - len(amounts)) / len(members),
                                                project_coverage[wave])

    answers = defaultdict(list)
    with_projects = {values[0] for values, _ in PROJECTS}
    seen = set()
    for entry in RESPONDENTS:
        if not entry or not entry[1]["valid"] or entry[0][0] in seen:
            continue
        values, info = entry
        seen.add(values[0])
        no_project = False if values[0] in with_projects else (True if values[8] == "Oui" else None)
        sizes = ["tous"]
        if info["type"] == "commune":
            sizes.append({True: "moins_5000", False: "5000_et_plus", None: "inconnue"}[info["small"]])
        for size in sizes:
            for geo in (("departement", info["dep"]), ("region", "32")):
                answers[(RESPONDENT_WAVE[values[0]], *geo, size)].append(no_project)
    respondent_coverage = {}
    for wave in ("2025", "2026"):
        rows_of_wave = [e[1]["valid"] for e in RESPONDENTS if e and RESPONDENT_WAVE[e[0][0]] == wave]
        respondent_coverage[wave] = sum(rows_of_wave) / len(rows_of_wave)
    for (wave, level, code, size), values in answers.items():
        known = [v for v in values if v is not None]
        wanted[("no_project_share", wave, level, code, None, None, None, size)] = (
            sum(known) / len(known) if known else None, len(known),
            (len(values) - len(known)) / len(values), respondent_coverage[wave])

    got = {row[:8]: row[8:] for row in rows}
    assert set(got) == set(wanted)
    statuses = set()
    for key, (value, n, unknown, coverage) in wanted.items():
        got_value, _numerator, _denominator, got_n, got_unknown, got_coverage, status, version, as_of = got[key]
        assert (got_n, status) == (n, "ok" if n >= MIN_RECORDS else "insufficient data"), key
        if status == "ok":
            assert float(got_value) == pytest.approx(value), key
        else:
            assert got_value is None, key
        assert float(got_unknown) == pytest.approx(unknown, abs=1e-4), key
        assert float(got_coverage) == pytest.approx(coverage, abs=1e-4), key
        assert (version, as_of) == ("1.0", loaded_on)
        statuses.add(status)
    assert statuses == {"ok", "insufficient data"}


def _project_coverage() -> dict[str, float]:
    """Valid project rows / project rows of the file attributed to the wave or to no wave."""
    first_wave = {}
    for entry in RESPONDENTS:
        if entry and entry[0][0] not in first_wave:
            first_wave[entry[0][0]] = RESPONDENT_WAVE[entry[0][0]]
    coverage = {}
    for wave in ("2025", "2026"):
        in_scope, previous = [], None
        for values, expected in PROJECTS:
            respondent_id = previous if values[0] == "↑" else values[0]
            previous = respondent_id
            if first_wave.get(respondent_id) in (None, wave):
                in_scope.append(expected is not None)
        coverage[wave] = sum(in_scope) / len(in_scope)
    return coverage


def test_a_file_sent_again_replaces_the_answers_of_its_waves(survey_env, tmp_path):
    url = survey_env
    first = ingest_survey(fill_survey(tmp_path / "envoi_1.xlsx"), database_url=url)
    # The second file corrects wave 2026 only: one respondent, one project.
    second_path = tmp_path / "envoi_2.xlsx"
    write_template(second_path)
    workbook = load_workbook(second_path)
    workbook[RESPONDENTS_SHEET].append(["R001", 2026, "Commune d'Amiens", None, "Commune", "80",
                                        "80021", "100 000 habitants ou plus", "Non"])
    workbook[PROJECTS_SHEET].append(["R001", "Rénovation énergétique du groupe scolaire", None,
                                     "Rénovation de bâtiment", None, "1,4 M€", 2027])
    workbook.save(second_path)
    second = ingest_survey(second_path, database_url=url)
    assert (first.load.status, second.load.status) == ("loaded", "loaded")

    assert run_dbt(DBT_SELECTION, url).succeeded
    with psycopg.connect(url) as conn:
        fct = conn.execute("select load_id, survey_wave, amount_eur, planned_year"
                           " from marts.fct_public_works_projects").fetchall()
        raw_projects = conn.execute(
            "select count(*) from raw.cerc_survey_rows where record_kind = 'project'").fetchone()[0]
        rejected = conn.execute("select count(*) from raw.cerc_survey_rows"
                                " where record_kind = 'project' and not (record ->> 'valid')::bool"
                                ).fetchone()[0]
    wave_2025 = [p for p in expected_projects() if p["wave"] == "2025"]
    valid_2026_of_first = [p for p in expected_projects() if p["wave"] == "2026"]
    assert sorted(fct) == sorted(
        [(first.load.load_id, "2025", Decimal(p["amount"]), p["year"]) for p in wave_2025]
        + [(second.load.load_id, "2026", Decimal(1_400_000), 2027)])
    # Nothing vanishes: raw = in the mart + rejected + replaced by the later file.
    assert raw_projects == len(fct) + rejected + len(valid_2026_of_first)


def test_csv_twin_is_bundled_loaded_once_and_reported(survey_env, tmp_path):
    url = survey_env
    twins = csv_twin_paths(tmp_path / "enquete.xlsx")
    write_template(tmp_path / "enquete.xlsx")
    with twins["respondent"].open("a", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(["R1", "2026", "Commune de Laon", "", "Commune", "02", "02408",
                         "De 20 000 à 99 999 habitants", "Non"])
        writer.writerow(["R2", "2026", "Commune de Soissons", "", "Commune", "02", "02722", "", "Oui"])
        writer.writerows([[""] * 9] * 3)
    with twins["project"].open("a", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(["R1", "Réhabilitation de l'Hôtel de ville", "", "Rénovation de bâtiment", "",
                         "1 650 000", "2026", "T3", "T1 2027", "12", "En consultation", "Oui", "Oui",
                         "DSIL"])
        writer.writerow(["R1", "Voirie", "", "Routes", "", "environ 1 M€", "2026"])

    bundle = prepare_input([twins["respondent"]])
    result = ingest_survey(bundle, database_url=url)
    again = ingest_survey(prepare_input([twins["project"], twins["respondent"]]), database_url=url)

    assert bundle.suffix == ".zip" and result.load.status == "loaded" and again.load.status == "skipped"
    assert result.totals("respondent") == (2, 2, 0) and result.totals("project") == (2, 1, 1)
    loading = load_workbook(again.report_path)["Synthèse"]["B4"].value
    assert loading == f"déjà chargé : contenu identique à un envoi précédent (chargement n° {result.load.load_id})"
    problems = read_report(result.report_path)
    assert {(p[0], p[1], p[2], p[6]): p[5] for p in problems}.keys() == {
        ("enquete_repondants", 3, "H", WARN), ("enquete_projets", 3, "F", ERR)}
    assert any("tranche de population manquante" in p[5] for p in problems)


def test_a_file_that_is_not_a_survey_fails_cleanly(survey_env, tmp_path):
    url = survey_env
    workbook = Workbook()
    workbook.active.append(["Budget", "Montant"])
    workbook.active.append(["Fonctionnement", 1000])
    path = tmp_path / "budget.xlsx"
    workbook.save(path)

    result = ingest_survey(path, database_url=url)

    assert result.load.status == "failed" and result.report_path is None
    assert "no respondents sheet found" in result.load.error and "budget.xlsx" in result.load.error
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from raw.cerc_survey_rows").fetchone()[0] == 0
        status, error_position = conn.execute(
            "select status, error_position from meta.loads where load_id = %s",
            (result.load.load_id,)).fetchone()
    assert status == "failed" and "Sheet" in error_position


def test_cli_writes_the_template_and_ingests_a_filled_survey(survey_env, tmp_path):
    from orcp.cli import app

    runner = CliRunner()
    template = runner.invoke(app, ["survey", "template", str(tmp_path / "modele.xlsx")])
    assert template.exit_code == 0, template.output
    assert (tmp_path / "modele.xlsx").is_file() and (tmp_path / "modele_projets.csv").is_file()

    filled = fill_survey(tmp_path / "enquete.xlsx")
    report = tmp_path / "rapport.xlsx"
    loaded = runner.invoke(app, ["ingest-survey", str(filled), "--report", str(report)])

    assert loaded.exit_code == 0, loaded.output
    assert "respondents: 13 rows, 10 valid, 3 rejected" in loaded.output
    assert "projects: 18 rows, 11 valid, 7 rejected" in loaded.output
    assert str(report) in loaded.output.replace("\n", "") and report.is_file()
    failed = runner.invoke(app, ["ingest-survey", str(tmp_path / "modele.xlsx")])
    assert failed.exit_code == 1
