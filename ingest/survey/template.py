"""Write the empty intake template: an XLSX workbook for the CERC and its CSV twin."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ingest.survey.schema import (
    COLUMNS,
    HDF_DEPARTEMENTS,
    INSTRUCTIONS_SHEET,
    LISTS_SHEET,
    PROJECT,
    PROJECTS_SHEET,
    RESPONDENT,
    RESPONDENTS_SHEET,
    SHEET_NAMES,
    TEMPLATE_VERSION,
    Column,
)

ANSWER_ROWS = 2000  # rows that get drop-down lists
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
REQUIRED_FILL = PatternFill("solid", fgColor="C00000")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14, color="1F4E78")
SECTION_FONT = Font(bold=True, size=12, color="1F4E78")
WRAP = Alignment(wrap_text=True, vertical="top")
CSV_SUFFIXES = {RESPONDENT: "_repondants.csv", PROJECT: "_projets.csv"}

INSTRUCTIONS = (
    ("À quoi sert ce classeur", (
        ("Recenser, à chaque vague de l'enquête de la CERC Hauts-de-France, les projets de travaux"
        " publics que les maîtres d'ouvrage prévoient de lancer. Les réponses alimentent l'indicateur"
        " « Perspectives de travaux publics » de l'Observatoire régional de la commande publique."),
    )),
    ("Comment le remplir", (
        (f"Feuille « {RESPONDENTS_SHEET} » : une ligne par maître d'ouvrage et par vague d'enquête,"
        " avec un identifiant unique dans le classeur (R001, R002, ...)."),
        (f"Feuille « {PROJECTS_SHEET} » : une ligne par projet, avec l'identifiant du répondant qui le"
        " porte. Un projet dont l'identifiant ne figure pas dans la feuille"
        f" « {RESPONDENTS_SHEET} » est rejeté."),
        ("Maître d'ouvrage sans projet : une ligne de répondant avec « Aucun projet prévu » = Oui et"
        " aucune ligne de projet."),
        ("Plusieurs vagues peuvent figurer dans un même classeur : la colonne « Vague d'enquête » les"
        " distingue. Un classeur transmis de nouveau remplace, pour chaque vague qu'il contient, les"
        " réponses reçues auparavant pour cette vague."),
        ("Colonnes en rouge : obligatoires. Utilisez les listes déroulantes. Ne renommez pas les"
        " colonnes ; les lignes vides sont ignorées."),
        "Montants : en euros hors taxes. Formes acceptées : 1 200 000 ; 1,2 M€ ; 850 k€ ; 1.2e6.",
        "Dates : une année (2026), un trimestre (T3 2026), un mois (09/2026) ou une date (15/09/2026).",
        ("Version CSV : deux fichiers, ..._repondants.csv et ..._projets.csv, mêmes colonnes,"
        " séparateur point-virgule, encodage UTF-8 ; transmettez-les ensemble (par exemple dans une"
        " archive ZIP)."),
    )),
    ("Contrôles à la réception", (
        ("Chaque ligne est contrôlée. Un rapport de contrôle (classeur Excel) liste chaque anomalie :"
        " feuille, ligne, colonne, valeur saisie et problème constaté."),
        ("Une « erreur » écarte la ligne des statistiques : elle est conservée telle quelle et peut être"
        " corrigée dans un nouvel envoi. Un « avertissement » signale une valeur ignorée ou à vérifier ;"
        " la ligne est prise en compte."),
    )),
)


def csv_twin_paths(path: Path) -> dict[str, Path]:
    """The CSV files that go with the workbook ``path``: respondents and projects."""
    return {kind: path.with_name(path.stem + suffix) for kind, suffix in CSV_SUFFIXES.items()}


def write_template(path: Path) -> list[Path]:
    """Write the empty template workbook at ``path`` and its two CSV twins beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook()
    _write_instructions(workbook.active)
    lists = _write_lists(workbook.create_sheet(LISTS_SHEET))
    for kind in (RESPONDENT, PROJECT):
        _write_answer_sheet(workbook.create_sheet(SHEET_NAMES[kind]), COLUMNS[kind], lists)
    workbook[LISTS_SHEET].sheet_state = "hidden"
    workbook.move_sheet(LISTS_SHEET, offset=2)
    workbook.active = 1
    workbook.save(path)
    written = [path]
    for kind, csv_path in csv_twin_paths(path).items():
        with csv_path.open("w", encoding="utf-8-sig", newline="") as stream:
            csv.writer(stream, delimiter=";").writerow(column.header for column in COLUMNS[kind])
        written.append(csv_path)
    return written


def _write_instructions(sheet: Worksheet) -> None:
    sheet.title = INSTRUCTIONS_SHEET
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 34
    sheet.column_dimensions["C"].width = 12
    sheet.column_dimensions["D"].width = 70
    sheet.column_dimensions["E"].width = 28
    sheet.append(["Enquête CERC Hauts-de-France : projets de travaux publics"])
    sheet["A1"].font = TITLE_FONT
    sheet.append([f"Modèle de saisie, version {TEMPLATE_VERSION}"])
    for title, paragraphs in INSTRUCTIONS:
        sheet.append([])
        sheet.append([title])
        sheet.cell(sheet.max_row, 1).font = SECTION_FONT
        for paragraph in paragraphs:
            sheet.append([f"• {paragraph}"])
            sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row,
                              end_column=5)
            sheet.cell(sheet.max_row, 1).alignment = WRAP
            sheet.row_dimensions[sheet.max_row].height = 15 * (1 + len(paragraph) // 150)
    sheet.append([])
    sheet.append(["Colonnes"])
    sheet.cell(sheet.max_row, 1).font = SECTION_FONT
    sheet.append(["Feuille", "Colonne", "Obligatoire", "Description et valeurs acceptées", "Exemple"])
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    for kind in (RESPONDENT, PROJECT):
        for column in COLUMNS[kind]:
            accepted = (" Valeurs : " + " / ".join(c.label for c in column.choices)
                        if column.choices else "")
            sheet.append([SHEET_NAMES[kind], column.header, "oui" if column.required else "non",
                          column.help + accepted, column.example])
            for cell in sheet[sheet.max_row]:
                cell.alignment = WRAP


def _write_lists(sheet: Worksheet) -> dict[str, str]:
    """One column per drop-down list; returns column key -> range formula for data validation."""
    lists: dict[str, list[str]] = {}
    for kind in (RESPONDENT, PROJECT):
        for column in COLUMNS[kind]:
            if column.choices:
                lists.setdefault(column.key, [choice.label for choice in column.choices])
    lists["departement"] = [f"{code} - {name}" for code, name in HDF_DEPARTEMENTS]
    formulas = {}
    for index, (key, labels) in enumerate(lists.items(), start=1):
        letter = get_column_letter(index)
        sheet.cell(1, index, key)
        for row, label in enumerate(labels, start=2):
            sheet.cell(row, index, label)
        formulas[key] = f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(labels) + 1}"
    return formulas


# Lists the user may override (other départements, a number of inhabitants): warn, do not block.
_OPEN_LISTS = {"departement", "population_band"}


def _write_answer_sheet(sheet: Worksheet, columns: tuple[Column, ...], lists: dict[str, str]) -> None:
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(1, index, column.header)
        cell.font = HEADER_FONT
        cell.fill = REQUIRED_FILL if column.required else HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.comment = Comment(f"{column.help}\nExemple : {column.example}", "ORCP", width=320,
                               height=120)
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        if column.key in lists:
            _add_validation(sheet, letter, DataValidation(
                type="list", formula1=lists[column.key], allow_blank=True,
                errorStyle="warning" if column.key in _OPEN_LISTS else "stop",
                errorTitle="Valeur hors liste", error="Choisissez une valeur de la liste déroulante.",
                promptTitle=column.header[:32], prompt=column.help[:255], showInputMessage=True))
        elif column.key == "tender_year":
            _add_validation(sheet, letter, DataValidation(
                type="whole", operator="between", formula1="2000", formula2="2100", allow_blank=True,
                errorStyle="warning", errorTitle="Année", error="Une année (2026) est attendue."))
    sheet.row_dimensions[1].height = 45
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}1"


def _add_validation(sheet: Worksheet, letter: str, validation: DataValidation) -> None:
    validation.showErrorMessage = True
    sheet.add_data_validation(validation)
    validation.add(f"{letter}2:{letter}{ANSWER_ROWS + 1}")
