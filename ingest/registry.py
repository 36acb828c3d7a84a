"""The source registry: every source the warehouse loads, declared once in ``sources.yml``.

Both the ``orcp`` command and the Airflow DAGs read it. Each source has a name, a URL (http(s),
``file://`` or a path relative to the project root), a format, a schedule, a licence and a
description. ``ORCP_SOURCE_<NAME>_URL`` overrides a source's URL (name upper-cased, every
character other than a letter or digit replaced by ``_``), e.g. to point a source at a mirror.
``ORCP_SOURCES_FILE`` replaces the whole registry file.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import yaml
from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orcp.settings import PROJECT_ROOT

DEFAULT_REGISTRY = Path(__file__).resolve().parent / "sources.yml"

# Airflow's schedule presets (croniter alone knows only some of them).
SCHEDULE_PRESETS = {
    "@once",
    "@continuous",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@quarterly",
    "@yearly",
    "@annually",
}

SourceFormat = Literal["auto", "json", "xml", "csv", "parquet", "zip"]


class RegistryError(ValueError):
    """The registry file cannot be read or a source in it is invalid."""


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str
    url: str
    format: SourceFormat = "auto"
    schedule: str | None = None  # cron (5 fields) or an Airflow preset; None: on demand only
    licence: str
    description: str = ""
    homepage: str | None = None

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str | None) -> str | None:
        if value is None or value in SCHEDULE_PRESETS:
            return value
        if len(value.split()) == 5 and croniter.is_valid(value):
            return value
        raise ValueError(
            f"{value!r} is neither a 5-field cron expression nor one of "
            f"{', '.join(sorted(SCHEDULE_PRESETS))}"
        )

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in ("", "http", "https", "file"):
            raise ValueError(f"unsupported URL scheme {scheme!r} (http, https, file or a path)")
        return value

    @property
    def url_override_variable(self) -> str:
        return "ORCP_SOURCE_" + re.sub(r"[^A-Z0-9]", "_", self.name.upper()) + "_URL"

    @property
    def effective_url(self) -> str:
        """The URL to fetch: the environment override if set, else the declared one."""
        return os.environ.get(self.url_override_variable) or self.url

    @property
    def is_remote(self) -> bool:
        return urlsplit(self.effective_url).scheme in ("http", "https")

    @property
    def local_path(self) -> Path:
        """The file or folder of a local source (file:// URL or path relative to the project)."""
        if self.is_remote:
            raise RegistryError(f"source {self.name!r} is remote: {self.effective_url}")
        return local_path_of(self.effective_url)


def local_path_of(url: str) -> Path:
    parts = urlsplit(url)
    path = Path(unquote(parts.path)) if parts.scheme == "file" else Path(url)
    return path if path.is_absolute() else PROJECT_ROOT / path


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[Source]

    @cached_property
    def by_name(self) -> dict[str, Source]:
        return {source.name: source for source in self.sources}

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def get(self, name: str) -> Source:
        try:
            return self.by_name[name]
        except KeyError:
            raise RegistryError(
                f"unknown source {name!r}; known sources: {', '.join(self.by_name)}"
            ) from None


def load_registry(path: Path | str | None = None) -> Registry:
    """Read and validate the registry; RegistryError names the file and the source at fault."""
    path = Path(path or os.environ.get("ORCP_SOURCES_FILE") or DEFAULT_REGISTRY)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path}: cannot read the source registry: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("sources"), list):
        raise RegistryError(f"{path}: expected a mapping with a 'sources' list")
    sources = [
        _validate_source(path, index, entry) for index, entry in enumerate(document["sources"])
    ]
    duplicates = sorted(name for name, n in Counter(s.name for s in sources).items() if n > 1)
    if duplicates:
        raise RegistryError(f"{path}: duplicate source name(s): {', '.join(duplicates)}")
    unknown = set(document) - {"sources"}
    if unknown:
        raise RegistryError(f"{path}: unknown top-level key(s): {', '.join(sorted(unknown))}")
    return Registry(sources=sources)


def _validate_source(path: Path, index: int, entry: object) -> Source:
    name = entry.get("name") if isinstance(entry, dict) else None
    label = f"source {name!r}" if name else f"source #{index + 1}"
    if not isinstance(entry, dict):
        raise RegistryError(f"{path}: {label}: expected a mapping, found {type(entry).__name__}")
    try:
        return Source.model_validate(entry)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise RegistryError(f"{path}: {label}: {problems}") from None


def _describe(error: dict) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "entry"
    if error["type"] == "extra_forbidden":
        return f"unknown key {field!r}"
    if error["type"] == "missing":
        return f"missing key {field!r}"
    return f"{field}: {error['msg']}"
