"""The publication list (publish/datasets.yml) against the dbt project: every indicator model is declared,
an entry's texts come from the model's meta.indicator, dbt's exposures name the same datasets; and the
report templates escape what they show. `dbt parse` gives the manifest (no database query)."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from orcp.transform import DBT_PROJECT_DIR, run_dbt
from publish.catalog import CatalogError, dataset_specs, declared_indicator_models, load_catalog
from publish.dbt_docs import indicator_models, load_model_docs, manifest_path, model_vars
from publish.metadata import CKAN_NAME
from publish.reports import Cell, ValuesTable, cell, environment, format_value

# Parsing never connects: any well-formed URL will do.
UNUSED_URL = "postgresql://nobody@127.0.0.1:9/none"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ORCP_DATA_DIR", str(tmp_path_factory.mktemp("orcp-data")))
        from orcp.settings import get_settings

        get_settings.cache_clear()
        result = run_dbt(["parse"], UNUSED_URL)
        assert result.succeeded, result.describe()
        yield manifest_path()
        get_settings.cache_clear()


def test_every_indicator_model_is_declared_in_datasets_yml():
    models = indicator_models()
    declared = declared_indicator_models(load_catalog())
    missing = sorted(set(models) - set(declared))
    assert {"payment_delays", "public_works_outlook"} <= set(models)
    assert not missing, (f"indicator models without a published dataset: {', '.join(missing)} -- add an entry "
                         "(model + name) under `indicators:` in publish/datasets.yml")
    assert not set(declared) - set(models), "datasets.yml declares models that do not exist"


def test_indicator_entries_are_valid_slugs_and_unique():
    catalog = load_catalog()
    names = [entry["name"] for entry in catalog["datasets"]] + [entry["name"] for entry in catalog["indicators"]]
    assert len(names) == len(set(names))
    for entry in catalog["indicators"]:
        assert CKAN_NAME.match(entry["name"]) and entry["name"].startswith("indicateur-"), entry
    payment = next(entry for entry in catalog["indicators"] if entry["model"] == "payment_delays")
    assert payment["name"] == "indicateur-delais-de-paiement"


def test_titles_and_descriptions_default_from_meta_indicator(manifest):
    docs = load_model_docs(manifest)
    variables = {**model_vars(), "min_records": 7}
    specs = {spec.dbt_model: spec for spec in dataset_specs(load_catalog(), docs, variables)}
    for model in ("payment_delays", "public_works_outlook"):
        indicator = docs[model].indicator
        spec = specs[model]
        assert spec.title == " ".join(indicator["title_fr"].split())
        assert spec.description.startswith(" ".join(indicator["question_fr"].split()))
        assert "inférieur à 7" in spec.description  # the dbt var, not a copy of it
        assert spec.indicator["methodology_fr"] == indicator["methodology_fr"]
        assert spec.relation == f"indicators.{model}"
        assert spec.grain and set(spec.grain) <= set(docs[model].columns)
        assert {"commande publique", "indicateur"} <= set(spec.keywords)  # the defaults come first
    assert specs["payment_delays"].frequency == "annual" and specs["public_works_outlook"].frequency == "irregular"
    assert specs["payment_delays"].grain == ["measure", "year", "territory_code", "entity_category"]


def test_an_entry_overrides_a_default_and_bad_entries_are_named(manifest):
    docs = load_model_docs(manifest)
    catalog = copy.deepcopy(load_catalog())
    catalog["indicators"][0]["title"] = "Titre choisi : {title_fr}"
    spec = next(s for s in dataset_specs(catalog, docs, model_vars()) if s.name == catalog["indicators"][0]["name"])
    assert spec.title.startswith("Titre choisi : ")

    without_docs = copy.deepcopy(load_catalog())
    without_docs["indicators"].append({"model": "fct_contracts", "name": "indicateur-sans-doc"})
    with pytest.raises(CatalogError, match="indicateur-sans-doc.*fct_contracts has no meta.indicator"):
        dataset_specs(without_docs, docs, model_vars())

    unknown = copy.deepcopy(load_catalog())
    unknown["indicators"].append({"model": "no_such_model", "name": "indicateur-inconnu"})
    with pytest.raises(CatalogError, match="no dbt model 'no_such_model'"):
        dataset_specs(unknown, docs, model_vars())


def test_exposures_and_datasets_yml_agree(manifest):
    import json

    nodes = json.loads(manifest.read_text())["exposures"].values()
    exposed = {node["config"]["meta"]["dataset"]: sorted(n.split(".")[-1] for n in node["depends_on"]["nodes"])
               for node in nodes}
    for node in nodes:
        assert node["owner"]["name"].startswith("ORCP")
        assert node["name"] == node["config"]["meta"]["dataset"].replace("-", "_")
    catalog = load_catalog()
    declared = {entry["name"]: [entry["dbt_model"]] for entry in catalog["datasets"]}
    declared |= {entry["name"]: [entry["model"]] for entry in catalog["indicators"]}
    exposures_yml = yaml.safe_load((DBT_PROJECT_DIR / "models" / "exposures.yml").read_text())
    assert len(exposures_yml["exposures"]) == len(exposed)  # no two exposures for one dataset
    assert exposed == declared, (
        f"datasets without exposure: {sorted(set(declared) - set(exposed))}; "
        f"exposures without dataset: {sorted(set(exposed) - set(declared))}; "
        f"models differ for: {sorted(k for k in set(declared) & set(exposed) if declared[k] != exposed[k])}")


# ---------------------------------------------------------------- report rendering


@pytest.mark.parametrize("status, words", [("insufficient data", "données insuffisantes"),
                                           ("not available", "non disponible")])
def test_a_value_without_status_ok_is_shown_in_words_never_as_a_number(status, words):
    shown = cell({"status": status, "value": 12.5, "n": 3}, "number")
    assert shown.text == words and not re.search(r"\d", shown.text)
    assert cell({"status": "ok", "value": 12.5, "n": 30}, "days").text == "12,50 jours"


def test_french_number_formats():
    assert format_value(0.0833, "percent") == "8,3\u202f%"
    assert format_value(1234567.4, "eur") == "1\u202f234\u202f567\u202f€"
    assert format_value(2.25, "+days") == "+2,25 jours"
    assert format_value(441, "number") == "441"


def test_templates_escape_every_value():
    hostile = '<script>alert("x")</script>'
    page = {
        "name": "indicateur-test", "title": hostile, "question": hostile, "period": "2024", "as_of": "2026-01-05",
        "rows": 1, "page": "x.html", "csv": "../x/x.csv", "datapackage": "../x/datapackage.json",
        "indicator_id": "test", "sections": [("Méthodologie", [hostile])], "measures": [("m", hostile)],
        "configuration": [("Seuil", hostile)], "latest": "2024", "min_records": 10, "outlook_page": None,
        "tables": [ValuesTable(hostile, [hostile], [hostile], [([hostile], [Cell(hostile, "ok", 12)])])],
    }
    html = environment().get_template("indicator.html").render(page=page)
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "5 janvier 2026" in html
