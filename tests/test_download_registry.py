"""The source registry: the real national sources are declared, bad entries are clear errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ingest.registry import RegistryError, load_registry
from orcp.cli import app
from tests.conftest import SAMPLE_DATA, shared_file

VALID_SOURCE = {
    "name": "demo",
    "title": "Demo",
    "url": "https://example.org/decp.json",
    "format": "json",
    "schedule": "0 6 * * 1-5",
    "licence": "Licence Ouverte 2.0",
}


def write_registry(tmp_path, *sources, **extra_top_level):
    path = tmp_path / "sources.yml"
    path.write_text(json.dumps({"sources": list(sources), **extra_top_level}))  # JSON is YAML
    return path


def test_registry_declares_every_ministry_consolidated_file():
    reference = json.loads(
        shared_file("reference/minef_decp_consolidated_files_urls.json").read_text()
    )
    declared = {source.url: source for source in load_registry().sources}

    for entry in reference:
        source = declared.get(entry["url"])
        assert source is not None, f"{entry['file_name']} ({entry['url']}) is not in sources.yml"
        assert source.name == "minef-" + entry["file_name"]
        assert source.format == "json" and source.is_remote


def test_registry_declares_the_consolidated_tabular_dataset_and_the_bundled_sample():
    registry = load_registry()

    assert registry.get("decp-tabular-csv").url.endswith("/22847056-61df-452d-837d-8b8ceadbfc52")
    assert registry.get("decp-tabular-parquet").format == "parquet"
    sample = registry.get("sample")
    assert not sample.is_remote
    assert sample.local_path == SAMPLE_DATA / "decp2019_e-marchespublics_2019-04-03.json"
    assert sample.local_path.is_file()
    assert all(source.licence and source.title for source in registry.sources)


def test_environment_overrides_a_source_url(monkeypatch):
    monkeypatch.setenv("ORCP_SOURCE_MINEF_DECP_2024_URL", "http://127.0.0.1:9/decp-2024.json")
    source = load_registry().get("minef-decp-2024")

    assert source.url_override_variable == "ORCP_SOURCE_MINEF_DECP_2024_URL"
    assert source.effective_url == "http://127.0.0.1:9/decp-2024.json"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"cadence": "daily"}, "source 'demo': unknown key 'cadence'"),
        ({"schedule": "every day"}, "source 'demo': schedule: Value error, 'every day' is neither"),
        ({"schedule": "0 61 * * *"}, "source 'demo': schedule: Value error, '0 61 * * *'"),
        ({"format": "xlsx"}, "source 'demo': format: Input should be"),
        (
            {"url": "ftp://example.org/decp.json"},
            "source 'demo': url: Value error, unsupported URL scheme 'ftp'",
        ),
        ({"name": "Bad Name"}, "source 'Bad Name': name: String should match pattern"),
    ],
)
def test_invalid_source_is_an_error_naming_the_file_and_the_source(tmp_path, change, expected):
    path = write_registry(tmp_path, VALID_SOURCE | change)

    with pytest.raises(RegistryError) as error:
        load_registry(path)

    assert str(error.value).startswith(f"{path}: ")
    assert expected in str(error.value)


def test_missing_key_duplicate_name_and_unknown_top_level_key_are_errors(tmp_path):
    incomplete = {key: value for key, value in VALID_SOURCE.items() if key != "licence"}
    with pytest.raises(RegistryError, match="source 'demo': missing key 'licence'"):
        load_registry(write_registry(tmp_path, incomplete))
    with pytest.raises(RegistryError, match="duplicate source name"):
        load_registry(write_registry(tmp_path, VALID_SOURCE, VALID_SOURCE))
    with pytest.raises(RegistryError, match="unknown top-level key"):
        load_registry(write_registry(tmp_path, VALID_SOURCE, defaults={}))
    with pytest.raises(RegistryError, match="unknown source 'nope'"):
        load_registry(write_registry(tmp_path, VALID_SOURCE)).get("nope")


def test_airflow_presets_and_on_demand_sources_are_accepted(tmp_path):
    path = write_registry(
        tmp_path,
        VALID_SOURCE | {"name": "a", "schedule": "@quarterly"},
        VALID_SOURCE | {"name": "b", "schedule": None},
    )
    assert [source.schedule for source in load_registry(path).sources] == ["@quarterly", None]


def test_orcp_sources_lists_the_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCP_SOURCES_FILE", str(write_registry(tmp_path, VALID_SOURCE)))
    result = CliRunner().invoke(app, ["sources"])

    assert result.exit_code == 0, result.output
    assert "demo" in result.output and "0 6 * * 1-5" in result.output


def test_orcp_sources_reports_a_bad_registry(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "ORCP_SOURCES_FILE", str(write_registry(tmp_path, VALID_SOURCE | {"cadence": "x"}))
    )
    result = CliRunner().invoke(app, ["sources"])

    assert result.exit_code == 1
    assert "unknown key 'cadence'" in result.output
