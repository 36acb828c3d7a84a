"""Parquet files written at test time from the real decp.info extract: same rows, values as text."""

from __future__ import annotations

import csv
import datetime

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.loader import load_file
from tests.conftest import shared_file

REAL_CSV = "decp_tabular/decp_info_tabular_extract_2024H2_travaux_cpv4521.csv"


def csv_rows() -> list[dict]:
    with shared_file(REAL_CSV).open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def stored_rows(url: str, load_id: int) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select record_number, layout, record_kind, record from raw.decp_tabular_rows"
            " where load_id = %s order by record_number",
            (load_id,),
        ).fetchall()


def test_parquet_of_string_columns_loads_every_row_unchanged(tmp_path, module_warehouse_url):
    rows = csv_rows()
    path = tmp_path / "decp.parquet"
    table = pa.Table.from_pylist(rows, schema=pa.schema([(name, pa.string()) for name in rows[0]]))
    pq.write_table(table, path, row_group_size=3000)  # several row groups and batches

    result = load_file(path, "parquet", database_url=module_warehouse_url)

    assert (result.status, result.format, result.records) == (
        "loaded",
        "decp-tabular-parquet",
        len(rows),
    )
    stored = stored_rows(module_warehouse_url, result.load_id)
    assert [row[0] for row in stored] == list(range(1, len(rows) + 1))
    assert {(row[1], row[2]) for row in stored} == {("decp-tabular", "row")}
    assert [row[3] for row in stored] == rows


def test_parquet_typed_columns_become_their_text(tmp_path, module_warehouse_url):
    """decp.info's schema types SIRET and codes as integers: whatever the type, values are text."""
    rows = csv_rows()[:500]
    table = pa.table(
        {
            "uid": pa.array([r["uid"] for r in rows]),
            "acheteur_id": pa.array([int(r["acheteur_id"]) for r in rows], pa.int64()),
            "montant": pa.array([float(r["montant"]) for r in rows], pa.float64()),
            "dateNotification": pa.array(
                [datetime.date.fromisoformat(r["dateNotification"]) for r in rows]
            ),
            "offresRecues": pa.array([int(r["offresRecues"]) for r in rows], pa.int32()),
            "donneesActuelles": pa.array([index % 2 == 0 for index in range(len(rows))]),
            "acheteur_region_code": pa.array([r["acheteur_region_code"] or None for r in rows]),
            "techniques": pa.array([[r["procedure"]] for r in rows], pa.list_(pa.string())),
        }
    )
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path)

    result = load_file(path, "parquet", database_url=module_warehouse_url)

    assert (result.status, result.records) == ("loaded", len(rows))
    stored = [row[3] for row in stored_rows(module_warehouse_url, result.load_id)]
    for index, (record, source) in enumerate(zip(stored, rows, strict=True)):
        assert record["acheteur_id"] == str(int(source["acheteur_id"]))  # an integer's text
        assert record["montant"] == source["montant"]  # 61100.0 is written "61100"
        assert record["dateNotification"] == source["dateNotification"]
        assert record["offresRecues"] == source["offresRecues"]
        assert record["donneesActuelles"] == ("true" if index % 2 == 0 else "false")
        assert record["acheteur_region_code"] == (
            source["acheteur_region_code"] or None
        )  # null stays null
        assert record["techniques"] == f'["{source["procedure"]}"]'


def test_parquet_with_unknown_columns_is_refused(tmp_path, module_warehouse_url):
    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"a": [1], "b": ["x"]}), path)
    result = load_file(path, "parquet", database_url=module_warehouse_url)
    assert result.status == "failed" and "unknown Parquet layout: columns a, b" in result.error


@pytest.mark.parametrize("content", [b"PAR1 not really parquet", b"PAR1" + b"\x00" * 100])
def test_corrupt_parquet_fails_cleanly(content, tmp_path, module_warehouse_url):
    path = tmp_path / "corrupt.parquet"
    path.write_bytes(content)
    result = load_file(path, "parquet", database_url=module_warehouse_url)
    assert result.status == "failed" and "Parquet" in result.error
