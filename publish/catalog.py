"""The publication list: datasets.yml turned into one DatasetSpec per published dataset.

An indicator entry is short (model + slug): its title and description come from the model's
``meta.indicator`` (title_fr, question_fr) through the templates of ``indicator_defaults``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from publish.dbt_docs import ModelDocs

DATASETS_FILE = Path(__file__).with_name("datasets.yml")
DATASET_KEYS = {"name", "relation", "dbt_model", "title", "description", "keywords", "frequency", "sources",
                "temporal_column", "order_by"}
INDICATOR_KEYS = (DATASET_KEYS - {"relation", "dbt_model"}) | {"model"}


class CatalogError(ValueError):
    """datasets.yml is wrong or disagrees with the dbt project; the message says where."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    relation: str
    title: str
    description: str
    dbt_model: str | None = None
    keywords: list[str] = field(default_factory=list)
    frequency: str | None = None
    sources: list[dict] = field(default_factory=list)
    temporal_column: str | None = None
    order_by: list[str] = field(default_factory=list)
    grain: list[str] = field(default_factory=list)
    column_docs: dict[str, dict] = field(default_factory=dict)
    indicator: dict | None = None  # the model's meta.indicator block (French documentation)

    @property
    def is_indicator(self) -> bool:
        return self.indicator is not None


def load_catalog(path: Path = DATASETS_FILE) -> dict:
    return yaml.safe_load(path.read_text())


def declared_indicator_models(catalog: dict) -> list[str]:
    return [entry["model"] for entry in catalog.get("indicators") or []]


def dataset_specs(catalog: dict, docs: dict[str, ModelDocs], model_vars: dict) -> list[DatasetSpec]:
    """Every published dataset: the plain ones first, then one per indicator entry."""
    specs = [_plain_spec(catalog, entry, docs) for entry in catalog.get("datasets") or []]
    specs += [_indicator_spec(catalog, entry, docs, model_vars) for entry in catalog.get("indicators") or []]
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise CatalogError(f"{DATASETS_FILE.name}: dataset names used twice: {duplicates}")
    return specs


def _plain_spec(catalog: dict, entry: dict, docs: dict[str, ModelDocs]) -> DatasetSpec:
    _check_keys(entry, DATASET_KEYS, entry.get("name"))
    model = docs.get(entry.get("dbt_model")) if entry.get("dbt_model") else None
    return DatasetSpec(
        name=entry["name"], relation=entry["relation"], title=entry["title"],
        description=" ".join(entry["description"].split()), dbt_model=entry.get("dbt_model"),
        keywords=list(entry.get("keywords") or []), frequency=entry.get("frequency"),
        sources=_sources(catalog, entry, entry["name"]), temporal_column=entry.get("temporal_column"),
        order_by=list(entry.get("order_by") or (model.grain if model else [])),
        grain=list(model.grain) if model else [], column_docs=model.columns if model else {},
    )


def _indicator_spec(catalog: dict, entry: dict, docs: dict[str, ModelDocs], model_vars: dict) -> DatasetSpec:
    name = entry.get("name")
    _check_keys(entry, INDICATOR_KEYS, name or entry.get("model"))
    model = docs.get(entry.get("model"))
    if model is None:
        raise CatalogError(f"{DATASETS_FILE.name}: dataset {name!r}: no dbt model {entry.get('model')!r} "
                           "in the manifest (run `orcp transform`, or fix the entry)")
    indicator = model.indicator
    if not indicator:
        raise CatalogError(f"{DATASETS_FILE.name}: dataset {name!r}: model {model.name} has no meta.indicator "
                           f"block (its French documentation) in {model.name}.yml")
    defaults = catalog.get("indicator_defaults") or {}
    merged = {**defaults, **entry}
    texts = {**{key: " ".join(str(value).split()) for key, value in indicator.items() if isinstance(value, str)},
             **model_vars}
    try:
        title = merged["title"].format(**texts)
        description = " ".join(merged["description"].format(**texts).split())
    except KeyError as missing:
        raise CatalogError(f"{DATASETS_FILE.name}: dataset {name!r}: {missing} is neither in the meta.indicator "
                           f"block of {model.name} nor a dbt var") from None
    return DatasetSpec(
        name=name, relation=model.relation, title=title, description=description, dbt_model=model.name,
        keywords=_unique([*(defaults.get("keywords") or []), *(entry.get("keywords") or [])]),
        frequency=merged.get("frequency"), sources=_sources(catalog, merged, name),
        temporal_column=merged.get("temporal_column"), order_by=list(merged.get("order_by") or model.grain),
        grain=list(model.grain), column_docs=model.columns, indicator=indicator,
    )


def _check_keys(entry: dict, allowed: set[str], name) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise CatalogError(f"{DATASETS_FILE.name}: dataset {name!r}: unknown keys {unknown}")


def _sources(catalog: dict, entry: dict, name: str) -> list[dict]:
    known = catalog.get("sources") or {}
    missing = [source for source in entry.get("sources") or [] if source not in known]
    if missing:
        raise CatalogError(f"{DATASETS_FILE.name}: dataset {name!r}: unknown sources {missing} "
                           f"(known: {sorted(known)})")
    return [dict(known[source]) for source in entry.get("sources") or []]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
