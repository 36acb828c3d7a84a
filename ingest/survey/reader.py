"""Tolerant reading of filled survey files: find the answer sheets, their header row and columns.

Accepts the XLSX template as people really fill it (title rows above the header, two-level
headers with merged group cells, columns renamed or moved, respondent cells merged over their
projects, blank and trailing empty rows, several sheets of the same kind) and its CSV twin
(one CSV per sheet, alone or together in a ZIP archive).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from ingest.formats import ParseError
from ingest.survey.schema import (
    COLUMNS,
    ERROR,
    PROJECT,
    RESPONDENT,
    TEMPLATE_ONLY_SHEETS,
    WARNING,
    Column,
    Problem,
    normalise,
)
from ingest.survey.values import cell_text, is_blank

HEADER_SCAN_ROWS = 15  # the header row is searched among the first rows of a sheet
MIN_MATCHED_COLUMNS = 3  # fewer recognised columns: not an answer sheet
CSV_DELIMITERS = ";,\t"

Grid = list[list[object]]


@dataclass
class SheetColumn:
    index: int  # 0-based
    header: str  # as written (with its group label for two-level headers)
    key: str | None  # field key, None when not recognised
    by_group: bool = False  # recognised only with the group label above it

    @property
    def letter(self) -> str:
        return get_column_letter(self.index + 1)


@dataclass
class SheetRow:
    number: int  # row number as the user sees it (1-based)
    values: list[object]


@dataclass
class SurveySheet:
    name: str
    kind: str  # respondent / project
    header_row: int
    columns: list[SheetColumn]
    rows: list[SheetRow] = field(default_factory=list)

    def column(self, key: str) -> SheetColumn | None:
        return next((column for column in self.columns if column.key == key), None)

    def value(self, row: SheetRow, key: str) -> object:
        column = self.column(key)
        return row.values[column.index] if column and column.index < len(row.values) else None

    def cells(self, row: SheetRow) -> dict[str, object]:
        """The row's non-empty cells keyed by their header, as typed (faithful copy for raw)."""
        cells = {}
        for column in self.columns:
            value = row.values[column.index] if column.index < len(row.values) else None
            if not is_blank(value):
                name = column.header or column.letter
                cells[name if name not in cells else f"{name} ({column.letter})"] = value
        return cells


@dataclass
class SurveyFile:
    name: str
    format: str  # xlsx / csv / csv-zip
    sheets: list[SurveySheet]
    problems: list[Problem]  # about the file's structure (sheets, headers)

    def sheets_of(self, kind: str) -> list[SurveySheet]:
        return [sheet for sheet in self.sheets if sheet.kind == kind]


def read_survey(path: Path) -> SurveyFile:
    """Read a filled survey file; raise ParseError when it holds no recognisable answers."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        grids, file_format = _xlsx_grids(path), "xlsx"
    elif suffix == ".zip":
        grids, file_format = _zip_grids(path), "csv-zip"
    elif suffix == ".csv":
        grids, file_format = [(path.stem, _csv_grid(path.read_bytes(), path.name), {})], "csv"
    else:
        raise ParseError(f"unsupported survey file type '{suffix}': expected .xlsx, .csv or a .zip"
                         " of the two CSV files (an old .xls or .ods must be saved as .xlsx)", "file")
    survey = SurveyFile(path.name, file_format, [], [])
    for name, grid, header_fill in grids:
        if normalise(name) in TEMPLATE_ONLY_SHEETS:
            continue
        sheet = _read_sheet(name, grid, header_fill, survey.problems)
        if sheet:
            survey.sheets.append(sheet)
    if not survey.sheets_of(RESPONDENT):
        headers = ", ".join(f"'{c.header}'" for c in COLUMNS[RESPONDENT] if c.required)
        raise ParseError(f"no respondents sheet found (a sheet with the columns {headers})",
                         f"sheets {', '.join(name for name, _, _ in grids) or '(none)'}")
    if not any(sheet.rows for sheet in survey.sheets):
        raise ParseError("the file holds no answers (header rows only)",
                         f"sheets {', '.join(sheet.name for sheet in survey.sheets)}")
    return survey


# --- file formats -> grids of cell values ---------------------------------------------------

def _xlsx_grids(path: Path) -> list[tuple[str, Grid, dict]]:
    try:
        workbook = load_workbook(path, data_only=True)  # data_only: cached values of formulas
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ParseError(f"not a readable Excel workbook ({exc})", "file") from exc
    grids = []
    for sheet in workbook.worksheets:
        grid = [list(row) for row in sheet.iter_rows(values_only=True)]
        header_fill = {}
        for merged in sheet.merged_cells.ranges:
            top_left = grid[merged.min_row - 1][merged.min_col - 1]
            for row in range(merged.min_row, merged.max_row + 1):
                # A cell merged down a column (a respondent over its projects) repeats its value.
                grid[row - 1][merged.min_col - 1] = top_left
                for col in range(merged.min_col, merged.max_col + 1):
                    if row <= HEADER_SCAN_ROWS + 1:  # group labels spread over their columns
                        header_fill[(row - 1, col - 1)] = top_left
        grids.append((sheet.title, grid, header_fill))
    workbook.close()
    return grids


def _zip_grids(path: Path) -> list[tuple[str, Grid, dict]]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(name for name in archive.namelist()
                             if name.lower().endswith(".csv") and not name.startswith("__MACOSX"))
            return [(Path(name).stem, _csv_grid(archive.read(name), f"{path.name}:{name}"), {})
                    for name in members]
    except zipfile.BadZipFile as exc:
        raise ParseError(f"not a readable ZIP archive ({exc})", "file") from exc


def _csv_grid(data: bytes, where: str) -> Grid:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    first_line = text.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first_line, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ";"
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ParseError(f"unreadable CSV ({exc})", where) from exc
    return [[value if value.strip() else None for value in row] for row in rows]


# --- header detection -----------------------------------------------------------------------

def _read_sheet(name: str, grid: Grid, header_fill: dict, problems: list[Problem]) -> SurveySheet | None:
    found = _find_header(grid, header_fill, name)
    if found is None:
        if any(not is_blank(value) for row in grid for value in row):
            problems.append(Problem(name, None, "", "", "", "feuille non reconnue (ni répondants ni"
                                    " projets) : ignorée", WARNING))
        return None
    kind, header_index, columns = found
    sheet = SurveySheet(name, kind, header_index + 1, columns)
    _report_columns(sheet, problems)
    for index in range(header_index + 1, len(grid)):
        values = grid[index]
        if all(is_blank(value) for value in values):
            continue  # blank and trailing empty rows
        row = SheetRow(index + 1, values)
        if all(is_blank(sheet.value(row, c.key)) for c in sheet.columns if c.key):
            problems.append(Problem(name, row.number, "", "", _row_text(values),
                                    "ligne ignorée : aucune colonne reconnue n'est renseignée", WARNING))
            continue
        sheet.rows.append(row)
    return sheet


def _find_header(grid: Grid, header_fill: dict, sheet_name: str):
    """(kind, header row index, columns) of the best header among the first rows, or None."""
    best, best_score = None, (0, 0)
    for index in range(min(HEADER_SCAN_ROWS, len(grid))):
        for kind in (RESPONDENT, PROJECT):
            columns = _match_columns(grid, header_fill, index, COLUMNS[kind])
            matched = [column for column in columns if column.key]
            # Columns recognised by their own label weigh most: a data row under a header would
            # otherwise match as well as the header, through the labels above it.
            score = (sum(not column.by_group for column in matched), len(matched))
            hinted = kind == PROJECT and "projet" in normalise(sheet_name)
            if score > best_score or (score == best_score and score[1] and hinted):
                best, best_score = (kind, index, columns), score
    return best if best_score[1] >= MIN_MATCHED_COLUMNS else None


def _header_value(grid: Grid, header_fill: dict, row: int, col: int) -> object:
    value = grid[row][col] if col < len(grid[row]) else None
    return header_fill.get((row, col), value) if is_blank(value) else value


def _match_columns(grid: Grid, header_fill: dict, index: int, fields: tuple[Column, ...]) -> list[SheetColumn]:
    """Columns of header row ``index``, each assigned to the field its label matches best."""
    columns, scores = [], {}
    for col in range(len(grid[index])):
        label = _header_value(grid, header_fill, index, col)
        if is_blank(label):
            continue
        group = _header_value(grid, header_fill, index - 1, col) if index else None
        candidates = [cell_text(label)]
        if not is_blank(group) and normalise(group) != normalise(label):
            candidates.append(f"{cell_text(group)} {cell_text(label)}")
        header, key, score, by_group = candidates[0], None, 0, False
        for position, candidate in enumerate(candidates):  # the label alone, then with its group
            score, key = max(((f.match_score(candidate), f.key) for f in fields), key=lambda s: s[0])
            if score:
                header, by_group = candidate, position > 0
                break
        columns.append(SheetColumn(col, header, key if score else None, by_group))
        if score:
            scores[col] = score
    # A field read from two columns: the better match wins, the other is not recognised.
    for column in columns:
        rivals = [c for c in columns if c.key and c.key == column.key]
        winner = max(rivals, key=lambda c: (scores[c.index], -c.index), default=None)
        if column.key and column is not winner:
            column.key = None
    return columns


def _report_columns(sheet: SurveySheet, problems: list[Problem]) -> None:
    for field_ in COLUMNS[sheet.kind]:
        if field_.required and sheet.column(field_.key) is None:
            problems.append(Problem(sheet.name, sheet.header_row, "", field_.header, "",
                                    f"colonne obligatoire absente : « {field_.header} »", ERROR))
    for column in sheet.columns:
        if column.key is None:
            problems.append(Problem(sheet.name, sheet.header_row, column.letter, column.header,
                                    column.header, "colonne non reconnue : ignorée (conservée dans"
                                    " les données brutes)", WARNING))


def _row_text(values: Iterable[object]) -> str:
    return " | ".join(cell_text(value) for value in values if not is_blank(value))[:200]
