"""A DCAT-AP catalogue of the open-data folder, in JSON-LD (``catalog.jsonld`` at its root).

Each dataset folder is read back as the CKAN publisher reads it (publish.metadata.read_folder: the
files must match their declared sha256 and size), so the catalogue and the portal say the same thing.
Links are relative to the folder: the catalogue stays right wherever the folder is served."""

from __future__ import annotations

import json
from pathlib import Path

from publish.metadata import LANGUAGE_FRENCH, SHA256_ALGORITHM, read_folder
from publish.reports import REPORTS_DIR

CATALOG_FILE = "catalog.jsonld"
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "locn": "http://www.w3.org/ns/locn#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
MEDIA_TYPES = "http://www.iana.org/assignments/media-types/"
FILE_TYPES = "http://publications.europa.eu/resource/authority/file-type/"


def write_catalog(catalog: dict, published: list, out_dir: Path) -> Path:
    from publish.local import write_if_changed

    path = out_dir / CATALOG_FILE
    write_if_changed(path, json.dumps(build_catalog(catalog, published), ensure_ascii=False, indent=2).encode()
                     + b"\n")
    return path


def build_catalog(catalog: dict, published: list) -> dict:
    publisher = {"@type": "foaf:Agent", "foaf:name": catalog["publisher"]}
    datasets = [_dataset(dataset, publisher) for dataset in published]
    modified = max((d["dct:modified"]["@value"] for d in datasets if "dct:modified" in d), default=None)
    document = {
        "@context": CONTEXT,
        "@id": CATALOG_FILE,
        "@type": "dcat:Catalog",
        "dct:title": _french("Données ouvertes de l'Observatoire régional de la commande publique Hauts-de-France"),
        "dct:description": _french("Indicateurs et agrégats de la commande publique en Hauts-de-France, calculés "
                                   "par l'ORCP à partir des données essentielles de la commande publique, des "
                                   "délais de paiement de la DGFiP et de l'enquête de la CERC."),
        "dct:publisher": publisher,
        "dct:language": {"@id": LANGUAGE_FRENCH},
        "dct:license": {"@id": catalog["license"]["path"]},
        "foaf:homepage": {"@id": f"{REPORTS_DIR}/index.html"},
        "dcat:dataset": datasets,
    }
    if modified:
        document["dct:modified"] = _date(modified)
    return document


def _dataset(dataset, publisher: dict) -> dict:
    local = read_folder(dataset.folder)
    descriptor = dataset.package
    extras = {extra["key"]: extra["value"] for extra in local.package["extras"]}
    licence = descriptor["licenses"][0]["path"]
    node = {
        "@id": f"{dataset.name}/",
        "@type": "dcat:Dataset",
        "dct:identifier": dataset.name,
        "dct:title": _french(local.package["title"]),
        "dct:description": _french(descriptor["description"]),
        "dcat:keyword": [_french(tag["name"]) for tag in local.package["tags"]],
        "dct:publisher": publisher,
        "dct:language": {"@id": LANGUAGE_FRENCH},
        "dct:license": {"@id": licence},
        "dct:spatial": {"@type": "dct:Location", "locn:geographicName": extras["spatial_text"]},
        "dcat:distribution": [_distribution(dataset.name, resource, licence) for resource in local.resources],
    }
    if extras.get("temporal_start"):
        node["dct:temporal"] = {"@type": "dct:PeriodOfTime", "dcat:startDate": _date(extras["temporal_start"]),
                                "dcat:endDate": _date(extras["temporal_end"])}
    if extras.get("frequency"):
        node["dct:accrualPeriodicity"] = {"@id": extras["frequency"]}
    if extras.get("as_of_date"):
        node["dct:modified"] = _date(extras["as_of_date"])
    if extras.get("method_version"):
        node["owl:versionInfo"] = extras["method_version"]
    if extras.get("provenance"):
        node["dct:provenance"] = {"@type": "dct:ProvenanceStatement", "rdfs:label": _french(extras["provenance"])}
    if dataset.spec is not None and dataset.spec.is_indicator:
        node["dcat:landingPage"] = {"@id": f"{REPORTS_DIR}/{dataset.name}.html"}
    return node


def _distribution(name: str, resource, licence: str) -> dict:
    url = f"{name}/{resource.path.name}"
    fmt = resource.fields["format"]
    return {
        "@id": url,
        "@type": "dcat:Distribution",
        "dct:title": _french(resource.fields["name"]),
        "dcat:accessURL": {"@id": url},
        "dcat:downloadURL": {"@id": url},
        "dcat:mediaType": {"@id": MEDIA_TYPES + resource.fields["mimetype"]},
        "dct:format": {"@id": FILE_TYPES + fmt},
        "dcat:byteSize": {"@value": str(resource.size), "@type": "xsd:nonNegativeInteger"},
        "spdx:checksum": {"@type": "spdx:Checksum", "spdx:algorithm": {"@id": SHA256_ALGORITHM},
                          "spdx:checksumValue": resource.sha256},
        "dct:license": {"@id": licence},
        "dct:conformsTo": {"@id": f"{name}/datapackage.json"},
    }


def _french(text: str) -> dict:
    return {"@value": text, "@language": "fr"}


def _date(value: str) -> dict:
    return {"@value": value, "@type": "xsd:date"}
