"""publish.ckan against a real CKAN 2.12 portal (tests/ckan/portal.py starts one on 127.0.0.1).

The published folder is built at test time from a real DECP extract, in the layout of
publish/local.py: CSV files and a Frictionless datapackage.json.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import logging
import os
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import frictionless
import pytest
import requests
from ckanapi import NotFound, RemoteCKAN

from publish.ckan import CkanPublishError, publish_folder
from publish.metadata import DatapackageError
from tests.ckan import portal as ckan_portal_module
from tests.conftest import shared_file

DECP_EXTRACT = "decp_tabular/decp_info_tabular_extract_2024H2_travaux_cpv4521.csv"
ORGANIZATION = "orcp-tests"
TITLE = "Contrats de travaux de voirie (extrait DECP)"
LICENCE = {"name": "etalab-2.0", "title": "Licence Ouverte / Open Licence version 2.0",
           "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"}
PUBLISHER = "Observatoire régional de la commande publique (ORCP) Hauts-de-France"
CONTRACT_COLUMNS = {  # column -> (type, French title)
    "uid": ("string", "Identifiant unique du contrat"),
    "acheteur_nom": ("string", "Nom de l'acheteur"),
    "titulaire_nom": ("string", "Nom du titulaire"),
    "montant": ("number", "Montant HT (euros)"),
    "dateNotification": ("date", "Date de notification"),
    "procedure": ("string", "Procédure de passation"),
}


# ---------------------------------------------------------------- the portal


@dataclass
class CkanPortal:
    url: str
    token: str
    dcat: bool

    def __repr__(self) -> str:
        return f"CkanPortal(url={self.url!r}, dcat={self.dcat})"


@pytest.fixture(scope="session")
def ckan_portal(request) -> CkanPortal:
    """ORCP_TEST_CKAN_URL + ORCP_TEST_CKAN_TOKEN if set, else a portal started for the session
    (and stopped at its end if this session started it). Skipped, with the reason, where it
    cannot start, unless ORCP_REQUIRE_CKAN=1 (then it fails)."""
    if os.environ.get("ORCP_TEST_CKAN_URL"):
        url, token = os.environ["ORCP_TEST_CKAN_URL"], os.environ.get("ORCP_TEST_CKAN_TOKEN", "")
        yield CkanPortal(url, token, _has_dcat(url))
        return
    admin_url = request.getfixturevalue("pg_admin_url")
    try:
        portal, started = ckan_portal_module.start(admin_url=admin_url, log=lambda message: None)
    except ckan_portal_module.PortalError as error:
        if os.environ.get("ORCP_REQUIRE_CKAN") == "1":
            raise
        pytest.skip(f"CKAN portal could not be started: {error}")
    yield CkanPortal(portal.url, portal.token, portal.dcat)
    if started:
        ckan_portal_module.stop()


def _has_dcat(url: str) -> bool:
    status = requests.get(f"{url}/api/3/action/status_show", timeout=10).json()["result"]
    return "dcat" in status.get("extensions", [])


@pytest.fixture
def ckan(ckan_portal) -> RemoteCKAN:
    with RemoteCKAN(ckan_portal.url, apikey=ckan_portal.token) as remote:
        yield remote


@pytest.fixture
def dataset_name(ckan) -> str:
    """A dataset name of its own for each test; the dataset is purged afterwards."""
    name = f"orcp-test-{uuid.uuid4().hex[:10]}"
    yield name
    with contextlib.suppress(NotFound):  # nothing was created: the test failed before
        ckan.action.dataset_purge(id=name)


# ---------------------------------------------------------------- the local folder


def contracts_rows(count: int) -> list[dict]:
    with shared_file(DECP_EXTRACT).open(newline="", encoding="utf-8") as stream:
        rows = []
        for row in csv.DictReader(stream):
            rows.append({column: row[column] for column in CONTRACT_COLUMNS})
            if len(rows) == count:
                return rows
    return rows


def procedure_totals(rows: list[dict]) -> list[dict]:
    totals = defaultdict(lambda: [0, Decimal(0)])
    for row in rows:
        totals[row["procedure"]][0] += 1
        totals[row["procedure"]][1] += Decimal(row["montant"] or 0)
    return [{"procedure": p, "nombre_contrats": n, "montant_total": str(total)}
            for p, (n, total) in sorted(totals.items())]


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_datapackage(folder: Path, name: str, title: str, contracts: list[dict],
                      with_procedures: bool = True) -> dict:
    """datapackage.json for the CSV files in folder, built with frictionless as publish/local.py does."""
    dates = sorted(row["dateNotification"] for row in contracts)
    resources = [_resource(folder / f"{name}-contrats.csv", "contrats", "Contrats de travaux",
                           [{"name": column, "type": kind, "title": label,
                             "description": f"{label} (source : DECP)"}
                            for column, (kind, label) in CONTRACT_COLUMNS.items()])]
    if with_procedures:
        resources.append(_resource(folder / f"{name}-procedures.csv", "procedures",
                                   "Contrats par procédure",
                                   [{"name": "procedure", "type": "string", "title": "Procédure"},
                                    {"name": "nombre_contrats", "type": "integer", "title": "Nombre de contrats"},
                                    {"name": "montant_total", "type": "number", "title": "Montant total HT"}]))
    package = frictionless.Package(
        name=name, title=title,
        description="Contrats de travaux (CPV 4521) extraits des données essentielles de la commande publique.",
        keywords=["commande publique", "DECP", "travaux"], licenses=[LICENCE],
        contributors=[{"title": PUBLISHER, "role": "publisher"}],
        sources=[{"title": "Données essentielles de la commande publique",
                  "path": "https://www.data.gouv.fr/fr/datasets/donnees-essentielles-de-la-commande-publique/"}],
        resources=resources,
    )
    descriptor = package.to_descriptor()
    descriptor.update(temporal={"start": dates[0], "end": dates[-1]}, frequency="monthly",
                      method_version="1.0.0", as_of=dates[-1])
    (folder / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2))
    return descriptor


def _resource(path: Path, name: str, title: str, fields: list[dict]) -> frictionless.Resource:
    return frictionless.Resource(
        name=name, title=title, path=path.name, format="csv", mediatype="text/csv", encoding="utf-8",
        hash=f"sha256:{sha256(path.read_bytes())}", bytes=path.stat().st_size,
        schema=frictionless.Schema.from_descriptor({"fields": fields}))


def build_folder(root: Path, name: str, contract_count: int = 30, title: str | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    rows = contracts_rows(contract_count)
    write_csv(folder / f"{name}-contrats.csv", rows)
    write_csv(folder / f"{name}-procedures.csv", procedure_totals(rows))
    write_datapackage(folder, name, title or TITLE, rows)
    return folder


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(url: str) -> bytes:
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    return response.content


def by_key(package: dict) -> dict[str, dict]:
    return {r["datapackage_resource"]: r for r in package["resources"]}


# ---------------------------------------------------------------- tests


@pytest.mark.ckan
def test_first_publication_creates_dataset_with_metadata_and_files(ckan_portal, ckan, dataset_name, tmp_path):
    folder = build_folder(tmp_path, dataset_name)
    contracts_csv = folder / f"{dataset_name}-contrats.csv"
    procedures_csv = folder / f"{dataset_name}-procedures.csv"

    report = publish_folder(folder, ckan_portal.url, ckan_portal.token, ORGANIZATION)

    assert report.package == "created"
    assert [(o.name, o.action) for o in report.resources] == [
        ("Contrats de travaux", "created"), ("Contrats par procédure", "created")]
    assert report.bytes_uploaded == contracts_csv.stat().st_size + procedures_csv.stat().st_size

    package = ckan.action.package_show(id=dataset_name)
    assert package["title"] == TITLE
    assert package["notes"].startswith("Contrats de travaux (CPV 4521)")
    assert package["license_id"] == "etalab-2.0"
    assert package["license_title"] == LICENCE["title"]
    assert package["organization"]["name"] == ORGANIZATION
    assert sorted(t["name"] for t in package["tags"]) == ["DECP", "commande publique", "travaux"]
    assert package["version"] == "1.0.0"
    extras = {e["key"]: e["value"] for e in package["extras"]}
    dates = sorted(row["dateNotification"] for row in contracts_rows(30))
    assert extras["temporal_start"] == dates[0] and extras["temporal_end"] == dates[-1]
    assert extras["spatial_text"] == "Hauts-de-France"
    assert extras["frequency"] == "http://publications.europa.eu/resource/authority/frequency/MONTHLY"
    assert extras["publisher_name"] == PUBLISHER
    assert extras["as_of_date"] == dates[-1]
    assert "Données essentielles de la commande publique" in extras["provenance"]

    resources = by_key(package)
    assert [r["datapackage_resource"] for r in package["resources"]] == ["contrats", "procedures"]
    for key, path in (("contrats", contracts_csv), ("procedures", procedures_csv)):
        local_bytes = path.read_bytes()
        assert resources[key]["hash"] == sha256(local_bytes)
        assert resources[key]["format"] == "CSV"
        assert resources[key]["url_type"] == "upload"
        served = download(resources[key]["url"])
        assert served == local_bytes
    assert "| `montant` | Montant HT (euros) | nombre |" in resources["contrats"]["description"]
    assert json.loads(resources["procedures"]["schema"])["fields"][1]["name"] == "nombre_contrats"


@pytest.mark.ckan
def test_republishing_unchanged_folder_uploads_nothing_and_changes_nothing(
        ckan_portal, ckan, dataset_name, tmp_path):
    folder = build_folder(tmp_path, dataset_name)
    publish_folder(folder, ckan_portal.url, ckan_portal.token, ORGANIZATION)
    before = ckan.action.package_show(id=dataset_name)

    report = publish_folder(folder, ckan_portal.url, ckan_portal.token, ORGANIZATION)

    assert report.package == "unchanged" and not report.changed
    assert report.bytes_uploaded == 0
    assert report.uploaded == [] and report.skipped == ["Contrats de travaux", "Contrats par procédure"]
    assert report.bytes_skipped == sum(path.stat().st_size for path in folder.glob("*.csv"))
    after = ckan.action.package_show(id=dataset_name)
    assert after["metadata_modified"] == before["metadata_modified"]
    assert after["resources"] == before["resources"]


@pytest.mark.ckan
def test_changing_one_csv_uploads_only_that_file(ckan_portal, ckan, dataset_name, tmp_path):
    folder = build_folder(tmp_path, dataset_name, contract_count=30)
    publish_folder(folder, ckan_portal.url, ckan_portal.token, ORGANIZATION)
    before = by_key(ckan.action.package_show(id=dataset_name))

    # New data: the totals now cover 60 contracts; the contracts file is not rewritten.
    procedures_csv = folder / f"{dataset_name}-procedures.csv"
    old_totals = procedures_csv.read_bytes()
    write_csv(procedures_csv, procedure_totals(contracts_rows(60)))
    write_datapackage(folder, dataset_name, TITLE, contracts_rows(30))
    new_totals = procedures_csv.read_bytes()
    assert new_totals != old_totals

    report = publish_folder(folder, ckan_portal.url, ckan_portal.token, ORGANIZATION)

    assert report.package == "unchanged"
    assert [(o.name, o.action) for o in report.resources] == [
        ("Contrats de travaux", "unchanged"), ("Contrats par procédure", "uploaded")]
    assert report.bytes_uploaded == len(new_totals)
    after = by_key(ckan.action.package_show(id=dataset_name))
    assert after["procedures"]["hash"] == sha256(new_totals)
    assert download(after["procedures"]["url"]) == new_totals
    assert after["contrats"] == before["contrats"]


@pytest.mark.ckan
def test_resource_gone_from_folder_is_deleted_and_metadata_change_uploads_nothing(
        ckan_portal, ckan, dataset_name, tmp_path):
    folder = build_folder(tmp_path, dataset_name)
    publish_folder(folder, ckan_portal.url, ckan_portal.token, ORGANIZATION)

    (folder / f"{dataset_name}-procedures.csv").unlink()
    write_datapackage(folder, dataset_name, "Contrats de travaux : nouveau titre", contracts_rows(30),
                      with_procedures=False)

    report = publish_folder(folder, ckan_portal.url, ckan_portal.token, ORGANIZATION)

    assert report.package == "updated"
    assert report.bytes_uploaded == 0
    assert report.deleted == ["Contrats par procédure"]
    package = ckan.action.package_show(id=dataset_name)
    assert package["title"] == "Contrats de travaux : nouveau titre"
    assert [r["datapackage_resource"] for r in package["resources"]] == ["contrats"]


@pytest.mark.ckan
def test_bad_token_gives_clear_error_without_the_token(ckan_portal, dataset_name, tmp_path, caplog):
    folder = build_folder(tmp_path, dataset_name)
    new_folder = build_folder(tmp_path, f"{dataset_name}-new")
    publish_folder(folder, ckan_portal.url, ckan_portal.token, ORGANIZATION)
    bad_token = "bad-" + uuid.uuid4().hex * 2
    caplog.set_level(logging.DEBUG)

    # Refused even where nothing would be written (CKAN reads an invalid token as anonymous).
    for target in (folder, new_folder):
        with pytest.raises(CkanPublishError) as raised:
            publish_folder(target, ckan_portal.url, bad_token, ORGANIZATION)
        message = str(raised.value)
        assert raised.value.dataset == target.name
        assert f"dataset {target.name!r}: not authorised: the API token is invalid" in message
        assert bad_token not in message and bad_token not in repr(raised.value)
    assert bad_token not in caplog.text


@pytest.mark.ckan
def test_validation_error_names_dataset_and_ckan_message(ckan_portal, dataset_name, tmp_path):
    folder = build_folder(tmp_path, dataset_name)
    descriptor = json.loads((folder / "datapackage.json").read_text())
    descriptor["keywords"].append("x")  # CKAN refuses tags shorter than 2 characters
    (folder / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False))

    with pytest.raises(CkanPublishError) as raised:
        publish_folder(folder, ckan_portal.url, ckan_portal.token, ORGANIZATION)

    message = str(raised.value)
    assert f"package_create of dataset {dataset_name!r}: validation failed" in message
    assert "validation failed" in message and "tags" in message
    assert ckan_portal.token not in message


@pytest.mark.ckan
def test_dcat_turtle_mentions_title_and_licence(ckan_portal, dataset_name, tmp_path):
    if not ckan_portal.dcat:
        pytest.skip("ckanext-dcat is not enabled on this portal")
    folder = build_folder(tmp_path, dataset_name)
    publish_folder(folder, ckan_portal.url, ckan_portal.token, ORGANIZATION)

    turtle = download(f"{ckan_portal.url}/dataset/{dataset_name}.ttl").decode()

    assert f'"{TITLE}"' in turtle
    assert LICENCE["path"] in turtle
    assert '"Hauts-de-France"' in turtle
    assert "frequency/MONTHLY" in turtle
    for path in folder.glob("*.csv"):
        assert sha256(path.read_bytes()) in turtle


def test_stale_datapackage_is_refused_before_any_call(tmp_path):
    folder = build_folder(tmp_path, "orcp-stale")
    (folder / "orcp-stale-procedures.csv").write_text("procedure,nombre_contrats,montant_total\n")

    with pytest.raises(DatapackageError) as raised:
        # Port 9 (discard) on 127.0.0.1: nothing answers there; the check fails before any call.
        publish_folder(folder, "http://127.0.0.1:9", "token", ORGANIZATION)

    assert "datapackage.json: resources[1].hash does not match orcp-stale-procedures.csv" in str(raised.value)


def test_solr4_schema_adaptation_removes_solr8_constructs():
    schema = ('<schema name="ckan-2.12" version="1.6">'
              '<fieldType name="int" class="solr.IntPointField" omitNorms="true"/>'
              '<fieldType name="date" class="solr.DatePointField"/>\n'
              '<filter class="solr.WordDelimiterGraphFilterFactory" generateWordParts="1"/>\n'
              '            <filter class="solr.FlattenGraphFilterFactory"/> <!-- required -->\n'
              '<filter class="solr.SynonymGraphFilterFactory" synonyms="synonyms.txt"/>'
              '<field name="_version_" type="string" indexed="true" stored="true"/></schema>')

    adapted = ckan_portal_module.adapt_schema_for_solr4(schema)

    assert '<schema name="ckan-2.12" version="1.5">' in adapted
    assert 'class="solr.TrieIntField" precisionStep="0" omitNorms="true"' in adapted
    assert 'class="solr.TrieDateField" precisionStep="0"' in adapted
    assert "solr.WordDelimiterFilterFactory" in adapted and "solr.SynonymFilterFactory" in adapted
    assert "Flatten" not in adapted
    assert '<field name="_version_" type="long"' in adapted
