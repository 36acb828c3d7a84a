"""SIRENE stock files (company register): keep only the companies the procurement data names.

The official stock files (``StockUniteLegale_utf8`` and ``StockEtablissement_utf8``, CSV or
Parquet) weigh several GB. ``load`` streams one in Arrow batches, keeps the rows whose SIREN (legal
units) or SIRET (establishments; plus the head office of every kept SIREN) is in the wanted set,
writes them to a small extract in the official CSV layout under the landing folder, then loads
the extract with the common loader. Loading the extract rather than the stock file matters: the
same stock file filtered by a larger set (new procurement data) gives a different extract, so it
is loaded instead of being skipped as "same sha256".
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ingest.formats import ParsedFile, ParseError, RawRecord
from ingest.loader import LoadResult, load_file
from orcp import db
from orcp.settings import get_settings

log = logging.getLogger(__name__)

RAW_TABLE = "raw.sirene_records"
LAYOUT = "sirene-stock"
SOURCE = "sirene"
UNIT, ESTABLISHMENT = "unite-legale", "etablissement"
# Columns the staging models read: a file without them is not a stock file we can use.
REQUIRED = {
    UNIT: ("siren", "statutDiffusionUniteLegale", "categorieEntreprise", "trancheEffectifsUniteLegale",
           "categorieJuridiqueUniteLegale", "etatAdministratifUniteLegale"),
    ESTABLISHMENT: ("siret", "siren", "statutDiffusionEtablissement", "etablissementSiege",
                    "codeCommuneEtablissement", "codePostalEtablissement", "etatAdministratifEtablissement"),
}
CSV_BLOCK_BYTES = 16 << 20
PARQUET_BATCH_ROWS = 100_000
PARQUET_MAGIC = b"PAR1"


class SireneError(ValueError):
    """The stock file or the wanted identifiers cannot be used; the message says why."""


@dataclass(frozen=True)
class Identifiers:
    """SIRENs and SIRETs to keep. A SIRET's SIREN (its first 9 digits) is wanted too."""

    sirens: frozenset[str]
    sirets: frozenset[str]

    @classmethod
    def from_values(cls, values: Iterable[str]) -> Identifiers:
        sirens, sirets = set(), set()
        for value in values:
            digits = re.sub(r"[\s.]", "", str(value or ""))
            if re.fullmatch(r"\d{14}", digits):
                sirets.add(digits)
                sirens.add(digits[:9])
            elif re.fullmatch(r"\d{9}", digits):
                sirens.add(digits)
        return cls(frozenset(sirens), frozenset(sirets))

    def __len__(self) -> int:
        return len(self.sirens) + len(self.sirets)


@dataclass
class SireneLoad:
    kind: str
    scanned: int  # rows read from the stock file
    kept: int  # rows written to the extract
    extract: Path
    result: LoadResult

    @property
    def skipped(self) -> int:
        return self.scanned - self.kept

    def describe(self) -> str:
        return (f"{self.kind}: kept {self.kept} of {self.scanned} rows ({self.skipped} skipped); "
                + self.result.describe())


# Identifiers the warehouse knows: buyers and suppliers of DECP records (both layouts, flat keys,
# v2 wrappers and nested lists), id columns of tabular rows, and the SIRETs of DGP budgets.
_WAREHOUSE_IDS = r"""
select distinct regexp_replace(value, '[\s.]', '', 'g') as id
from (
    select jsonb_path_query(record, path) #>> '{}' as value
    from raw.decp_records,
         unnest(array['$.acheteur.id', '$."acheteur.id"', '$.titulaires.**.id',
                      '$.modifications.**.titulaires.**.id', '$.autoriteConcedante.id',
                      '$.concessionnaires.**.id']::jsonpath[]) as path
    union all
    select kv.value
    from raw.decp_tabular_rows, jsonb_each_text(record) as kv
    where kv.key ~* '^(acheteur|titulaire)[._]id(_[0-9]+)?$'
    union all
    select record -> 'row' ->> (record -> 'mapping' ->> 'siret') from raw.dgp_rows
) ids
where regexp_replace(value, '[\s.]', '', 'g') ~ '^([0-9]{9}|[0-9]{14})$'
"""


def identifiers_from_warehouse(database_url: str | None = None) -> Identifiers:
    """Every SIREN/SIRET named by the procurement and payment-delay data already in raw."""
    with db.connect(database_url) as conn:
        return Identifiers.from_values(row[0] for row in conn.execute(_WAREHOUSE_IDS))


def load(path: Path, identifiers: Identifiers | None = None, *, database_url: str | None = None,
         extract_dir: Path | None = None) -> SireneLoad:
    """Filter a stock file (CSV or Parquet) to the wanted identifiers and load the extract.

    ``identifiers`` defaults to those in the warehouse. Raises SireneError when the file is not a
    stock file or nothing is wanted; load failures are in the returned LoadResult.
    """
    path = Path(path)
    database_url = database_url or db.database_url()
    if identifiers is None:
        identifiers = identifiers_from_warehouse(database_url)
    if not len(identifiers):
        raise SireneError("no SIREN or SIRET to keep: load procurement data first or pass identifiers")
    extract_dir = Path(extract_dir or get_settings().landing_dir / "sirene")
    extract_dir.mkdir(parents=True, exist_ok=True)
    extract = extract_dir / f"{path.name.split('.')[0]}.extract.csv"
    kind, scanned, kept = write_extract(path, identifiers, extract)
    log.info("%s: kept %d of %d %s rows", path.name, kept, scanned, kind)
    result = load_file(extract, SOURCE, parser=parse, database_url=database_url,
                       display_name=f"{path.name} (extract: {kept} of {scanned} rows)")
    return SireneLoad(kind, scanned, kept, extract, result)


def write_extract(path: Path, identifiers: Identifiers, target: Path) -> tuple[str, int, int]:
    """Stream ``path`` and write the wanted rows to ``target`` (official CSV layout, UTF-8).

    Returns (kind, rows scanned, rows kept). Memory stays at one batch whatever the file size.
    """
    header, batches = _open_stock(path)
    kind = kind_of(header, path)
    schema = pa.schema([(name, pa.string()) for name in header])
    sirens = pa.array(sorted(identifiers.sirens), pa.string())
    sirets = pa.array(sorted(identifiers.sirets), pa.string())
    scanned = kept = 0
    partial = target.with_suffix(".partial")
    try:
        with pa_csv.CSVWriter(partial, schema) as writer:
            for batch in batches:
                batch = _as_text(batch, schema)
                scanned += batch.num_rows
                wanted = batch.filter(_wanted_mask(batch, kind, sirens, sirets))
                kept += wanted.num_rows
                if wanted.num_rows:
                    writer.write_batch(wanted)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise SireneError(f"{path.name}: unreadable after {scanned} rows: {exc}") from exc
    partial.replace(target)
    return kind, scanned, kept


def kind_of(header: list[str], path: Path) -> str:
    kind = ESTABLISHMENT if "siret" in header else UNIT if "siren" in header else None
    if kind is None:
        raise SireneError(f"{path.name}: not a SIRENE stock file (no 'siren' or 'siret' column);"
                          f" columns found: {', '.join(header[:20])}")
    missing = [c for c in REQUIRED[kind] if c not in header]
    if missing:
        raise SireneError(f"{path.name}: {kind} file without column(s) {', '.join(missing)};"
                          f" columns found: {', '.join(header)}")
    return kind


def _open_stock(path: Path) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    if not path.is_file():
        raise SireneError(f"file not found: {path}")
    with path.open("rb") as stream:
        magic = stream.read(4)
    try:
        if magic == PARQUET_MAGIC:
            parquet = pq.ParquetFile(path)
            return parquet.schema_arrow.names, parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS)
        header = _csv_header(path)
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES, encoding="utf8"),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(column_types={name: pa.string() for name in header}),
        )
        return header, iter(reader)
    except (pa.ArrowInvalid, OSError, csv.Error) as exc:
        raise SireneError(f"{path.name}: cannot read as SIRENE CSV or Parquet: {exc}") from exc


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as stream:
        return next(csv.reader(stream), [])


def _as_text(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Every column as text (Parquet stores dates, booleans and numbers typed)."""
    columns = []
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        columns.append(column if column.type == pa.string() else pc.cast(column, pa.string()))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _wanted_mask(batch: pa.RecordBatch, kind: str, sirens: pa.Array, sirets: pa.Array) -> pa.Array:
    siren_wanted = pc.is_in(batch.column("siren"), value_set=sirens)
    if kind == UNIT:
        return siren_wanted
    siret_wanted = pc.is_in(batch.column("siret"), value_set=sirets)
    # The head office locates a company known only by its SIREN.
    head_office = pc.equal(pc.utf8_lower(batch.column("etablissementSiege")), "true")
    return pc.or_kleene(siret_wanted, pc.and_kleene(siren_wanted, head_office))


def parse(path: Path) -> ParsedFile:
    """Rows of a stock file (or extract) in the official CSV layout; empty values are omitted."""
    header = _csv_header(path)
    try:
        kind = kind_of(header, path)
    except SireneError as exc:
        raise ParseError(str(exc), "line 1") from exc
    return ParsedFile(format=f"sirene-{kind}-csv", table=RAW_TABLE, records=_records(path, kind))


def _records(path: Path, kind: str) -> Iterator[RawRecord]:
    with path.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        number = 1
        try:
            for cells in reader:
                number = reader.line_num
                if len(cells) != len(header):
                    raise ParseError(f"{len(cells)} cells for {len(header)} columns", f"line {number}")
                values = {name: value for name, value in zip(header, cells) if value != ""}
                yield RawRecord(number, LAYOUT, kind, orjson.dumps(values))
        except csv.Error as exc:
            raise ParseError(f"unreadable CSV ({exc})", f"line {number + 1}") from exc
