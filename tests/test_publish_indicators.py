"""`orcp run` on the embedded default publishes every declared dataset with full metadata, French reports
and a DCAT catalogue; publishing again writes nothing; a broken indicator table blocks publication.

One warehouse for the module: the bundled samples (DECP, payment delays, census, CERC survey) go through
the real pipeline once (`orcp run`). Expected values are recomputed here from the published CSV files and
the models' YAML, never copied from a run."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import frictionless
import lxml.html
import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from orcp import pipeline
from orcp.cli import app
from orcp.settings import get_settings
from orcp.transform import DBT_PROJECT_DIR
from publish.catalog import load_catalog
from publish.metadata import read_folder
from tests.conftest import shared_file
from tests.test_publish_ckan import ckan_portal  # noqa: F401  (fixture: a real CKAN portal)

INDICATORS_DIR = DBT_PROJECT_DIR / "models" / "indicators"
NARROW = "\u202f"
HDF = ["32", "02", "59", "60", "62", "80"]
EXTRA_DECP = "decp_real/decp2019_marches-securises_ville-de-croix-59_2019-2021.json"


@dataclass
class Run:
    url: str
    opendata: Path
    output: str = field(repr=False)  # the command's output, whitespace removed (the console wraps lines)


@pytest.fixture(scope="module")
def run(module_warehouse_url, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("orcp-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ORCP_DATABASE_URL", module_warehouse_url)
        patch.setenv("ORCP_DATA_DIR", str(data_dir))
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["run"])
        assert result.exit_code == 0, result.output
        yield Run(module_warehouse_url, data_dir / "opendata", "".join(result.output.split()))
    get_settings.cache_clear()


def published_names() -> list[str]:
    catalog = load_catalog()
    return [entry["name"] for entry in catalog["datasets"] + catalog["indicators"]]


def indicator_entries() -> dict[str, str]:
    """dataset name -> indicator model."""
    return {entry["name"]: entry["model"] for entry in load_catalog()["indicators"]}


def model_yaml(model: str) -> dict:
    return yaml.safe_load((INDICATORS_DIR / f"{model}.yml").read_text())["models"][0]


def grain_of(model: dict) -> list[str]:
    for test in model.get("data_tests") or []:
        if isinstance(test, dict) and "unique_combination" in test:
            return test["unique_combination"]["arguments"]["columns"]
    return []


def csv_rows(opendata: Path, name: str) -> list[dict]:
    with (opendata / name / f"{name}.csv").open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def words(text: str) -> str:
    """Collapse the layout's whitespace; the narrow no-break spaces of French numbers stay."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- the French display, re-implemented

def shown(row: dict) -> str:
    """What a report cell must say for a published CSV row."""
    if row["status"] == "insufficient data":
        return "données insuffisantes"
    if row["status"] == "not available":
        return "non disponible"
    value = Decimal(row["value"])
    measure = row["measure"]
    if "share" in measure:
        return f"{value * 100:.1f}".replace(".", ",") + f"{NARROW}%"
    if measure.endswith("_eur"):
        return f"{value:,.0f}".replace(",", NARROW) + f"{NARROW}€"
    text = f"{value:.0f}" if value == value.to_integral() else f"{value:.2f}".replace(".", ",")
    sign = "+" if "change" in measure and value > 0 else ""
    return sign + text + (" jours" if "days" in measure else "")


def table_cells(page: Path, caption_start: str) -> dict[tuple, dict[str, str]]:
    """(row header texts) -> {column header: the cell's main text (without its n)}."""
    doc = lxml.html.parse(str(page)).getroot()
    tables = [t for t in doc.iter("table") if words(t.findtext("caption") or "").startswith(caption_start)]
    assert len(tables) == 1, f"{page.name}: no single table captioned {caption_start!r}"
    headers = [words(th.text_content()) for th in tables[0].find("thead").iter("th")]
    found = {}
    for tr in tables[0].find("tbody").iter("tr"):
        row_headers = [words(th.text_content()) for th in tr.findall("th")]
        cells = [words(td.text or "") for td in tr.findall("td")]
        found[tuple(row_headers)] = dict(zip(headers[len(row_headers):], cells))
    return found


def definitions(page: Path) -> dict[str, str]:
    doc = lxml.html.parse(str(page)).getroot()
    return {words(dt.text_content()): words(dt.getnext().text_content()) for dt in doc.iter("dt")}


# ---------------------------------------------------------------- tests

def test_run_publishes_every_declared_dataset_with_reports_and_catalog(run):
    for name in published_names():
        folder = run.opendata / name
        assert (folder / f"{name}.csv").is_file() and (folder / "datapackage.json").is_file()
        assert str(folder) in run.output
    assert str(run.opendata / "rapports" / "index.html") in run.output
    assert (run.opendata / "catalog.jsonld").is_file()
    pages = {p.name for p in (run.opendata / "rapports").glob("*.html")}
    assert pages == {"index.html", "perspectives-travaux-publics.html"} | {f"{n}.html" for n in indicator_entries()}


def test_each_indicator_datapackage_describes_its_data(run):
    for name, model_name in indicator_entries().items():
        folder = run.opendata / name
        package = json.loads((folder / "datapackage.json").read_text())
        rows = csv_rows(run.opendata, name)
        model = model_yaml(model_name)
        indicator = model["meta"]["indicator"]
        resource = package["resources"][0]
        assert resource["rows"] == len(rows) > 0

        grain = grain_of(model)
        assert resource["schema"]["primaryKey"] == grain
        assert len({tuple(row[c] for c in grain) for row in rows}) == len(rows)  # the grain is a key

        temporal_column = "planned_year" if model_name == "public_works_outlook" else "year"
        years = sorted(int(row[temporal_column]) for row in rows if row[temporal_column])
        assert package["temporal"] == {"start": f"{years[0]}-01-01", "end": f"{years[-1]}-12-31"}
        assert package["as_of"] == max(row["as_of_date"] for row in rows)
        assert package["method_version"] == ", ".join(sorted({row["method_version"] for row in rows}))
        assert package["methodology"] == words(indicator["methodology_fr"])
        assert package["title"] == words(indicator["title_fr"])
        assert package["description"].startswith(words(indicator["question_fr"]))
        assert package["frequency"] in ("annual", "irregular", "daily")

        report = frictionless.validate(folder / "datapackage.json")
        assert report.valid, report.flatten(["rowNumber", "fieldName", "message"])[:5]

        # ... and the CKAN publisher maps all of it
        local = read_folder(folder)
        extras = {extra["key"]: extra["value"] for extra in local.package["extras"]}
        assert (extras["temporal_start"], extras["temporal_end"]) == (package["temporal"]["start"],
                                                                       package["temporal"]["end"])
        assert extras["as_of_date"] == package["as_of"] and extras["method_version"] == package["method_version"]
        assert extras["frequency"].startswith("http://publications.europa.eu/resource/authority/frequency/")
        assert local.package["version"] == package["method_version"]
        assert local.package["notes"].endswith(f"**Méthodologie.** {package['methodology']}")
        assert json.loads(local.resources[0].fields["schema"])["primaryKey"] == grain


def test_payment_delays_page_shows_latest_values_and_documentation(run):
    name = "indicateur-delais-de-paiement"
    rows = [r for r in csv_rows(run.opendata, name) if r["entity_category"] == "all"]
    latest = max(int(r["year"]) for r in rows if r["status"] == "ok")
    latest_rows = [r for r in rows if int(r["year"]) == latest]
    page = run.opendata / "rapports" / f"{name}.html"
    cells = table_cells(page, f"Valeurs de {latest}")

    labels = {row["measure"]: row["measure_label_fr"] for row in latest_rows}
    territories = {row["territory_code"]: row["territory_name"] for row in latest_rows}
    assert [header[0] for header in cells] == [  # région first, then départements, then France
        territories["32"]] + [f"{territories[c]} ({c})" for c in HDF[1:]] + [territories["FR"]]
    checked = {"ok": 0, "insufficient data": 0, "not available": 0}
    for row in latest_rows:
        header = territories[row["territory_code"]] if row["territory_code"] in ("32", "FR") \
            else f"{territories[row['territory_code']]} ({row['territory_code']})"
        text = cells[(header,)][labels[row["measure"]]]
        assert text == shown(row), (row, text)
        if row["status"] != "ok":
            assert not re.search(r"\d", text)  # never a number
        checked[row["status"]] += 1
    assert checked["ok"] and checked["insufficient data"]  # the sample has both

    text = words(lxml.html.parse(str(page)).getroot().text_content())
    indicator = model_yaml("payment_delays")["meta"]["indicator"]
    for key, heading in (("methodology_fr", "Méthodologie"), ("worked_example_fr", "Exemple chiffré"),
                         ("exclusions_fr", "Exclusions"), ("assumptions_fr", "Hypothèses"),
                         ("limits_fr", "Limites connues")):
        assert f"{heading} {words(indicator[key])}" in text
    configuration = definitions(page)
    assert configuration["Effectif minimum pour publier une valeur (min_records)"] == \
        f"{get_settings().min_records} enregistrements"
    assert configuration["Version de la méthode (method_version)"] == \
        ", ".join(sorted({r["method_version"] for r in rows}))
    assert configuration["Seuil de montant de la série (threshold_eur)"] == "sans objet"  # DGP: no threshold
    assert configuration["Une ligne par"] == "Mesure, Exercice, Code du territoire, Catégorie d'entité"


def test_public_works_outlook_page_for_the_cerc(run):
    rows = csv_rows(run.opendata, "indicateur-perspectives-travaux-publics")
    wave = max(r["survey_wave"] for r in rows)
    page = run.opendata / "rapports" / "perspectives-travaux-publics.html"
    shares = [r for r in rows if r["survey_wave"] == wave and r["measure"] == "no_project_share"]
    cells = table_cells(page, "Part des répondants sans projet")
    sizes = {"tous": "Tous les répondants", "moins_5000": "Communes de moins de 5 000 habitants",
             "5000_et_plus": "Communes de 5 000 habitants ou plus", "inconnue": "Communes de taille inconnue"}
    names = {"32": "Hauts-de-France", "02": "Aisne (02)", "59": "Nord (59)", "60": "Oise (60)",
             "62": "Pas-de-Calais (62)", "80": "Somme (80)"}
    for row in shares:
        assert cells[(names[row["geo_code"]],)][sizes[row["commune_size"]]] == shown(row)
    region_all = next(r for r in shares if r["geo_code"] == "32" and r["commune_size"] == "tous")
    assert region_all["status"] == "ok"  # enough respondents region-wide in the sample: a real number

    projects = [r for r in rows if r["survey_wave"] == wave and r["measure"] == "planned_projects"
                and r["geo_level"] == "region"]
    project_cells = table_cells(page, "Nombre de projets prévus en Hauts-de-France")
    filled = [text for row in project_cells.values() for text in row.values() if text]
    assert sorted(filled) == sorted(shown(r) for r in projects)
    assert f"Vague d'enquête {wave}" in words(lxml.html.parse(str(page)).getroot().text_content())


def test_reports_are_static_self_contained_and_linked(run):
    folder = run.opendata / "rapports"
    for page in folder.glob("*.html"):
        doc = lxml.html.parse(str(page)).getroot()
        assert doc.get("lang") == "fr"
        assert not doc.xpath("//script | //link | //img | //iframe | //object | //*[@src]"), page.name
        for href in doc.xpath("//a/@href"):
            assert not re.match(r"[a-z]+:", href), f"{page.name}: external link {href}"
            assert (folder / href).resolve().is_file(), f"{page.name}: broken link {href}"
    index = words(lxml.html.parse(str(folder / "index.html")).getroot().text_content())
    for model in indicator_entries().values():
        assert words(model_yaml(model)["meta"]["indicator"]["title_fr"]) in index


def test_dcat_catalog_describes_the_folder(run):
    catalog = json.loads((run.opendata / "catalog.jsonld").read_text())
    assert catalog["@type"] == "dcat:Catalog"
    datasets = {d["dct:identifier"]: d for d in catalog["dcat:dataset"]}
    assert list(datasets) == published_names()
    for name, dataset in datasets.items():
        package = json.loads((run.opendata / name / "datapackage.json").read_text())
        assert dataset["dct:title"]["@value"] == package["title"]
        for distribution in dataset["dcat:distribution"]:
            path = run.opendata / distribution["dcat:downloadURL"]["@id"]
            checksum = distribution["spdx:checksum"]["spdx:checksumValue"]
            assert checksum == hashlib.sha256(path.read_bytes()).hexdigest()
            assert int(distribution["dcat:byteSize"]["@value"]) == path.stat().st_size
        if "temporal" in package:
            assert dataset["dct:temporal"]["dcat:startDate"]["@value"] == package["temporal"]["start"]
        if name in indicator_entries():
            assert (run.opendata / dataset["dcat:landingPage"]["@id"]).is_file()
            assert dataset["dct:modified"]["@value"] == package["as_of"]


def test_republishing_unchanged_data_writes_nothing(run):
    before = snapshot(run.opendata)
    published = pipeline.publish_step()
    assert [d.changed for d in published] == [False] * len(published_names())
    assert snapshot(run.opendata) == before


@pytest.mark.ckan
def test_ckan_receives_the_indicator_datasets_with_their_metadata(run, ckan_portal):  # noqa: F811
    from ckanapi import NotFound, RemoteCKAN

    from publish.ckan import publish_folder

    with RemoteCKAN(ckan_portal.url, apikey=ckan_portal.token) as ckan:
        for name in indicator_entries():
            with contextlib.suppress(NotFound):
                ckan.action.dataset_purge(id=name)
        try:
            for name in indicator_entries():
                package = json.loads((run.opendata / name / "datapackage.json").read_text())
                first = publish_folder(run.opendata / name, ckan_portal.url, ckan_portal.token, "orcp-tests")
                again = publish_folder(run.opendata / name, ckan_portal.url, ckan_portal.token, "orcp-tests")
                assert first.package == "created" and (again.package, again.bytes_uploaded) == ("unchanged", 0)

                shown_ = ckan.action.package_show(id=name)
                extras = {extra["key"]: extra["value"] for extra in shown_["extras"]}
                assert shown_["title"] == package["title"] and shown_["version"] == package["method_version"]
                assert shown_["notes"].endswith(package["methodology"])
                assert (extras["temporal_start"], extras["temporal_end"], extras["as_of_date"]) == (
                    package["temporal"]["start"], package["temporal"]["end"], package["as_of"])
                frequency = {"annual": "ANNUAL", "irregular": "IRREG", "daily": "DAILY"}[package["frequency"]]
                assert extras["frequency"].endswith(f"/frequency/{frequency}")
                resource = shown_["resources"][0]
                grain = package["resources"][0]["schema"]["primaryKey"]
                assert json.loads(resource["schema"])["primaryKey"] == grain
                csv_bytes = (run.opendata / name / f"{name}.csv").read_bytes()
                assert resource["hash"] == hashlib.sha256(csv_bytes).hexdigest()
        finally:
            for name in indicator_entries():
                with contextlib.suppress(NotFound):
                    ckan.action.dataset_purge(id=name)


def test_a_broken_indicator_table_blocks_publication(run):
    """Runs last: it leaves the warehouse broken."""
    runner = CliRunner()
    with psycopg.connect(run.url, autocommit=True) as conn:
        # A number published for an 'insufficient data' row of a real indicator.
        broken = conn.execute("update indicators.payment_delays set value = n"
                              " where status = 'insufficient data'").rowcount
        assert broken > 0
    checked = runner.invoke(app, ["check"])
    assert checked.exit_code == 1
    assert "indicators.payment_delays.valueexpect_column_values_to_be_nullwherestatus!=ok" in \
        "".join(checked.output.split())

    # A new indicator table nobody wrote YAML for is checked too; new data arrive: publication is blocked.
    with psycopg.connect(run.url, autocommit=True) as conn:
        conn.execute("create table indicators.zz_new_indicator as select * from indicators.public_works_outlook")
        conn.execute("update indicators.zz_new_indicator set value = null, status = 'ok'")
        contracts_before = conn.execute("select count(*) from marts.fct_contracts").fetchone()[0]
    before = snapshot(run.opendata)
    result = runner.invoke(app, ["run", str(shared_file(EXTRA_DECP))])
    output = "".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "checkfailed:publicationblockedby" in output
    assert "indicators.zz_new_indicator.valueexpect_column_values_to_not_be_nullwherestatus==ok" in output
    with psycopg.connect(run.url) as conn:
        assert conn.execute("select count(*) from marts.fct_contracts").fetchone()[0] > contracts_before
    assert snapshot(run.opendata) == before  # the new contracts were not published
