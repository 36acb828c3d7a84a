"""DGFiP payment delays (délai global de paiement, DGP): one row per year x budget of a local public entity.

The yearly national file comes as CSV (``,`` or ``;``, UTF-8 or Latin-1, decimal comma or point) or
XLSX. Its official header labels were never verified, so columns are mapped by pattern on a
normalised label (no accents, lower case, words joined by ``_``): the plausible official French
labels ("Exercice", "Code département", "Nom de la collectivité", "Délai global de paiement
(jours)", ...) and the known re-labelled copy (``millesime, code_departement, ..., delai_global_paiement_j``).

Raw keeps every row as it came, as text, under ``row``, and beside it the ``mapping`` used
(field -> source column). Repeating the mapping on each row costs a few bytes but makes every raw
row self-describing: staging reads ``record->'row'->>(record->'mapping'->>'year')`` whatever the
file's labels were, and a file with new labels needs no SQL change.
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import orjson

from ingest.formats import ParsedFile, ParseError, RawRecord

RAW_TABLE = "raw.dgp_rows"
LAYOUT = "dgp"
RECORD_KIND = "budget-year"
SNIFF_BYTES = 64 * 1024
DELIMITERS = (";", ",", "\t")
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls


@dataclass(frozen=True)
class Column:
    """A field of the DGP file and the normalised labels that may carry it (first match wins)."""

    field: str
    patterns: tuple[str, ...]
    examples: str  # shown in the error message when the column is missing
    required: bool = True

    def matches(self, label: str) -> bool:
        return any(re.fullmatch(pattern, label) for pattern in self.patterns)


_NUMBER_WORD = r"(n|no|num|numero|code)_(du_|de_)?"
_ENTITY_WORD = r"(collectivite|organisme|entite|etablissement|budget)"
# Order matters: a field takes the first unused column matching its patterns, so the department
# code is served before the department name (a lone "Département" column is taken as the code).
COLUMNS: tuple[Column, ...] = (
    Column("year", (r"millesime", r"exercice(_budgetaire|_comptable)?", r"annee(_d_?exercice|_de_l_exercice)?"),
           "Exercice, Année, millesime"),
    Column("department_code", (rf"{_NUMBER_WORD}dep(t|artement)?", r"dep(t|artement)?_code", r"dep(t)?",
                               r"departement"),
           "Code département, code_departement, Département"),
    Column("department_name", (r"(libelle|nom)_(du_)?departement", r"departement(_libelle|_nom)?"),
           "Département, Libellé département, departement", required=False),
    Column("entity_name", (r"collectivite",
                           rf"(nom|libelle|denomination|raison_sociale)_(de_la_|du_|de_l_|de_)?{_ENTITY_WORD}",
                           r"organisme", r"entite", r"libelle", r"nom"),
           "Nom de la collectivité, Libellé budget, collectivite"),
    Column("siret", (rf"({_NUMBER_WORD})?siret(_.*)?",), "SIRET, N° SIRET, siret"),
    Column("budget_type", (r"(type|typologie|categorie)_(de_|du_|de_la_)?(budget|collectivite|organisme|entite)",),
           "Type de budget, Type de collectivité, type_budget"),
    Column("budget_nature", (r"nature_(de_|du_)?budget", r"nature", r"(budget_)?(principal|annexe)_.*"),
           "Nature du budget, nature_budget (BP, BA, BR)", required=False),
    Column("payment_delay_days", (r"delai_global_(de_)?paiement(_.*)?", r"dgp(_.*)?",
                                  r"delai_(moyen_|global_moyen_)?(de_)?paiement(_.*)?"),
           "Délai global de paiement (jours), DGP, delai_global_paiement_j"),
    Column("ceiling_respected", (r"respect(e|_du|_de)?_.*",), "respecte_seuil_30j, Respect du délai", required=False),
)


def normalise_label(label: object) -> str:
    """'Délai global de paiement (jours)' -> 'delai_global_de_paiement_jours'."""
    text = unicodedata.normalize("NFKD", str(label or "")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def map_columns(header: list[str]) -> dict[str, str]:
    """field -> source column for every field found; raises ParseError listing what is missing."""
    labels = {column: normalise_label(column) for column in header if column}
    mapping: dict[str, str] = {}
    for column in COLUMNS:
        used = set(mapping.values())
        for pattern in column.patterns:
            found = next((h for h, label in labels.items() if h not in used and re.fullmatch(pattern, label)), None)
            if found is not None:
                mapping[column.field] = found
                break
    missing = [c for c in COLUMNS if c.required and c.field not in mapping]
    if missing:
        raise ParseError(
            "missing required column(s): " + "; ".join(f"{c.field} (e.g. {c.examples})" for c in missing)
            + f". Columns found: {', '.join(repr(h) for h in header) or 'none'}."
            + f" Columns expected: {', '.join(c.field for c in COLUMNS if c.required)}"
            + f" (optional: {', '.join(c.field for c in COLUMNS if not c.required)})",
            "header")
    return mapping


def parse(path: Path) -> ParsedFile:
    """Open a DGP file (CSV or XLSX, told apart by content) and return its row stream."""
    with path.open("rb") as stream:
        head = stream.read(SNIFF_BYTES)
    if not head.strip():
        raise ParseError("empty file", "byte 0")
    if head.startswith(OLE_MAGIC):
        raise ParseError("legacy Excel .xls is not supported: save the sheet as .xlsx or .csv", "byte 0")
    if head.startswith(ZIP_MAGIC):
        rows, description = _xlsx_rows(path)
        # A sheet row ends at its last filled cell: short rows are normal there, not in a CSV file.
        return ParsedFile(format=f"dgp-xlsx ({description})", table=RAW_TABLE,
                          records=_records(rows, short_rows_ok=True))
    encoding = detect_encoding(path)
    delimiter = detect_delimiter(head.decode(encoding, errors="replace"))
    rows = _csv_rows(path, encoding, delimiter)
    return ParsedFile(format=f"dgp-csv ({encoding}, {delimiter!r})", table=RAW_TABLE, records=_records(rows))


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' when the whole file decodes as UTF-8, else 'cp1252' (Windows Latin-1), else 'latin-1'."""
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"  # decodes any byte


def detect_delimiter(text: str) -> str:
    """The delimiter used most on the header line (decimal commas appear in data lines only)."""
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    return max(DELIMITERS, key=first_line.count)


# A source row: its position (file line or sheet row) and its cells as text (None: empty XLSX cell).
Row = tuple[int, list[str | None]]


def _csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[Row]:
    with path.open(newline="", encoding=encoding) as stream:
        reader = csv.reader(stream, delimiter=delimiter)
        try:
            for cells in reader:
                yield reader.line_num, cells
        except csv.Error as exc:
            raise ParseError(f"unreadable CSV ({exc})", f"line {reader.line_num + 1}") from exc


def _xlsx_rows(path: Path) -> tuple[Iterator[Row], str]:
    """Stream the first sheet (openpyxl read-only mode keeps memory flat on large sheets)."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # A file object, not a path: openpyxl refuses paths whose name lacks an Excel extension.
    stream = path.open("rb")
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        stream.close()
        raise ParseError(f"unreadable XLSX workbook ({exc})", "byte 0") from exc
    sheet = workbook.worksheets[0]

    def rows() -> Iterator[Row]:
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [cell_text(value) for value in values]
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise ParseError(f"unreadable XLSX sheet ({exc})", f"sheet {sheet.title!r}") from exc
        finally:
            workbook.close()
            stream.close()

    return rows(), f"sheet {sheet.title!r}"


def cell_text(value: object) -> str | None:
    """A spreadsheet cell as the text a CSV export would hold (raw keeps text, staging types it)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # SIRET or year stored as a number
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _is_blank(cells: list[str | None]) -> bool:
    return all(cell is None or not str(cell).strip() for cell in cells)


def _records(rows: Iterable[Row], short_rows_ok: bool = False) -> Iterator[RawRecord]:
    """Header = first non-blank row; every later non-blank row becomes one raw record."""
    header: list[str] | None = None
    mapping: dict[str, str] = {}
    count = 0
    for position, cells in rows:
        if _is_blank(cells):
            continue
        if header is None:
            header = _unique_labels(cells)
            mapping = map_columns(header)
            continue
        count += 1
        payload = _payload(header, cells, mapping, short_rows_ok)
        yield RawRecord(position, LAYOUT, RECORD_KIND, orjson.dumps(payload))
    if header is None:
        raise ParseError("no header row found", "end of file")
    if count == 0:
        raise ParseError("no data row after the header", "end of file")


def _unique_labels(cells: list[str | None]) -> list[str]:
    """Header labels, trailing empty cells dropped, duplicates suffixed so no value is overwritten."""
    labels = [str(cell).strip() if cell is not None else "" for cell in cells]
    while labels and not labels[-1]:
        labels.pop()
    seen: dict[str, int] = {}
    unique = []
    for index, label in enumerate(labels, start=1):
        label = label or f"column_{index}"
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label}_{seen[label]}")
    return unique


def _payload(header: list[str], cells: list[str | None], mapping: dict[str, str],
             short_rows_ok: bool) -> dict:
    """The row as it came (label -> text) plus the mapping; a ragged row is kept and flagged."""
    row = dict(zip(header, cells))
    payload: dict = {"row": row, "mapping": mapping}
    extra = cells[len(header):]
    if any(cell not in (None, "") for cell in extra):
        payload["extra_cells"] = extra
        payload["problem"] = f"{len(cells)} cells for {len(header)} columns"
    elif len(cells) < len(header):
        for label in header[len(cells):]:
            row[label] = None
        if not short_rows_ok:
            payload["problem"] = f"{len(cells)} cells for {len(header)} columns"
    return payload


def load(target: Path, source: str = "dgfip-dgp", database_url: str | None = None) -> list:
    """Load a DGP file, or every file of a folder, into raw.dgp_rows (one LoadResult per file)."""
    from ingest.loader import load_file

    target = Path(target)
    files = sorted(p for p in target.iterdir() if p.is_file() and not p.name.startswith(".")) \
        if target.is_dir() else [target]
    return [load_file(f, source, parser=parse, database_url=database_url) for f in files]
