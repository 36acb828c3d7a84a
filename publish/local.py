"""Write published datasets to the local open-data folder: one folder per dataset with its CSV and a
Frictionless ``datapackage.json``, the French reports (``rapports/``) and a DCAT-AP catalogue
(``catalog.jsonld``). Files whose content did not change are left untouched, so publishing unchanged
data again writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import frictionless
from psycopg import sql

from orcp import db
from orcp.settings import get_settings
from publish.catalog import DATASETS_FILE, DatasetSpec, dataset_specs, load_catalog
from publish.dbt_docs import ensure_manifest, load_model_docs, model_vars

__all__ = ["DATASETS_FILE", "PublishedDataset", "load_catalog", "publish_all"]

# PostgreSQL type -> Table Schema type.
FIELD_TYPES = {"integer": "integer", "bigint": "integer", "smallint": "integer", "numeric": "number",
               "double precision": "number", "real": "number", "date": "date", "boolean": "boolean",
               "timestamp with time zone": "datetime", "timestamp without time zone": "datetime"}
UNSORTABLE_TYPES = {"json"}  # no ordering operator: left out of the CSV's sort key


@dataclass
class PublishedDataset:
    name: str
    folder: Path
    rows: int
    changed: bool
    spec: DatasetSpec | None = None
    package: dict = field(default_factory=dict)  # the datapackage.json descriptor

    @property
    def csv_path(self) -> Path:
        return self.folder / f"{self.name}.csv"


def publish_all(url: str | None = None, out_dir: Path | None = None) -> list[PublishedDataset]:
    """Write every dataset of datasets.yml, then the reports and the catalogue that describe them."""
    from publish.dcat import write_catalog
    from publish.reports import write_reports

    url = url or db.database_url()
    out_dir = out_dir or get_settings().opendata_dir
    catalog = load_catalog()
    variables = model_vars()
    specs = dataset_specs(catalog, load_model_docs(ensure_manifest(url)), variables)
    with db.connect(url) as conn:
        published = [_publish_dataset(conn, catalog, spec, out_dir) for spec in specs]
        write_reports(conn, published, variables, out_dir)
    write_catalog(catalog, published, out_dir)
    return published


def _publish_dataset(conn, catalog: dict, spec: DatasetSpec, out_dir: Path) -> PublishedDataset:
    columns = _columns(conn, spec.relation)
    if not columns:
        raise RuntimeError(f"dataset {spec.name}: table {spec.relation} does not exist (run `orcp transform`)")
    folder = out_dir / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"{spec.name}.csv"
    sortable = [name for name, data_type in columns if data_type not in UNSORTABLE_TYPES]
    rows, csv_changed = _export_csv(conn, spec, sortable, csv_path)
    fields = _table_schema_fields(columns, spec.column_docs)
    facts = _facts(conn, spec, {name for name, _ in columns})
    package = _datapackage(catalog, spec, csv_path, fields, rows, facts)
    package_changed = write_if_changed(folder / "datapackage.json",
                                       json.dumps(package, ensure_ascii=False, indent=2).encode() + b"\n")
    return PublishedDataset(spec.name, folder, rows, csv_changed or package_changed, spec, package)


def _relation(relation: str) -> sql.Identifier:
    return sql.Identifier(*relation.split("."))


def _columns(conn, relation: str) -> list[tuple[str, str]]:
    schema, table = relation.split(".")
    return conn.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = %s and table_name = %s order by ordinal_position", (schema, table)).fetchall()


def _export_csv(conn, spec: DatasetSpec, columns: list[str], csv_path: Path) -> tuple[int, bool]:
    """COPY the relation to CSV (stable order); replace the file only when the bytes differ."""
    order = [column for column in spec.order_by if column in columns] + \
        [column for column in columns if column not in spec.order_by]  # every column: a total order
    query = sql.SQL("COPY (select * from {} order by {}) TO STDOUT WITH (FORMAT csv, HEADER)").format(
        _relation(spec.relation), sql.SQL(", ").join(map(sql.Identifier, order)))
    tmp = csv_path.with_suffix(".csv.tmp")
    with tmp.open("wb") as out, conn.cursor() as cur:
        with cur.copy(query) as copy:
            for chunk in copy:
                out.write(chunk)
        rows = cur.rowcount  # rows COPY sent (newlines inside quoted values do not fool it)
    return rows, _replace_if_changed(tmp, csv_path)


def _table_schema_fields(columns: list[tuple[str, str]], column_docs: dict) -> list[dict]:
    fields = []
    for name, data_type in columns:
        docs = column_docs.get(name, {})
        field_ = {"name": name, "type": FIELD_TYPES.get(data_type, "string")}
        if docs.get("label_fr"):
            field_["title"] = docs["label_fr"]
        if docs.get("description_fr"):
            field_["description"] = docs["description_fr"]
        fields.append(field_)
    return fields


def _facts(conn, spec: DatasetSpec, columns: set[str]) -> dict:
    """What the data says about itself: years covered, as-of date, method version(s)."""
    table = _relation(spec.relation)
    facts = {}
    if spec.temporal_column in columns:
        first, last = conn.execute(sql.SQL("select min({0}), max({0}) from {1}").format(
            sql.Identifier(spec.temporal_column), table)).fetchone()
        if first is not None:
            facts["temporal"] = {"start": f"{_year(first):04d}-01-01", "end": f"{_year(last):04d}-12-31"}
    if "as_of_date" in columns:
        as_of = conn.execute(sql.SQL("select max(as_of_date) from {}").format(table)).fetchone()[0]
        if as_of is not None:
            facts["as_of"] = as_of.isoformat()
    if "method_version" in columns:
        versions = [row[0] for row in conn.execute(sql.SQL(
            "select distinct method_version from {} where method_version is not null order by 1").format(table))]
        if versions:
            facts["method_version"] = ", ".join(versions)
    return facts


def _year(value) -> int:
    """The year of a temporal column's value: a year, a date, or a text starting with a year (a wave)."""
    return value.year if hasattr(value, "year") else int(str(value)[:4])


def _datapackage(catalog: dict, spec: DatasetSpec, csv_path: Path, fields: list[dict], rows: int,
                 facts: dict) -> dict:
    schema = {"fields": fields}
    names = {f["name"] for f in fields}
    if spec.grain and set(spec.grain) <= names:
        schema["primaryKey"] = list(spec.grain)
    resource = frictionless.Resource(
        name=spec.name, path=csv_path.name, format="csv", mediatype="text/csv", encoding="utf-8",
        hash=f"sha256:{_sha256(csv_path)}", bytes=csv_path.stat().st_size,
        schema=frictionless.Schema.from_descriptor(schema),
    )
    package = frictionless.Package(
        name=spec.name, title=spec.title, description=spec.description.strip(),
        keywords=spec.keywords, licenses=[catalog["license"]],
        contributors=[{"title": catalog["publisher"], "role": "publisher"}],
        sources=spec.sources, resources=[resource],
    )
    descriptor = package.to_descriptor()
    descriptor["resources"][0]["rows"] = rows
    # ORCP extension keys (read by publish.metadata for CKAN and by publish.dcat).
    if spec.frequency:
        descriptor["frequency"] = spec.frequency
    descriptor.update(facts)
    methodology = (spec.indicator or {}).get("methodology_fr")
    if methodology:
        descriptor["methodology"] = " ".join(methodology.split())
    return descriptor


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _replace_if_changed(tmp: Path, target: Path) -> bool:
    if target.exists() and _sha256(target) == _sha256(tmp):
        tmp.unlink()
        return False
    os.replace(tmp, target)
    return True


def write_if_changed(target: Path, content: bytes) -> bool:
    """Write content to target unless target already holds exactly these bytes; True when written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_bytes(content)
    return _replace_if_changed(tmp, target)

