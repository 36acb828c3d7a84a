"""What the dbt project says about its models, read from dbt's manifest: column labels, the model-level
``meta.indicator`` documentation (French), the grain, and the vars the models were computed with.

The manifest is the one of the last dbt run in the data directory (``orcp transform`` writes it); when
there is none yet, ``dbt parse`` writes it (no database query)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from orcp.settings import get_settings
from orcp.transform import DBT_PROJECT_DIR, dbt_vars, run_dbt

INDICATORS_DIR = DBT_PROJECT_DIR / "models" / "indicators"
# The repository's generic test that declares a model's grain (macros/tests/unique_combination.sql).
GRAIN_TEST = "unique_combination"


@dataclass(frozen=True)
class ModelDocs:
    name: str
    relation: str  # schema.table
    description: str = ""
    meta: dict = field(default_factory=dict)
    columns: dict[str, dict] = field(default_factory=dict)  # column -> its meta (label_fr, ...)
    grain: list[str] = field(default_factory=list)

    @property
    def indicator(self) -> dict | None:
        """The model's ``meta.indicator`` block: the indicator's public documentation, in French."""
        return self.meta.get("indicator")


def manifest_path() -> Path:
    return get_settings().data_dir / "dbt-target" / "manifest.json"


def ensure_manifest(url: str | None = None) -> Path:
    path = manifest_path()
    if not path.exists():
        run_dbt(["parse"], url)
    return path


def load_model_docs(path: Path | None = None) -> dict[str, ModelDocs]:
    """model name -> ModelDocs, from a dbt manifest."""
    manifest = json.loads((path or manifest_path()).read_text())
    grains = _grains(manifest["nodes"].values())
    return {
        node["name"]: ModelDocs(
            name=node["name"],
            relation=f"{node['schema']}.{node['alias']}",
            description=(node.get("description") or "").strip(),
            meta={**(node.get("meta") or {}), **(node["config"].get("meta") or {})},
            columns={col: c.get("meta") or {} for col, c in node["columns"].items()},
            grain=grains.get(node["unique_id"]) or list(node.get("primary_key") or []),
        )
        for node in manifest["nodes"].values() if node["resource_type"] == "model"
    }


def _grains(nodes) -> dict[str, list[str]]:
    """model unique_id -> the columns of its unique_combination test."""
    grains = {}
    for node in nodes:
        test = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and test.get("name") == GRAIN_TEST and node.get("attached_node"):
            grains[node["attached_node"]] = list(test["kwargs"]["columns"])
    return grains


def indicator_models() -> list[str]:
    """Every indicator model of the project (one .sql file each in models/indicators/)."""
    return sorted(path.stem for path in INDICATORS_DIR.glob("*.sql"))


def model_vars() -> dict:
    """The vars the models are computed with: dbt_project.yml's, overridden by what orcp passes to dbt."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return {**(project.get("vars") or {}), **dbt_vars()}
