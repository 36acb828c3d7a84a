"""Check every answer row and turn the file into raw records: cells as typed, parsed values, problems.

Values are parsed here, once, in Python: the same parsing decides what is valid and gives the
typed values staging reads (``parsed``), while ``cells`` keeps what the user typed. A row with
an error is still loaded into raw (``valid`` false) and listed in the report; it only stays out
of the marts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import orjson

from ingest.formats import ParsedFile, RawRecord
from ingest.survey.reader import SheetRow, SurveyFile, SurveySheet, read_survey
from ingest.survey.reference import Cog, Commune, Departement, load_cog
from ingest.survey.schema import (
    COLUMNS,
    ERROR,
    LAYOUT,
    OWNER_TYPES,
    POPULATION_BAND_LIMITS,
    POPULATION_BANDS,
    PROJECT,
    RAW_TABLE,
    RESPONDENT,
    RESPONDENTS_SHEET,
    SEGMENTS,
    STATUSES,
    UNDER_5000_BANDS,
    WARNING,
    YES_NO,
    Problem,
)
from ingest.survey.values import (
    Period,
    Unreadable,
    cell_text,
    is_blank,
    parse_amount,
    parse_choice,
    parse_duration,
    parse_period,
    parse_population,
    parse_quarter,
    parse_siret,
    parse_yes_no,
    plain_text,
)

MAX_AMOUNT = Decimal(10_000_000_000)
LOW_AMOUNT = Decimal(1_000)


@dataclass
class ValidatedRow:
    kind: str
    sheet: SurveySheet
    row: SheetRow
    parsed: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(problem.severity == ERROR for problem in self.problems)

    @property
    def where(self) -> str:
        return f"feuille {self.sheet.name}, ligne {self.row.number}"

    def payload(self) -> bytes:
        return orjson.dumps({
            "sheet": self.sheet.name, "row": self.row.number, "cells": self.sheet.cells(self.row),
            "parsed": self.parsed, "problems": [p.as_payload() for p in self.problems],
            "valid": self.valid,
        }, default=_json_default)


@dataclass
class SurveyValidation:
    survey: SurveyFile
    rows: list[ValidatedRow]

    def of_kind(self, kind: str) -> list[ValidatedRow]:
        return [row for row in self.rows if row.kind == kind]

    @property
    def problems(self) -> list[Problem]:
        order = {sheet.name: index for index, sheet in enumerate(self.survey.sheets)}
        found = self.survey.problems + [p for row in self.rows for p in row.problems]
        return sorted(found, key=lambda p: (order.get(p.sheet, -1), p.row or 0,
                                            len(p.column), p.column))

    def records(self) -> Iterator[RawRecord]:
        for number, row in enumerate(self.rows, start=1):
            yield RawRecord(number, LAYOUT, row.kind, row.payload())

    def parsed_file(self) -> ParsedFile:
        return ParsedFile(f"{LAYOUT}-{self.survey.format}", RAW_TABLE, self.records())


def validate_file(path: Path) -> SurveyValidation:
    """Read and check a filled survey file (raises ParseError when it is not one)."""
    return validate(read_survey(path), load_cog())


def validate(survey: SurveyFile, cog: Cog) -> SurveyValidation:
    respondents = [_check_respondent(sheet, row, cog)
                   for sheet in survey.sheets_of(RESPONDENT) for row in sheet.rows]
    by_key = _index_respondents(respondents)
    projects = [_check_project(sheet, row, cog, by_key)
                for sheet in survey.sheets_of(PROJECT) for row in sheet.rows]
    _check_no_project_answers(respondents, projects)
    sheet_order = {sheet.name: index for index, sheet in enumerate(survey.sheets)}
    rows = sorted(respondents + projects, key=lambda r: (sheet_order[r.sheet.name], r.row.number))
    return SurveyValidation(survey, rows)


class _RowCheck:
    """Reads the cells of one row, recording a problem for each one it cannot read."""

    def __init__(self, kind: str, sheet: SurveySheet, row: SheetRow):
        self.result = ValidatedRow(kind, sheet, row)
        self.fields = {column.key: column for column in COLUMNS[kind]}

    def raw(self, key: str) -> object:
        return self.result.sheet.value(self.result.row, key)

    def problem(self, key: str, message: str, severity: str = ERROR) -> None:
        column = self.result.sheet.column(key)
        self.result.problems.append(Problem(
            self.result.sheet.name, self.result.row.number, column.letter if column else "",
            column.header if column else self.fields[key].header, cell_text(self.raw(key)),
            message, severity))

    def read(self, key: str, parse: Callable[[object], object], severity: str = ERROR,
             missing: str = "valeur obligatoire manquante") -> object:
        value = self.raw(key)
        if is_blank(value):
            if self.fields[key].required:
                self.problem(key, missing)
            return None
        try:
            return parse(value)
        except Unreadable as exc:
            self.problem(key, str(exc), severity)
            return None


# --- respondents ----------------------------------------------------------------------------

def _check_respondent(sheet: SurveySheet, row: SheetRow, cog: Cog) -> ValidatedRow:
    check = _RowCheck(RESPONDENT, sheet, row)
    respondent_id = check.read("respondent_id", plain_text)
    owner_type = check.read("owner_type", lambda v: parse_choice(v, OWNER_TYPES).code)
    band = check.read("population_band",
                      lambda v: parse_population(v, POPULATION_BANDS, POPULATION_BAND_LIMITS), WARNING)
    place = _check_place(check, cog)
    if owner_type == "commune" and place.get("commune_code") is None and is_blank(check.raw("commune_code")):
        check.problem("commune_code", "code INSEE manquant pour une commune", WARNING)
    if owner_type == "commune" and band is None and is_blank(check.raw("population_band")):
        check.problem("population_band", "tranche de population manquante pour une commune", WARNING)
    check.result.parsed = {
        "respondent_id": respondent_id, "respondent_key": respondent_key(respondent_id),
        "survey_wave": check.read("survey_wave", plain_text),
        "owner_name": check.read("owner_name", plain_text),
        "siret": check.read("siret", parse_siret, WARNING),
        "owner_type": owner_type, **place, "population_band": band,
        "under_5000": None if band is None else band in UNDER_5000_BANDS,
        "no_project_planned": check.read("no_project", lambda v: parse_yes_no(v, YES_NO), WARNING),
    }
    return check.result


def respondent_key(respondent_id: str | None) -> str | None:
    """How projects name their respondent: case, spaces and leading zeros of numbers do not matter."""
    if respondent_id is None:
        return None
    return re.sub(r"(?<!\d)0+(?=\d)", "", re.sub(r"\s+", "", respondent_id.upper()))


def _check_place(check: _RowCheck, cog: Cog) -> dict:
    departement = check.read("departement", lambda v: _parse_departement(v, cog))
    commune = check.read("commune_code", lambda v: _parse_commune(
        v, cog, departement.code if departement else None, check))
    if departement and commune and commune.departement_code != departement.code:
        check.problem("commune_code", f"la commune {commune.code} ({commune.name}) est dans le"
                      f" département {commune.departement_code}, pas dans le {departement.code}")
        commune = None
    if departement is None and commune is None and is_blank(check.raw("departement")) \
            and is_blank(check.raw("commune_code")):
        check.problem("departement", "département manquant (ou code INSEE de la commune)")
    departement = departement or (cog.departements[commune.departement_code] if commune else None)
    return {"departement_code": departement.code if departement else None,
            "region_code": departement.region_code if departement else None,
            "commune_code": commune.code if commune else None}


def _parse_departement(value: object, cog: Cog) -> Departement:
    text = cell_text(value).upper()
    match = re.match(r"^(97\d|2A|2B|\d{1,2})(?![\dA-Z])", text)
    code = match.group(1).zfill(2) if match else None
    found = cog.departements.get(code) if code else cog.departement_named(text)
    if found is None:
        raise Unreadable("département inconnu (code attendu : 02, 59, 60, 62, 80, ...)")
    return found


def _parse_commune(value: object, cog: Cog, departement_code: str | None, check: _RowCheck) -> Commune:
    text = cell_text(value).upper().replace(" ", "")
    if re.fullmatch(r"\d{4}", text):  # a leading zero lost in a number cell (Aisne: 02...)
        text = "0" + text
    if re.fullmatch(r"\d{5}|2[AB]\d{3}", text):
        if text in cog.communes:
            return cog.communes[text]
        raise Unreadable("commune inconnue : code absent du COG 2025 (code INSEE attendu, pas le"
                         " code postal)")
    named = cog.communes_named(cell_text(value), departement_code)
    if len(named) == 1:
        check.problem("commune_code", f"commune saisie par son nom : code INSEE {named[0].code}"
                      " retenu", WARNING)
        return named[0]
    raise Unreadable("commune inconnue : code INSEE à 5 caractères du COG 2025 attendu")


def _index_respondents(respondents: list[ValidatedRow]) -> dict[str, ValidatedRow]:
    """Respondents by key; a key used again is an error on the later row."""
    by_key: dict[str, ValidatedRow] = {}
    for respondent in respondents:
        key = respondent.parsed["respondent_key"]
        if key is None:
            continue
        if key in by_key:
            first = by_key[key]
            _add(respondent, "respondent_id", f"identifiant répondant en double (déjà utilisé"
                 f" {first.where})")
        else:
            by_key[key] = respondent
    return by_key


# --- projects -------------------------------------------------------------------------------

def _check_project(sheet: SurveySheet, row: SheetRow, cog: Cog,
                   respondents: dict[str, ValidatedRow]) -> ValidatedRow:
    check = _RowCheck(PROJECT, sheet, row)
    respondent_id = check.read("respondent_id", plain_text,
                               missing="projet sans répondant : identifiant répondant manquant")
    respondent = _linked_respondent(check, respondent_id, respondents)
    home = respondent.parsed["departement_code"] if respondent else None
    commune = check.read("commune_code", lambda v: _parse_commune(v, cog, home, check))
    tender_year, tender_quarter = _check_tender(check)
    start = check.read("works_start", parse_period)
    check.result.parsed = {
        "respondent_id": respondent_id, "respondent_key": respondent_key(respondent_id),
        "label": check.read("label", plain_text),
        "commune_code": commune.code if commune else None,
        "departement_code": commune.departement_code if commune else None,
        "region_code": commune.region_code if commune else None,
        "segment": check.read("segment", lambda v: parse_choice(v, SEGMENTS).code),
        "nature": check.read("nature", plain_text),
        "amount_eur": _check_amount(check),
        "tender_year": tender_year, "tender_quarter": tender_quarter,
        "works_start_date": start.first_day.isoformat() if start else None,
        "works_start_precision": start.precision if start else None,
        "duration_months": check.read("duration_months", parse_duration, WARNING),
        "status": check.read("status", lambda v: parse_choice(v, STATUSES).code, WARNING),
        "social_clause": check.read("social_clause", lambda v: parse_yes_no(v, YES_NO), WARNING),
        "environmental_criterion": check.read("environmental_criterion",
                                              lambda v: parse_yes_no(v, YES_NO), WARNING),
        "funding": check.read("funding", plain_text),
    }
    return check.result


def _linked_respondent(check: _RowCheck, respondent_id: str | None,
                       respondents: dict[str, ValidatedRow]) -> ValidatedRow | None:
    if respondent_id is None:
        return None
    respondent = respondents.get(respondent_key(respondent_id))
    if respondent is None:
        check.problem("respondent_id", f"projet sans répondant : « {respondent_id} » absent de la"
                      f" feuille {RESPONDENTS_SHEET}")
    elif not respondent.valid:
        check.problem("respondent_id", f"répondant rejeté ({respondent.where}) : projet non retenu")
    return respondent


def _check_amount(check: _RowCheck) -> int | float | None:
    amount = check.read("amount_eur", parse_amount)
    if amount is None:
        return None
    if amount <= 0:
        check.problem("amount_eur", "montant nul ou négatif")
        return None
    if amount > MAX_AMOUNT:
        check.problem("amount_eur", "montant invraisemblable (plus de 10 milliards d'euros)")
        return None
    if amount < LOW_AMOUNT:
        check.problem("amount_eur", "montant inférieur à 1 000 € HT : vérifier l'unité (k€, M€ ?)",
                      WARNING)
    return _json_number(amount)


def _check_tender(check: _RowCheck) -> tuple[int | None, int | None]:
    """Planned tender year and quarter; either column may hold the whole period ('T3 2026')."""
    period: Period | None = check.read("tender_year", parse_period)
    quarter_cell = check.read("tender_quarter", parse_quarter)
    year = period.year if period else None
    quarter = period.quarter if period and period.precision != "semestre" else None
    if isinstance(quarter_cell, Period):
        if year is not None and quarter_cell.year != year:
            check.problem("tender_quarter", f"année différente de celle de la colonne année ({year})")
            return None, None
        year, quarter_cell = quarter_cell.year, quarter_cell.quarter
    if quarter_cell is not None:
        if quarter is not None and quarter != quarter_cell:
            check.problem("tender_quarter", f"trimestre différent de la date indiquée (T{quarter})")
            return year, None
        quarter = quarter_cell
    if quarter is not None and year is None:
        check.problem("tender_quarter", "trimestre sans année de consultation : ignoré", WARNING)
        quarter = None
    return year, quarter


# --- answers that contradict each other -----------------------------------------------------

def _check_no_project_answers(respondents: list[ValidatedRow], projects: list[ValidatedRow]) -> None:
    """'No project planned' must agree with the project rows that name the respondent."""
    declared: dict[str, int] = {}
    for project in projects:
        key = project.parsed["respondent_key"]
        if key:
            declared[key] = declared.get(key, 0) + 1
    seen = set()
    for respondent in respondents:
        key = respondent.parsed["respondent_key"]
        if key is None or key in seen:
            continue
        seen.add(key)
        count, no_project = declared.get(key, 0), respondent.parsed["no_project_planned"]
        if no_project and count:
            _add(respondent, "no_project", f"« Aucun projet prévu » mais {count} projet(s) déclaré(s)",
                 WARNING)
        elif not no_project and not count:
            _add(respondent, "no_project", "aucun projet déclaré : indiquer « Oui » dans « Aucun"
                 " projet prévu » si c'est le cas", WARNING)


def _add(row: ValidatedRow, key: str, message: str, severity: str = ERROR) -> None:
    column = row.sheet.column(key)
    header = column.header if column else next(c.header for c in COLUMNS[row.kind] if c.key == key)
    value = row.sheet.value(row.row, key)
    row.problems.append(Problem(row.sheet.name, row.row.number, column.letter if column else "",
                                header, cell_text(value), message, severity))


def _json_number(amount: Decimal) -> int | float:
    rounded = amount.quantize(Decimal("0.01"))
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return _json_number(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

