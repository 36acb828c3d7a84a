"""Run the expectation suites of ``suites.yml`` against the warehouse with Great Expectations.

Two kinds of suites: those declared for one table, and table templates applied to every table of a
schema found at check time (every indicator table gets the indicator suite without new YAML).
The connection string reaches GX only as a ``${ORCP_GX_CONNECTION}`` substitution, so it
is never written into GX configuration or Data Docs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from orcp import db
from orcp.settings import get_settings

SUITES_FILE = Path(__file__).with_name("suites.yml")
DOCS_SITE = "orcp_quality"
CONNECTION_VARIABLE = "ORCP_GX_CONNECTION"


class QualityGateError(RuntimeError):
    """A critical expectation failed: the data must not be published."""


@dataclass
class ExpectationOutcome:
    suite: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    observed: str
    condition: str | None = None  # the row condition, when the expectation applies to some rows only

    def describe(self) -> str:
        where = f" where {self.condition}" if self.condition else ""
        return f"{self.suite}.{self.column or '*'} {self.expectation}{where} (observed {self.observed})"


@dataclass
class CheckReport:
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    docs_index: Path | None = None

    @property
    def critical_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "critical"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity != "critical"]

    def describe(self) -> str:
        passed = sum(o.success for o in self.outcomes)
        return (f"quality: {passed}/{len(self.outcomes)} expectations passed, "
                f"{len(self.critical_failures)} critical failures, {len(self.warnings)} warnings")


def load_suites(path: Path = SUITES_FILE) -> list[dict]:
    """The suites declared for one table each."""
    return yaml.safe_load(path.read_text())["suites"]


def load_table_templates(path: Path = SUITES_FILE) -> list[dict]:
    return yaml.safe_load(path.read_text()).get("table_templates") or []


def template_suites(url: str, templates: list[dict] | None = None) -> list[dict]:
    """One suite per table of each template's schema (tables present now, in name order)."""
    templates = load_table_templates() if templates is None else templates
    suites = []
    with db.connect(url) as conn:
        for template in templates:
            tables = conn.execute(
                "select table_name from information_schema.tables where table_schema = %s"
                " and table_type = 'BASE TABLE' order by table_name", (template["schema"],)).fetchall()
            suites += [{"name": f"{template['schema']}.{table}", "schema": template["schema"], "table": table,
                        "expectations": template["expectations"]} for (table,) in tables]
    return suites


def suite_parameters(today: date | None = None) -> dict:
    """Values of the {$PARAMETER: name} kwargs of suites.yml."""
    today = today or date.today()
    return {"this_year": today.year, "next_year": today.year + 1}


def run_checks(url: str | None = None, suites: list[dict] | None = None) -> CheckReport:
    """Validate every suite (default: suites.yml's, plus the table templates' for every table they
    cover); Data Docs go to <data dir>/reports/quality/."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX sets this logger to INFO and logs every temporary directory it creates: keep the output readable.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    url = url or db.database_url()
    suites = suites if suites is not None else load_suites() + template_suites(url)
    os.environ[CONNECTION_VARIABLE] = _sqlalchemy_url(url)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    docs_dir = get_settings().reports_dir / "quality"
    context.add_data_docs_site(site_name=DOCS_SITE, site_config=_docs_site_config(docs_dir))
    source = context.data_sources.add_postgres(name="warehouse",
                                               connection_string="${" + CONNECTION_VARIABLE + "}")
    report = CheckReport()
    for suite_spec in suites:
        report.outcomes += _run_suite(context, source, suite_spec)
    context.build_data_docs(site_names=[DOCS_SITE])
    report.docs_index = docs_dir / "index.html"
    return report


def gate(report: CheckReport) -> None:
    """Raise QualityGateError when a critical expectation failed."""
    if report.critical_failures:
        details = "; ".join(o.describe() for o in report.critical_failures)
        raise QualityGateError(f"publication blocked by {len(report.critical_failures)} "
                               f"critical expectation failure(s): {details}")


def _run_suite(context, source, spec: dict) -> list[ExpectationOutcome]:
    import great_expectations as gx

    asset = source.add_table_asset(name=spec["name"], table_name=spec["table"], schema_name=spec["schema"])
    batch = asset.add_batch_definition_whole_table("whole_table")
    suite = context.suites.add(gx.ExpectationSuite(name=spec["name"]))
    for item in spec["expectations"]:
        expectation_class = getattr(gx.expectations, item["type"])
        condition = {"row_condition": item["row_condition"]} if item.get("row_condition") else {}
        suite.add_expectation(expectation_class(**item["kwargs"], **condition,
                                                meta={"severity": item["severity"]}))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=spec["name"], data=batch, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=f"{spec['name']}_checkpoint", validation_definitions=[validation],
        actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=[DOCS_SITE])],
        result_format={"result_format": "SUMMARY"}))
    result = checkpoint.run(expectation_parameters=suite_parameters())
    return [_outcome(spec["name"], r) for run in result.run_results.values() for r in run.results]


def _outcome(suite_name: str, result) -> ExpectationOutcome:
    config = result.expectation_config
    observed = result.result.get("observed_value", result.result.get("unexpected_percent"))
    condition = config.kwargs.get("row_condition")
    return ExpectationOutcome(
        suite=suite_name, expectation=config.type,
        column=config.kwargs.get("column") or _pair(config.kwargs),
        severity=(config.meta or {}).get("severity", "critical"), success=bool(result.success),
        observed=str(observed), condition=_condition_text(condition) if condition else None,
    )


def _pair(kwargs: dict) -> str | None:
    if kwargs.get("column_A"):
        return f"{kwargs['column_A']}/{kwargs['column_B']}"
    return None


def _condition_text(condition) -> str:
    """GX keeps the condition as a dict in the result's kwargs: show it as SQL-like text."""
    from great_expectations.expectations.row_conditions import deserialize_row_condition

    parsed = deserialize_row_condition(condition) if isinstance(condition, dict) else condition
    return repr(parsed)


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg2://" + url.split("://", 1)[1]


def _docs_site_config(docs_dir: Path) -> dict:
    return {
        "class_name": "SiteBuilder",
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
    }
