"""OECP census key figures (recensement économique de la commande publique, before 2024).

The census micro-data were never published; the observatory keeps the published key figures in a
curated CSV (``sample_data/census/oecp_census_key_figures.csv``), one published figure per row:

    year, territory_level, territory_code, territory_name, buyer_category, nature, company_size,
    measure, value, precision, threshold_eur, source_reference, source_url, note

Long rather than wide because published figures are sparse (a share here, a total there) and each
carries its own precision ("about 186,000", "over 1.4 bn", "under 40 %"). ``all`` in a dimension
means every value of it. Shares are fractions (0.62) of the matching ``all`` total. The file is
curated by hand, so the parser is strict: any unknown column, code or unreadable value fails the
load with the line, and nothing of the file reaches raw.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import orjson

from ingest.formats import ParsedFile, ParseError, RawRecord
from ingest.loader import LoadResult, load_file
from orcp.settings import SAMPLE_DATA_DIR

RAW_TABLE = "raw.census_rows"
LAYOUT = "oecp-census-key-figures"
SOURCE = "oecp-census"
DEFAULT_FILE = SAMPLE_DATA_DIR / "census" / "oecp_census_key_figures.csv"

COLUMNS = ("year", "territory_level", "territory_code", "territory_name", "buyer_category", "nature",
           "company_size", "measure", "value", "precision", "threshold_eur", "source_reference",
           "source_url", "note")
OPTIONAL = {"source_url", "note"}
ALLOWED = {
    "territory_level": {"national", "region", "departement"},
    "buyer_category": {"all", "state", "local_authorities", "health", "social_housing", "other"},
    "nature": {"all", "works", "supplies", "services"},
    "company_size": {"all", "TPE", "PME", "TPE_PME", "ETI", "GE", "unknown"},
    "measure": {"contracts", "amount_eur", "contracts_share", "amount_share", "mean_amount_eur",
                "social_clause_contracts", "environmental_clause_contracts",
                "social_clause_share", "environmental_clause_share"},
    "precision": {"exact", "about", "over", "under"},
}
SHARE_MEASURES = {m for m in ALLOWED["measure"] if m.endswith("_share")}


def parse(path: Path) -> ParsedFile:
    return ParsedFile(format="oecp-census-csv", table=RAW_TABLE, records=_records(path))


def load(path: Path = DEFAULT_FILE, database_url: str | None = None) -> LoadResult:
    """Load the curated census file into raw.census_rows (same content twice: skipped)."""
    return load_file(Path(path), SOURCE, parser=parse, database_url=database_url)


def _records(path: Path) -> Iterator[RawRecord]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream)
            _check_header(reader.fieldnames or [])
            for row in reader:
                position = f"line {reader.line_num}"
                if None in row or any(value is None for value in row.values()):
                    raise ParseError(f"expected {len(COLUMNS)} cells", position)
                _check_row(row, position)
                yield RawRecord(reader.line_num, LAYOUT, "key-figure", orjson.dumps(row))
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 ({exc.reason})", f"byte {exc.start}") from exc
    except csv.Error as exc:
        raise ParseError(f"unreadable CSV ({exc})") from exc


def _check_header(header: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        raise ParseError(f"header: missing {missing or 'nothing'}, unknown {unknown or 'nothing'};"
                         f" columns found: {', '.join(header)}; columns expected: {', '.join(COLUMNS)}",
                         "line 1")


def _check_row(row: dict[str, str], position: str) -> None:
    for column in COLUMNS:
        if column not in OPTIONAL and not row[column].strip():
            raise ParseError(f"{column} is empty", position)
    for column, allowed in ALLOWED.items():
        if row[column] not in allowed:
            raise ParseError(f"{column} {row[column]!r} is not one of {', '.join(sorted(allowed))}", position)
    if not re.fullmatch(r"(19|20)\d\d", row["year"]):
        raise ParseError(f"year {row['year']!r} is not a year", position)
    if not re.fullmatch(r"\d+", row["threshold_eur"]):
        raise ParseError(f"threshold_eur {row['threshold_eur']!r} is not a whole number of euros", position)
    try:
        value = Decimal(row["value"])
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise ParseError(f"value {row['value']!r} is not a number (use a decimal point)", position) from None
    if value < 0 or (row["measure"] in SHARE_MEASURES and value > 1):
        raise ParseError(f"value {row['value']} out of range for {row['measure']}"
                         " (shares are fractions between 0 and 1)", position)
