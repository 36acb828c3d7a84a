"""Map a local open-data folder (CSV files + Frictionless ``datapackage.json``) to CKAN metadata.

Pure functions, no network: ``publish.ckan`` sends what they build.

Standard Data Package keys read: name, title, description, keywords, licenses[0] (name, title,
path), version, homepage, sources, contributors (role "publisher"), resources (name, path, title,
description, mediatype, hash "sha256:<hex>", bytes, rows, schema.fields).
ORCP extension keys (all optional): ``temporal`` {"start", "end"} (ISO dates), ``spatial``
(text, default "Hauts-de-France"), ``frequency`` (daily ... annual, irregular, or an EU
vocabulary URI), ``method_version``, ``as_of`` (ISO date of the data), ``methodology`` (French
text: how the figures are computed; appended to the CKAN description). The resource schema's
``primaryKey`` (the grain) travels with the schema.

They become CKAN core fields and the extras ckanext-dcat (DCAT-AP) reads: temporal_start/end,
spatial_text, frequency, language, provenance, source, publisher_name, version_notes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SPATIAL = "Hauts-de-France"
LANGUAGE_FRENCH = "http://publications.europa.eu/resource/authority/language/FRA"
SHA256_ALGORITHM = "http://spdx.org/rdf/terms#checksumAlgorithm_sha256"
FREQUENCY_BASE = "http://publications.europa.eu/resource/authority/frequency/"
FREQUENCIES = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "quarterly": "QUARTERLY",
               "annual": "ANNUAL", "yearly": "ANNUAL", "irregular": "IRREG", "continuous": "CONT"}
CKAN_NAME = re.compile(r"^[a-z0-9_-]{2,100}$")
FIELD_TYPES_FR = {"string": "texte", "integer": "entier", "number": "nombre", "date": "date",
                  "datetime": "date et heure", "boolean": "booléen", "year": "année"}
# Resource fields publish_folder owns and compares with what CKAN holds.
RESOURCE_KEY = "datapackage_resource"


class DatapackageError(ValueError):
    """The local folder is not publishable; the message names the file and the field."""


@dataclass(frozen=True)
class LocalResource:
    key: str  # the Data Package resource name: how a CKAN resource is matched across publications
    path: Path
    sha256: str
    size: int
    fields: dict  # CKAN resource fields, all strings (they travel in a multipart upload)


@dataclass(frozen=True)
class LocalDataset:
    name: str
    package: dict  # CKAN package fields (without owner_org and resources)
    resources: list[LocalResource]
    publisher: str | None


def read_folder(folder: Path) -> LocalDataset:
    """Read and check ``folder/datapackage.json``; every declared file must match its hash and size."""
    descriptor_path = folder / "datapackage.json"
    try:
        descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatapackageError(f"{descriptor_path}: no datapackage.json in this folder") from None
    except json.JSONDecodeError as error:
        raise DatapackageError(f"{descriptor_path}: not valid JSON ({error})") from None
    name = _required(descriptor, "name", descriptor_path)
    if not CKAN_NAME.match(name):
        raise DatapackageError(f"{descriptor_path}: name {name!r} is not a CKAN dataset name "
                               "(2-100 characters among a-z, 0-9, - and _)")
    licence = (descriptor.get("licenses") or [{}])[0]
    resources = [_local_resource(folder, descriptor_path, index, resource, licence)
                 for index, resource in enumerate(descriptor.get("resources") or [])]
    if not resources:
        raise DatapackageError(f"{descriptor_path}: no resources")
    keys = [resource.key for resource in resources]
    if len(set(keys)) != len(keys):
        raise DatapackageError(f"{descriptor_path}: resource names are not unique: {keys}")
    return LocalDataset(name, package_fields(descriptor, descriptor_path), resources,
                        _publisher(descriptor))


def package_fields(descriptor: dict, where: Path) -> dict:
    """CKAN package fields (core + DCAT extras) from a Data Package descriptor."""
    licence = (descriptor.get("licenses") or [{}])[0]
    package = {
        "name": descriptor["name"],
        "title": _required(descriptor, "title", where),
        "notes": _notes(descriptor, where),
        "license_id": _required(licence, "name", where, "licenses[0].name"),
        "tags": [{"name": keyword} for keyword in descriptor.get("keywords", [])],
        "version": str(descriptor.get("method_version") or descriptor.get("version") or ""),
        "url": descriptor.get("homepage", ""),
        "private": False,
    }
    package["extras"] = [{"key": key, "value": value}
                         for key, value in sorted(_extras(descriptor, where).items()) if value]
    return package


def _notes(descriptor: dict, where: Path) -> str:
    description = _required(descriptor, "description", where)
    methodology = descriptor.get("methodology")
    return f"{description}\n\n**Méthodologie.** {methodology}" if methodology else description


def _extras(descriptor: dict, where: Path) -> dict[str, str]:
    temporal = descriptor.get("temporal") or {}
    sources = descriptor.get("sources") or []
    extras = {
        "temporal_start": temporal.get("start", ""),
        "temporal_end": temporal.get("end", ""),
        "spatial_text": descriptor.get("spatial") or DEFAULT_SPATIAL,
        "frequency": _frequency(descriptor.get("frequency"), where),
        "language": json.dumps([LANGUAGE_FRENCH]),
        "publisher_name": _publisher(descriptor) or "",
        "as_of_date": descriptor.get("as_of", ""),
        "method_version": str(descriptor.get("method_version") or ""),
        "version_notes": (f"Version de la méthode de calcul : {descriptor['method_version']}"
                          if descriptor.get("method_version") else ""),
        "source": json.dumps([s["path"] for s in sources if s.get("path")]) if sources else "",
        "provenance": _provenance(sources),
    }
    return {key: str(value) for key, value in extras.items()}


def _frequency(value: str | None, where: Path) -> str:
    if not value:
        return ""
    if value.startswith("http"):
        return value
    code = FREQUENCIES.get(value.lower())
    if not code:
        raise DatapackageError(f"{where}: frequency {value!r} is not one of {sorted(FREQUENCIES)} "
                               "nor a URI")
    return FREQUENCY_BASE + code


def _provenance(sources: list[dict]) -> str:
    described = []
    for source in sources:
        title, path = source.get("title"), source.get("path")
        described.append(f"{title} ({path})" if title and path else title or path)
    return "Sources : " + " ; ".join(filter(None, described)) if sources else ""


def _publisher(descriptor: dict) -> str | None:
    for contributor in descriptor.get("contributors") or []:
        if contributor.get("role") == "publisher" or "publisher" in contributor.get("roles", []):
            return contributor.get("title")
    return None


def _local_resource(folder: Path, where: Path, index: int, resource: dict, licence: dict) -> LocalResource:
    place = f"resources[{index}]"
    key = _required(resource, "name", where, f"{place}.name")
    relative = _required(resource, "path", where, f"{place}.path")
    path = (folder / relative).resolve()
    if folder.resolve() not in path.parents:
        raise DatapackageError(f"{where}: {place}.path {relative!r} points outside the folder")
    if not path.is_file():
        raise DatapackageError(f"{where}: {place}.path {relative!r}: no such file {path}")
    sha256, size = file_digest(path)
    declared_hash = resource.get("hash")
    if declared_hash and declared_hash.removeprefix("sha256:") != sha256:
        raise DatapackageError(f"{where}: {place}.hash does not match {path.name} (file sha256 {sha256}):"
                               " the datapackage is stale")
    if resource.get("bytes") is not None and int(resource["bytes"]) != size:
        raise DatapackageError(f"{where}: {place}.bytes is {resource['bytes']} but {path.name} has {size}")
    fields = {
        RESOURCE_KEY: key,
        "name": resource.get("title") or key,
        "description": resource_description(resource),
        "format": (resource.get("format") or path.suffix.lstrip(".")).upper(),
        "mimetype": resource.get("mediatype") or "text/csv",
        "hash": sha256,
        "hash_algorithm": SHA256_ALGORITHM,
        "size": str(size),
        "license": licence.get("path", ""),
        "language": json.dumps([LANGUAGE_FRENCH]),
        "schema": json.dumps(resource.get("schema") or {}, ensure_ascii=False, sort_keys=True),
    }
    if resource.get("rows") is not None:
        fields["rows"] = str(resource["rows"])
    return LocalResource(key, path, sha256, size, fields)


def resource_description(resource: dict) -> str:
    """The resource's French description followed by its data dictionary (Markdown table)."""
    fields = (resource.get("schema") or {}).get("fields") or []
    text = resource.get("description") or resource.get("title") or ""
    if not fields:
        return text
    lines = ["**Dictionnaire des données**", "",
             "| Colonne | Libellé | Type | Description |", "| --- | --- | --- | --- |"]
    for field in fields:
        cells = [f"`{field['name']}`", field.get("title", ""),
                 FIELD_TYPES_FR.get(field.get("type", "string"), field.get("type", "")),
                 field.get("description", "")]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return (text + "\n\n" if text else "") + "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _required(mapping: dict, key: str, where: Path, label: str | None = None) -> str:
    value = mapping.get(key)
    if not value:
        raise DatapackageError(f"{where}: missing {label or key}")
    return value


def file_digest(path: Path) -> tuple[str, int]:
    """(sha256 hex, size in bytes), read in chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
