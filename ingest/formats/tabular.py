"""Tabular DECP: the decp.info consolidated dataset (CSV, Parquet) and the ministry CSV exports.

One RawRecord per row, kind "row", payload = {column: value} with every value as TEXT exactly as in
the file ("" stays "", "MQ"/"CDL"/"INX ..." markers stay, SIRET and postal codes keep their leading
zeros). CSV record numbers are the physical line where the row starts (1 = header), so a user can
open the file at that line; Parquet record numbers are 1-based row numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.formats import ParsedFile, ParseError, RawRecord
from ingest.formats.encoding import first_invalid_utf8, invalid_utf8_message, to_payload

RAW_TABLE = "raw.decp_tabular_rows"
KIND = "row"
DECP_TABULAR = "decp-tabular"
MINEF_V3 = "minef-csv-v3"
MINEF_2019 = "minef-csv-2019"
DELIMITERS = (",", ";", "\t")
PARQUET_BATCH_ROWS = 10_000

# The 58 columns of the decp.info Table Schema (decp-processing reference/schema_base.json).
DECP_INFO_COLUMNS = frozenset({
    "uid", "id", "nature", "acheteur_id", "acheteur_nom", "titulaire_id",
    "titulaire_typeIdentifiant", "titulaire_nom", "objet", "montant", "type", "codeCPV",
    "procedure", "techniques", "dureeMois", "dureeRestanteMois", "offresRecues",
    "dateNotification", "datePublicationDonnees", "formePrix", "typesPrix", "attributionAvance",
    "tauxAvance", "marcheInnovant", "modalitesExecution", "considerationsSociales",
    "considerationsEnvironnementales", "ccag", "sousTraitanceDeclaree",
    "typeGroupementOperateurs", "origineUE", "origineFrance", "lieuExecution_code",
    "lieuExecution_typeCode", "idAccordCadre", "titulaire_distance", "acheteur_categorie",
    "acheteur_commune_code", "acheteur_commune_nom", "acheteur_departement_code",
    "acheteur_departement_nom", "acheteur_region_code", "acheteur_region_nom",
    "acheteur_latitude", "acheteur_longitude", "titulaire_categorie", "titulaire_commune_code",
    "titulaire_commune_nom", "titulaire_departement_code", "titulaire_departement_nom",
    "titulaire_region_code", "titulaire_region_nom", "titulaire_latitude",
    "titulaire_longitude", "modification_id", "donneesActuelles", "sourceDataset", "sourceFile",
})
# The ministry exports flatten with dots and numbered suppliers; the 2019 one also has the names.
MINEF_REQUIRED = ("acheteur.id", "titulaire_id_1")
MINEF_2019_ONLY = ("titulaire_denominationSociale_1", "acheteur.nom")


@dataclass(frozen=True)
class CsvKind:
    layout: str
    delimiter: str


def table_layout(columns: Sequence[str]) -> str | None:
    """Which tabular dataset these column names belong to, None if none."""
    names = set(columns)
    if all(name in names for name in MINEF_REQUIRED):
        return MINEF_2019 if any(name in names for name in MINEF_2019_ONLY) else MINEF_V3
    if "acheteur_id" in names and len(names & DECP_INFO_COLUMNS) >= 3:
        return DECP_TABULAR
    return None


def sniff_csv(head: bytes) -> CsvKind | None:
    """The dataset and delimiter of a CSV from its header line (``head`` without BOM), or None."""
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None
    for delimiter in DELIMITERS:
        layout = table_layout(next(csv.reader([text], delimiter=delimiter)))
        if layout:
            return CsvKind(layout, delimiter)
    return None


# --- CSV -----------------------------------------------------------------------------------------

def parse_csv(path: Path, kind: CsvKind) -> ParsedFile:
    fmt = "decp-tabular-csv" if kind.layout == DECP_TABULAR else kind.layout
    return ParsedFile(format=fmt, table=RAW_TABLE, records=_csv_records(path, kind))


def _csv_records(path: Path, kind: CsvKind) -> Iterator[RawRecord]:
    # utf-8-sig drops a BOM; strict decoding: a Latin-1 file fails, it is never decoded by guess.
    with path.open("r", encoding="utf-8-sig", newline="") as text:
        # strict: a quote left open (truncated file) or a stray quote fails, it is not mangled.
        reader = csv.reader(text, delimiter=kind.delimiter, strict=True)
        try:
            columns = unique_names(next(reader, []))
            width = len(columns)
            line = reader.line_num + 1  # where the next row starts (a quoted value may span lines)
            for row in reader:
                if row:  # a blank line holds no value
                    if len(row) != width:
                        raise ParseError(f"expected {width} fields, found {len(row)}",
                                         f"line {line}")
                    record = dict(zip(columns, row, strict=True))
                    yield RawRecord(line, kind.layout, KIND, to_payload(record))
                line = reader.line_num + 1
        except UnicodeDecodeError:
            raise _csv_encoding_error(path) from None
        except csv.Error as exc:
            raise ParseError(f"invalid CSV ({exc})", f"line {reader.line_num}") from exc


def unique_names(columns: Sequence[str]) -> list[str]:
    """Header names, a repeated one suffixed "#2", "#3"... so no column overwrites another."""
    seen: dict[str, int] = {}
    names = []
    for name in columns:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return names


def _csv_encoding_error(path: Path) -> ParseError:
    offset, byte = first_invalid_utf8(path) or (0, 0)
    with path.open("rb") as stream:
        line = stream.read(offset).count(b"\n") + 1
    return ParseError(invalid_utf8_message(byte), f"byte {offset} (line {line})")


# --- Parquet -------------------------------------------------------------------------------------

def parse_parquet(path: Path) -> ParsedFile:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise ParseError(f"unreadable Parquet file ({exc})", "byte 0") from exc
    columns = parquet.schema_arrow.names
    layout = table_layout(columns)
    if layout is None:
        shown = ", ".join(columns[:12])
        raise ParseError(f"unknown Parquet layout: columns {shown}", "schema")
    fmt = "decp-tabular-parquet" if layout == DECP_TABULAR else f"{layout}-parquet"
    return ParsedFile(format=fmt, table=RAW_TABLE, records=_parquet_records(parquet, layout))


def _parquet_records(parquet: pq.ParquetFile, layout: str) -> Iterator[RawRecord]:
    names = unique_names(parquet.schema_arrow.names)
    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            texts = pa.RecordBatch.from_arrays([as_text(column) for column in batch.columns], names)
            for row in texts.to_pylist():
                number += 1
                yield RawRecord(number, layout, KIND, to_payload(row))
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise ParseError(f"unreadable Parquet data ({exc})", f"row {number + 1}") from exc


def as_text(column: pa.Array) -> pa.Array:
    """Every value as its text form (nulls stay null); nested values as JSON text."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        texts = [None if value is None else _json_text(value) for value in column.to_pylist()]
        return pa.array(texts, pa.string())


def _json_text(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", errors="backslashreplace")
    return orjson.dumps(value, default=str).decode()
