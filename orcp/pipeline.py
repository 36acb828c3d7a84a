"""The pipeline's steps, shared by the `orcp` command and the Airflow DAGs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from orcp.settings import SAMPLE_DATA_DIR

log = logging.getLogger(__name__)

# The registry source of the bundled DECP sample, loaded when no input is given.
DEFAULT_INPUTS = ["sample"]


class IngestError(RuntimeError):
    pass


@dataclass
class IngestSummary:
    results: list = field(default_factory=list)

    @property
    def failed(self) -> list:
        return [r for r in self.results if r.status == "failed"]

    def describe(self) -> str:
        by_status: dict[str, int] = {}
        for result in self.results:
            by_status[result.status] = by_status.get(result.status, 0) + 1
        records = sum(r.records for r in self.results)
        return f"ingest: {records} records; files " + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))


def ingest_step(targets: list[str] | None = None, source: str | None = None, on_progress=None,
                fail_on_error: bool = False) -> IngestSummary:
    """Load every target (file, folder, URL or registry source). Failed files do not stop the others."""
    from ingest.run import ingest_target

    summary = IngestSummary()
    for target in targets or DEFAULT_INPUTS:
        summary.results += ingest_target(target, source=source, on_progress=on_progress)
    if not targets:
        summary.results += _bundled_companion_samples()
    for failure in summary.failed:
        log.error("%s", failure.error)
    if fail_on_error and summary.failed:
        raise IngestError(f"{len(summary.failed)} file(s) failed: " + "; ".join(f.error for f in summary.failed))
    return summary


def _bundled_companion_samples() -> list:
    """The demo's other sources: payment delays, census key figures, a filled CERC survey."""
    from ingest import census
    from ingest.formats import dgp
    from ingest.survey.intake import ingest_survey

    results = dgp.load(SAMPLE_DATA_DIR / "dgp")
    results.append(census.load())
    results.append(ingest_survey(SAMPLE_DATA_DIR / "survey" / "enquete_cerc_travaux_publics_exemple.xlsx").load)
    return results


def transform_step(select: str | None = None, full_refresh: bool = False):
    from orcp.transform import build

    return build(select=select, full_refresh=full_refresh)


def check_step(block_on_failure: bool = True):
    """Run the quality suites; raise QualityGateError on a critical failure (the gate)."""
    from expectations.checks import gate, run_checks

    report = run_checks()
    if block_on_failure:
        gate(report)
    return report


def publish_step():
    """Write the open datasets locally; when a CKAN portal is configured, push them there too."""
    from orcp.settings import get_settings
    from publish.local import publish_all

    datasets = publish_all()
    settings = get_settings()
    if settings.ckan_url and settings.ckan_api_token:
        from publish.ckan import publish_folder

        for dataset in datasets:
            report = publish_folder(dataset.folder, settings.ckan_url, settings.ckan_api_token,
                                    settings.ckan_organization)
            log.info("CKAN %s: %s, %d bytes uploaded", dataset.name, report.package, report.bytes_uploaded)
    return datasets
