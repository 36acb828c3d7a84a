"""ingest_target / ingest_source: every real file served over HTTP loads with its independent count;
folders go on past a bad file; registry sources (local and remote) load under their name."""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from xml.etree import ElementTree

import psycopg
import pytest

from ingest.run import IngestProgress, RichProgress, ingest_source, ingest_target, progress_display
from tests.conftest import SAMPLE_DATA, SHARED_DATA, shared_file

SAMPLE = SAMPLE_DATA / "decp2019_e-marchespublics_2019-04-03.json"
SAMPLE_RECORDS = 470

JSON_FILES = sorted(
    str(path.relative_to(SHARED_DATA))
    for pattern in (
        "decp_real/*.json",
        "decp_quirks/*.json",
        "decp_schema_v1.5/json_*.json",
        "decp_schema_v2/json_*.json",
    )
    for path in SHARED_DATA.glob(pattern)
)

XML_FILES = sorted(
    str(path.relative_to(SHARED_DATA))
    for pattern in ("decp_schema_v1.5/xml_*.xml", "decp_schema_v2/xml_*.xml")
    for path in SHARED_DATA.glob(pattern)
)
CSV_FILES = sorted(
    str(path.relative_to(SHARED_DATA)) for path in SHARED_DATA.glob("decp_tabular/*.csv")
)
DECP_INFO_CSV = "decp_tabular/decp_info_tabular_extract_2024H2_travaux_cpv4521.csv"


def json_record_count(path) -> int:
    """Contracts and concessions of a DECP JSON file, counted with the json module."""
    marches = json.loads(path.read_text(encoding="utf-8"))["marches"]
    if isinstance(marches, list):  # 2019 layout
        return len(marches)
    return len(marches.get("marche", [])) + len(marches.get("contrat-concession", []))  # v2 layout


def xml_record_count(path) -> int:
    """Contracts of a DECP XML file: the root itself, or the contracts under a <marches> root."""
    root = ElementTree.parse(path).getroot()
    if root.tag != "marches":
        return 1
    return sum(1 for child in root if child.tag in ("marche", "contrat-concession"))


def csv_rows(path) -> list[dict]:
    text = path.read_text(encoding="utf-8-sig")
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    from orcp.settings import get_settings

    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ORCP_DOWNLOAD_BACKOFF", "0.01")
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def rows(url: str, sql: str, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.mark.parametrize("relative", JSON_FILES)
def test_every_real_json_file_served_over_http_loads_all_its_records(
    relative, module_warehouse_url, data_dir, http_server
):
    file = shared_file(relative)
    expected = json_record_count(file)
    url = http_server.serve(f"data/{file.name}", file)

    [result] = ingest_target(url, source="test-real", database_url=module_warehouse_url)

    assert (result.status, result.error) == ("loaded", None)
    assert result.records == expected
    [(raw_rows,)] = rows(
        module_warehouse_url,
        "select count(*) from raw.decp_records where load_id = %s",
        result.load_id,
    )
    assert raw_rows == expected
    [(loaded_url, records)] = rows(
        module_warehouse_url,
        "select url, records from meta.loads where load_id = %s",
        result.load_id,
    )
    assert (loaded_url, records) == (url, expected)


def served_load(http_server, file, warehouse, table):
    """Serve ``file``, ingest its URL, return (result, rows of that load in ``table``)."""
    url = http_server.serve(f"data/{file.name}", file)
    [result] = ingest_target(url, source="test-real", database_url=warehouse)
    [(count,)] = rows(warehouse, f"select count(*) from {table} where load_id = %s", result.load_id)
    return result, count


@pytest.mark.parametrize("relative", XML_FILES)
def test_every_real_xml_file_served_over_http_loads_all_its_records(
    relative, module_warehouse_url, data_dir, http_server
):
    file = shared_file(relative)
    result, raw_rows = served_load(http_server, file, module_warehouse_url, "raw.decp_records")

    assert (result.status, result.error) == ("loaded", None)
    assert result.records == raw_rows == xml_record_count(file)


@pytest.mark.parametrize("relative", CSV_FILES)
def test_every_real_tabular_csv_served_over_http_loads_all_its_rows(
    relative, module_warehouse_url, data_dir, http_server
):
    file = shared_file(relative)
    result, raw_rows = served_load(http_server, file, module_warehouse_url, "raw.decp_tabular_rows")

    assert (result.status, result.error) == ("loaded", None)
    assert result.records == raw_rows == len(csv_rows(file))


def test_tabular_parquet_served_over_http_loads_all_its_rows(
    module_warehouse_url, data_dir, http_server, tmp_path
):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source_rows = csv_rows(shared_file(DECP_INFO_CSV))  # the real extract, as Parquet (all text)
    parquet = tmp_path / "decp.parquet"
    pq.write_table(pa.Table.from_pylist(source_rows), parquet)

    table = "raw.decp_tabular_rows"
    result, raw_rows = served_load(http_server, parquet, module_warehouse_url, table)

    assert (result.status, result.format) == ("loaded", "decp-tabular-parquet")
    assert result.records == raw_rows == len(source_rows) == 8957


def test_real_zip_served_over_http_loads_member_by_member(warehouse_url, data_dir, http_server):
    archive = shared_file("decp_real/decp2019_pes_dgfip_files_2019-02.zip")
    with zipfile.ZipFile(archive) as opened:  # independent count: every member with the json module
        expected = {
            name: len(json.loads(opened.read(name))["marches"])
            for name in opened.namelist()
            if not name.endswith("/")
        }
    url = http_server.serve("pes/decp2019_pes_dgfip_files_2019-02.zip", archive)

    results = ingest_target(url, source="pes-dgfip")

    assert len(results) == len(expected) == 110
    assert {r.status for r in results} == {"loaded"}
    loaded = rows(warehouse_url, "select member, records, url from meta.loads order by load_id")
    assert {member: records for member, records, _ in loaded} == expected
    assert {loaded_url for _, _, loaded_url in loaded} == {url}
    assert rows(warehouse_url, "select count(*) from raw.decp_records") == [(233,)]
    assert sum(expected.values()) == 233
    assert rows(warehouse_url, "select status, load_status from meta.downloads") == [
        ("downloaded", "loaded")
    ]


def test_folder_goes_on_past_bad_files(warehouse_url, tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a_sample.json").write_bytes(SAMPLE.read_bytes())
    real = SAMPLE.read_bytes()
    (folder / "b_cut.json").write_bytes(real[: len(real) // 3])  # a real file cut in the middle
    (folder / "c_error_page.json").write_bytes(
        b"<!DOCTYPE html><html><title>502 Bad Gateway</title></html>"
    )
    (folder / ".d_partial.json.part").write_bytes(
        real
    )  # an unfinished download: not a file to load

    results = ingest_target(str(folder), source="inbox")

    assert [(r.file_name, r.status) for r in results] == [
        ("a_sample.json", "loaded"),
        ("b_cut.json", "failed"),
        ("c_error_page.json", "failed"),
    ]
    assert results[0].records == SAMPLE_RECORDS
    assert all(r.error.startswith(f"{r.file_name}: ") for r in results[1:])
    assert "html" in results[2].error.lower()
    positions = rows(
        warehouse_url,
        "select file_name, error_position from meta.loads where status = 'failed'"
        " order by file_name",
    )
    assert [name for name, _ in positions] == ["b_cut.json", "c_error_page.json"]
    assert all(position for _, position in positions)
    assert rows(
        warehouse_url, "select count(*), count(distinct load_id) from raw.decp_records"
    ) == [(SAMPLE_RECORDS, 1)]


def test_registry_name_loads_the_bundled_sample_under_its_source_name(warehouse_url, data_dir):
    [result] = ingest_target("sample")

    assert (result.status, result.records) == ("loaded", SAMPLE_RECORDS)
    assert rows(warehouse_url, "select source, file_name from meta.loads") == [
        ("sample", SAMPLE.name)
    ]


def test_file_url_is_a_local_file(warehouse_url, data_dir):
    [result] = ingest_target(SAMPLE.as_uri(), source="local")
    assert (result.status, result.records) == ("loaded", SAMPLE_RECORDS)


def test_remote_registry_source_downloads_then_skips_while_unchanged(
    warehouse_url, data_dir, http_server, monkeypatch
):
    minef_rows = shared_file(
        "decp_quirks/eclaireur_public_minef_decp2019_flat_quirks.json"
    )  # MINEF rows
    http_server.serve("resources/decp-2019.json", minef_rows)
    http_server.behave("datasets/r/16962018", redirect_to="resources/decp-2019.json")
    url = http_server.url("datasets/r/16962018")
    monkeypatch.setenv("ORCP_SOURCE_MINEF_DECP_2019_URL", url)

    [first] = ingest_source("minef-decp-2019")
    [second] = ingest_target("minef-decp-2019")
    [forced] = ingest_source("minef-decp-2019", force=True)

    assert (first.status, first.records, first.file_name) == (
        "loaded",
        json_record_count(minef_rows),
        "decp-2019.json",
    )
    assert second.status == "skipped" and "unchanged since" in second.error
    assert (
        forced.status == "skipped" and "same sha256" in forced.error
    )  # downloaded again, loaded once
    assert rows(warehouse_url, "select source, url, status from meta.loads order by load_id") == [
        ("minef-decp-2019", url, "loaded"),
        ("minef-decp-2019", url, "skipped"),
        ("minef-decp-2019", url, "skipped"),
    ]
    assert rows(
        warehouse_url, "select status, load_status from meta.downloads order by download_id"
    ) == [("downloaded", "loaded"), ("unchanged", "skipped"), ("downloaded", "skipped")]
    assert (data_dir / "landing" / "minef-decp-2019").is_dir()


def test_records_callback_gets_the_final_count(warehouse_url):
    seen = []
    ingest_target(str(SAMPLE), on_progress=seen.append)
    assert seen[-1] == SAMPLE_RECORDS


def test_plain_log_lines_when_not_on_a_terminal(warehouse_url, data_dir, http_server, caplog):
    url = http_server.serve("decp.json", SAMPLE)
    with progress_display() as progress:  # pytest captures stdout: not a terminal
        assert type(progress) is IngestProgress
        progress.interval = 0
        with caplog.at_level(logging.INFO, logger="ingest.run"):
            ingest_target(url, on_progress=progress)

    size_mb = f"{SAMPLE.stat().st_size / 1e6:.1f}"
    assert f"decp.json: downloaded {size_mb} of {size_mb} MB" in caplog.text
    assert f"decp.json: {SAMPLE_RECORDS} records loaded" in caplog.text


def test_rich_bars_show_bytes_and_records(warehouse_url, data_dir, http_server):
    from rich.console import Console

    url = http_server.serve("decp.json", SAMPLE)
    screen = io.StringIO()
    display = RichProgress(Console(file=screen, force_terminal=True, width=120))
    with display.live:
        ingest_target(url, on_progress=display)

    output = screen.getvalue()
    assert "download decp.json" in output and "load decp.json" in output
    assert f"{SAMPLE_RECORDS} records" in output
    assert f"{SAMPLE.stat().st_size / 1e3:.1f}/{SAMPLE.stat().st_size / 1e3:.1f} kB" in output


def test_pipeline_ingest_step_reads_the_registry(warehouse_url, data_dir):
    from orcp import pipeline

    summary = pipeline.ingest_step(["sample"])
    assert [r.records for r in summary.results] == [SAMPLE_RECORDS]
