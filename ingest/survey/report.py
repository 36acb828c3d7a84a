"""The control report the CERC opens in Excel: a summary and one line per problem found."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ingest.loader import LoadResult
from ingest.survey.schema import ERROR, PROJECT, RESPONDENT, WARNING
from ingest.survey.validation import SurveyValidation

SUMMARY_SHEET = "Synthèse"
PROBLEMS_SHEET = "Anomalies"
PROBLEM_HEADERS = ("Feuille", "Ligne", "Colonne", "Intitulé de colonne", "Valeur saisie", "Problème",
                   "Gravité")
PROBLEM_WIDTHS = (18, 8, 9, 34, 30, 80, 14)
SUMMARY_HEADERS = ("Feuille", "Contenu", "Ligne d'en-tête", "Lignes lues", "Lignes retenues",
                   "Lignes rejetées", "Erreurs", "Avertissements")
KIND_LABELS = {RESPONDENT: "répondants", PROJECT: "projets"}
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
ERROR_FILL = PatternFill("solid", fgColor="F8CBAD")
WARNING_FILL = PatternFill("solid", fgColor="FFE699")


@dataclass
class SheetCounts:
    sheet: str
    kind: str
    header_row: int
    rows: int
    valid: int
    errors: int
    warnings: int

    @property
    def rejected(self) -> int:
        return self.rows - self.valid


def sheet_counts(validation: SurveyValidation) -> list[SheetCounts]:
    counts, all_problems = [], validation.problems
    for sheet in validation.survey.sheets:
        rows = [row for row in validation.rows if row.sheet is sheet]
        problems = [p for p in all_problems if p.sheet == sheet.name]
        counts.append(SheetCounts(
            sheet.name, sheet.kind, sheet.header_row, len(rows), sum(row.valid for row in rows),
            sum(p.severity == ERROR for p in problems), sum(p.severity == WARNING for p in problems)))
    return counts


def write_report(validation: SurveyValidation, path: Path, load: LoadResult | None = None) -> Path:
    """Write the control report workbook (French) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook()
    _write_summary(workbook.active, validation, load)
    _write_problems(workbook.create_sheet(PROBLEMS_SHEET), validation)
    workbook.save(path)
    return path


def describe_load(load: LoadResult | None) -> str:
    if load is None:
        return "contrôle seul (rien n'a été chargé)"
    if load.status == "loaded":
        return f"chargé dans l'entrepôt ({load.records} lignes, chargement n° {load.load_id})"
    if load.status == "skipped":
        previous = re.search(r"load (\d+)", load.error or "")
        return ("déjà chargé : contenu identique à un envoi précédent"
                + (f" (chargement n° {previous.group(1)})" if previous else ""))
    return f"échec du chargement : {load.error}"


def _write_summary(sheet: Worksheet, validation: SurveyValidation, load: LoadResult | None) -> None:
    sheet.title = SUMMARY_SHEET
    sheet.append(["Rapport de contrôle : enquête CERC sur les projets de travaux publics"])
    sheet["A1"].font = Font(bold=True, size=14, color="1F4E78")
    sheet.append(["Fichier", validation.survey.name])
    sheet.append(["Contrôlé le", datetime.now().strftime("%d/%m/%Y %H:%M")])
    sheet.append(["Chargement", describe_load(load)])
    sheet.append([])
    _header_row(sheet, SUMMARY_HEADERS)
    counts = sheet_counts(validation)
    for c in counts:
        sheet.append([c.sheet, KIND_LABELS[c.kind], c.header_row, c.rows, c.valid, c.rejected,
                      c.errors, c.warnings])
    sheet.append(["Total", "", "", sum(c.rows for c in counts), sum(c.valid for c in counts),
                  sum(c.rejected for c in counts), sum(c.errors for c in counts),
                  sum(c.warnings for c in counts)])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.append([])
    for line in (
        ("Erreur : la ligne est écartée des statistiques. Elle est conservée telle quelle et peut être"
        " corrigée dans un nouvel envoi."),
        "Avertissement : la ligne est prise en compte ; la valeur signalée est ignorée ou à vérifier.",
        f"Le détail ligne par ligne figure dans la feuille « {PROBLEMS_SHEET} ».",
    ):
        sheet.append([line])
    for index, width in enumerate((22, 60, 15, 12, 15, 15, 10, 16), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _write_problems(sheet: Worksheet, validation: SurveyValidation) -> None:
    _header_row(sheet, PROBLEM_HEADERS)
    for problem in validation.problems:
        sheet.append([problem.sheet, problem.row, problem.column, problem.header, problem.value,
                      problem.message, problem.severity])
        fill = ERROR_FILL if problem.severity == ERROR else WARNING_FILL
        sheet.cell(sheet.max_row, len(PROBLEM_HEADERS)).fill = fill
        sheet.cell(sheet.max_row, 6).alignment = Alignment(wrap_text=True, vertical="top")
    for index, width in enumerate(PROBLEM_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(PROBLEM_HEADERS))}{max(sheet.max_row, 1)}"


def _header_row(sheet: Worksheet, headers: tuple[str, ...]) -> None:
    sheet.append(list(headers))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
