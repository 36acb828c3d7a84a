"""Airflow DAGs generated from the source registry (ingest/sources.yml): one DAG per scheduled
source, `orcp_ingest_<source>`, that downloads (conditional GET) and loads it into raw.

Thin on purpose: the task calls `ingest.run.ingest_source`, the same function as `orcp ingest NAME`.
Backfills re-run the same idempotent load: unchanged content is skipped by ETag and sha256.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, task

from ingest.registry import load_registry
from orcp.alerts import notify_failure

DEFAULT_ARGS = {
    "retries": 3,
    "retry_delay": timedelta(minutes=10),
    "retry_exponential_backoff": True,
    "on_failure_callback": notify_failure,
}


def build_ingest_dag(source):
    @dag(
        dag_id=f"orcp_ingest_{source.name.replace('-', '_')}",
        description=source.title,
        doc_md=source.description,
        schedule=source.schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params={"force": Param(False, type="boolean", description="Download and load even if unchanged")},
        tags=["orcp", "ingest"],
    )
    def ingest_dag():
        @task
        def ingest(params=None) -> dict:
            from ingest.run import ingest_source
            from orcp import db

            db.init_warehouse()
            results = ingest_source(source.name, force=params["force"])
            failed = [r.error for r in results if r.status == "failed"]
            if failed:
                raise RuntimeError(f"{len(failed)} file(s) of {source.name} failed: " + "; ".join(failed))
            return {r.file_name: r.status for r in results}

        ingest()

    return ingest_dag()


for _source in load_registry().sources:
    if _source.schedule:
        build_ingest_dag(_source)
