"""CERC survey intake without a database: the template, the value parsers, the tolerant reader."""

from __future__ import annotations

import csv
import re
from datetime import datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from ingest.formats import ParseError
from ingest.survey.reader import read_survey
from ingest.survey.reference import load_cog
from ingest.survey.schema import (
    COLUMNS,
    INSTRUCTIONS_SHEET,
    LISTS_SHEET,
    OWNER_TYPES,
    PROJECT,
    PROJECTS_SHEET,
    RESPONDENT,
    RESPONDENTS_SHEET,
    SEGMENTS,
)
from ingest.survey.template import write_template
from ingest.survey.validation import validate
from ingest.survey.values import (
    Unreadable,
    parse_amount,
    parse_duration,
    parse_period,
    parse_quarter,
)


def test_template_has_french_sheets_headers_lists_and_a_csv_twin(tmp_path):
    written = write_template(tmp_path / "modele.xlsx")

    assert [p.name for p in written] == ["modele.xlsx", "modele_repondants.csv", "modele_projets.csv"]
    workbook = load_workbook(written[0])
    assert workbook.sheetnames == [INSTRUCTIONS_SHEET, RESPONDENTS_SHEET, PROJECTS_SHEET, LISTS_SHEET]
    assert workbook[LISTS_SHEET].sheet_state == "hidden"
    instructions = " ".join(str(c.value) for row in workbook[INSTRUCTIONS_SHEET].iter_rows()
                            for c in row if c.value)
    assert "Montants : en euros hors taxes" in instructions and "Segment" in instructions
    for kind, sheet_name in ((RESPONDENT, RESPONDENTS_SHEET), (PROJECT, PROJECTS_SHEET)):
        sheet = workbook[sheet_name]
        headers = [cell.value for cell in sheet[1]]
        assert headers == [column.header for column in COLUMNS[kind]]
        assert all(cell.comment is not None for cell in sheet[1])
        twin = written[1 if kind == RESPONDENT else 2]
        with twin.open(encoding="utf-8-sig", newline="") as stream:
            assert next(csv.reader(stream, delimiter=";")) == headers
    lists = workbook[LISTS_SHEET]
    validations = {str(v.sqref): v for v in workbook[PROJECTS_SHEET].data_validations.dataValidation}
    segment = validations["D2:D2001"]  # Segment is the 4th project column
    assert segment.type == "list" and segment.formula1.startswith(f"'{LISTS_SHEET}'!$")
    letter = _list_column(segment.formula1)
    listed = [lists[f"{letter}{row}"].value for row in range(2, 2 + len(SEGMENTS))]
    assert listed == [choice.label for choice in SEGMENTS]
    owner = {str(v.sqref): v for v in workbook[RESPONDENTS_SHEET].data_validations.dataValidation}["E2:E2001"]
    letter = _list_column(owner.formula1)
    assert [lists[f"{letter}{row}"].value for row in range(2, 2 + len(OWNER_TYPES))] == \
        [choice.label for choice in OWNER_TYPES]


def _list_column(formula: str) -> str:
    return re.search(r"!\$([A-Z]+)\$", formula).group(1)


def test_empty_template_is_not_an_answer(tmp_path):
    path = write_template(tmp_path / "modele.xlsx")[0]
    with pytest.raises(ParseError, match="no answers"):
        read_survey(path)


@pytest.mark.parametrize("written, expected", [
    ("1,2 M€", 1_200_000), ("850 k€", 850_000), ("1 200 000", 1_200_000), ("1.2e6", 1_200_000),
    ("1.200.000 € HT", 1_200_000), ("1,200,000", 1_200_000), ("850.000", 850_000),
    ("1 200 000,50", Decimal("1200000.50")), ("2M€HT", 2_000_000), ("2,5 millions", 2_500_000),
    ("850K€", 850_000), ("1\u202f200\u00a0000 €", 1_200_000), (640000, 640_000),
    (1.5e6, 1_500_000), ("NC", None), ("", None), ("à définir", None),
])
def test_amounts_in_every_written_form(written, expected):
    assert parse_amount(written) == expected


@pytest.mark.parametrize("written", ["12O 000", "1,2 ou 1,5 M€", "deux millions", "1 500 000 € TTC",
                                     "3 Mrd"])
def test_unreadable_amounts_are_refused(written):
    with pytest.raises(Unreadable):
        parse_amount(written)


@pytest.mark.parametrize("written, year, quarter, precision", [
    (2026, 2026, None, "annee"), ("2026", 2026, None, "annee"), ("T3 2026", 2026, 3, "trimestre"),
    ("3e trimestre 2026", 2026, 3, "trimestre"), ("2026-T3", 2026, 3, "trimestre"),
    ("3T2026", 2026, 3, "trimestre"), ("S2 2026", 2026, 3, "semestre"), ("09/2026", 2026, 3, "mois"),
    ("sept. 2026", 2026, 3, "mois"), ("15/11/2026", 2026, 4, "jour"), ("2026-11-15", 2026, 4, "jour"),
    (datetime(2027, 2, 1), 2027, 1, "jour"), (46023, 2026, 1, "jour"), ("fin 2026", 2026, 4, "trimestre"),
])
def test_periods_as_years_quarters_and_dates(written, year, quarter, precision):
    period = parse_period(written)
    assert (period.year, period.quarter, period.precision) == (year, quarter, precision)


def test_unreadable_periods_quarters_and_durations():
    for written in ("T5 2026", "bientôt", "1850"):
        with pytest.raises(Unreadable):
            parse_period(written)
    assert parse_quarter("T2") == 2 and parse_quarter(4) == 4 and parse_quarter("3e trimestre") == 3
    with pytest.raises(Unreadable):
        parse_quarter("T7")
    assert parse_duration("2 ans") == 24 and parse_duration("18 mois") == 18 and parse_duration(9) == 9
    with pytest.raises(Unreadable):
        parse_duration("deux ans")


def test_reader_finds_moved_renamed_and_grouped_columns(tmp_path):
    """A workbook not made from the template: title row, two-level header, columns in another order."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Maîtres d'ouvrage"
    sheet.append(["Enquête 2026"])
    sheet.merge_cells("A1:F1")
    sheet.append(["Vague", "N° répondant", "Nom de la collectivité", "Catégorie", "Dépt",
                  "Code INSEE"])
    sheet.append([2026, 1, "Commune d'Arras", "Mairie", 62, 62041])
    projects = workbook.create_sheet("Projets 2026")
    projects.append(["Projet", None, "Montant", "Début des travaux", None, "Répondant"])
    projects.merge_cells("D1:E1")
    projects.merge_cells("A1:B1")
    projects.append(["Intitulé", "Secteur", "Coût estimé", "Date", "Durée (mois)", "N° répondant",
                     "Année de consultation"])
    projects.append(["Place des Héros", "Aménagement", "1,5 M€", "2027", "8 mois", "001", "T4 2026"])
    for _ in range(30):
        projects.append([None, "  ", None])
    path = tmp_path / "export.xlsx"
    workbook.save(path)

    survey = read_survey(path)
    respondents, = survey.sheets_of(RESPONDENT)
    assert (respondents.header_row, len(respondents.rows)) == (2, 1)
    assert {c.key for c in respondents.columns} == {"survey_wave", "respondent_id", "owner_name",
                                                   "owner_type", "departement", "commune_code"}
    project_sheet, = survey.sheets_of(PROJECT)
    assert project_sheet.header_row == 2 and len(project_sheet.rows) == 1
    assert project_sheet.column("works_start").header == "Début des travaux Date"
    assert project_sheet.column("duration_months").header == "Durée (mois)"
    checked = validate(survey, load_cog())
    assert [row.valid for row in checked.rows] == [True, True]
    project = checked.of_kind(PROJECT)[0].parsed
    assert (project["segment"], project["amount_eur"], project["tender_year"],
            project["tender_quarter"], project["works_start_date"]) == \
        ("amenagement_urbain", 1_500_000, 2026, 4, "2027-01-01")
    assert checked.of_kind(RESPONDENT)[0].parsed["owner_type"] == "commune"
