"""Write published datasets to the local open-data folder: one folder per dataset with its CSV
and a Frictionless ``datapackage.json``. Files whose content did not change are left untouched."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import frictionless
import yaml

from orcp import db
from orcp.settings import get_settings

DATASETS_FILE = Path(__file__).with_name("datasets.yml")

# PostgreSQL type -> Table Schema type.
FIELD_TYPES = {"integer": "integer", "bigint": "integer", "smallint": "integer", "numeric": "number",
               "double precision": "number", "real": "number", "date": "date", "boolean": "boolean",
               "timestamp with time zone": "datetime", "timestamp without time zone": "datetime"}


@dataclass
class PublishedDataset:
    name: str
    folder: Path
    rows: int
    changed: bool


def load_catalog(path: Path = DATASETS_FILE) -> dict:
    return yaml.safe_load(path.read_text())


def publish_all(url: str | None = None, out_dir: Path | None = None) -> list[PublishedDataset]:
    url = url or db.database_url()
    out_dir = out_dir or get_settings().opendata_dir
    catalog = load_catalog()
    labels = _dbt_column_docs()
    with db.connect(url) as conn:
        return [_publish_dataset(conn, catalog, spec, labels.get(spec.get("dbt_model"), {}), out_dir)
                for spec in catalog["datasets"]]


def _publish_dataset(conn, catalog: dict, spec: dict, column_docs: dict, out_dir: Path) -> PublishedDataset:
    folder = out_dir / spec["name"]
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"{spec['name']}.csv"
    rows, csv_changed = _export_csv(conn, spec, csv_path)
    fields = _table_schema_fields(conn, spec["relation"], column_docs)
    package = _datapackage(catalog, spec, csv_path, fields, rows)
    package_changed = _write_if_changed(folder / "datapackage.json",
                                        json.dumps(package, ensure_ascii=False, indent=2).encode() + b"\n")
    return PublishedDataset(spec["name"], folder, rows, csv_changed or package_changed)


def _export_csv(conn, spec: dict, csv_path: Path) -> tuple[int, bool]:
    """COPY the relation to CSV (stable order); replace the file only when the bytes differ."""
    order = ", ".join(spec.get("order_by", [])) or "1"
    tmp = csv_path.with_suffix(".csv.tmp")
    with tmp.open("wb") as out, conn.cursor() as cur:
        query = f"COPY (select * from {spec['relation']} order by {order}) TO STDOUT WITH (FORMAT csv, HEADER)"
        with cur.copy(query) as copy:
            for chunk in copy:
                out.write(chunk)
        rows = cur.rowcount  # rows COPY sent (newlines inside quoted values do not fool it)
    return rows, _replace_if_changed(tmp, csv_path)


def _table_schema_fields(conn, relation: str, column_docs: dict) -> list[dict]:
    schema, table = relation.split(".")
    columns = conn.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = %s and table_name = %s order by ordinal_position", (schema, table)).fetchall()
    fields = []
    for name, data_type in columns:
        docs = column_docs.get(name, {})
        field = {"name": name, "type": FIELD_TYPES.get(data_type, "string")}
        if docs.get("label_fr"):
            field["title"] = docs["label_fr"]
        if docs.get("description_fr"):
            field["description"] = docs["description_fr"]
        fields.append(field)
    return fields


def _datapackage(catalog: dict, spec: dict, csv_path: Path, fields: list[dict], rows: int) -> dict:
    resource = frictionless.Resource(
        name=spec["name"], path=csv_path.name, format="csv", mediatype="text/csv", encoding="utf-8",
        hash=f"sha256:{_sha256(csv_path)}", bytes=csv_path.stat().st_size,
        schema=frictionless.Schema.from_descriptor({"fields": fields}),
    )
    package = frictionless.Package(
        name=spec["name"], title=spec["title"], description=spec["description"].strip(),
        keywords=spec.get("keywords", []), licenses=[catalog["license"]],
        contributors=[{"title": catalog["publisher"], "role": "publisher"}],
        resources=[resource],
    )
    descriptor = package.to_descriptor()
    descriptor["resources"][0]["rows"] = rows
    return descriptor


def _dbt_column_docs() -> dict[str, dict[str, dict]]:
    """model name -> column -> its dbt ``meta`` (label_fr, description_fr), from the last dbt run."""
    manifest = get_settings().data_dir / "dbt-target" / "manifest.json"
    if not manifest.exists():
        return {}
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return {
        node["name"]: {col: c.get("meta") or {} for col, c in node["columns"].items()}
        for node in nodes if node["resource_type"] == "model"
    }


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


def _write_if_changed(target: Path, content: bytes) -> bool:
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_bytes(content)
    return _replace_if_changed(tmp, target)
