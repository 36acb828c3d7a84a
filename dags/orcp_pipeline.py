"""Airflow DAG: the whole ORCP job (ingest -> transform -> check -> publish).

Thin on purpose: every task calls a function of `orcp.pipeline`, the same the `orcp` command runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, task

from orcp.alerts import notify_failure

DEFAULT_ARGS = {
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "on_failure_callback": notify_failure,
}


@dag(
    dag_id="orcp_pipeline",
    description="Charge les DECP, construit l'entrepôt, contrôle la qualité et publie les jeux de données.",
    schedule="0 6 * * 1-5",  # weekdays, after the national consolidations of the night
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"inputs": Param([], type="array", description="Files, folders, URLs or sources; empty: bundled sample")},
    tags=["orcp", "decp"],
)
def orcp_pipeline():
    @task
    def ingest(params=None) -> dict:
        from orcp import db, pipeline

        db.init_warehouse()
        summary = pipeline.ingest_step(params["inputs"] or None, fail_on_error=True)
        return {"summary": summary.describe()}

    @task
    def transform() -> str:
        from orcp import pipeline

        return pipeline.transform_step().describe()

    @task
    def check() -> str:
        from orcp import pipeline

        return pipeline.check_step().describe()

    @task
    def publish() -> list[str]:
        from orcp import pipeline

        return [str(dataset.folder) for dataset in pipeline.publish_step()]

    ingest() >> transform() >> check() >> publish()


orcp_pipeline()
