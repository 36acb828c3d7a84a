"""Run the expectation suites of ``suites.yml`` against the warehouse with Great Expectations.

The connection string reaches GX only as a ``${ORCP_GX_CONNECTION}`` substitution, so it
is never written into GX configuration or Data Docs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
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
    return yaml.safe_load(path.read_text())["suites"]


def run_checks(url: str | None = None, suites: list[dict] | None = None) -> CheckReport:
    """Validate every suite; Data Docs go to <data dir>/reports/quality/."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX sets this logger to INFO and logs every temporary directory it creates: keep the output readable.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    url = url or db.database_url()
    suites = suites if suites is not None else load_suites()
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
        details = "; ".join(f"{o.suite}.{o.column or '*'} {o.expectation} (observed {o.observed})"
                            for o in report.critical_failures)
        raise QualityGateError(f"publication blocked by {len(report.critical_failures)} "
                               f"critical expectation failure(s): {details}")


def _run_suite(context, source, spec: dict) -> list[ExpectationOutcome]:
    import great_expectations as gx

    asset = source.add_table_asset(name=spec["name"], table_name=spec["table"], schema_name=spec["schema"])
    batch = asset.add_batch_definition_whole_table("whole_table")
    suite = context.suites.add(gx.ExpectationSuite(name=spec["name"]))
    for item in spec["expectations"]:
        expectation_class = getattr(gx.expectations, item["type"])
        suite.add_expectation(expectation_class(**item["kwargs"], meta={"severity": item["severity"]}))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=spec["name"], data=batch, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=f"{spec['name']}_checkpoint", validation_definitions=[validation],
        actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=[DOCS_SITE])],
        result_format={"result_format": "SUMMARY"}))
    result = checkpoint.run()
    return [_outcome(spec["name"], r) for run in result.run_results.values() for r in run.results]


def _outcome(suite_name: str, result) -> ExpectationOutcome:
    config = result.expectation_config
    observed = result.result.get("observed_value", result.result.get("unexpected_percent"))
    return ExpectationOutcome(
        suite=suite_name, expectation=config.type, column=config.kwargs.get("column"),
        severity=(config.meta or {}).get("severity", "critical"), success=bool(result.success),
        observed=str(observed),
    )


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg2://" + url.split("://", 1)[1]


def _docs_site_config(docs_dir: Path) -> dict:
    return {
        "class_name": "SiteBuilder",
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
    }
