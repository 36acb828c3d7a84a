"""The DAGs import cleanly and the pipeline DAG runs for real with dag.test()."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest

from tests.conftest import PROJECT_ROOT

DAGS = PROJECT_ROOT / "dags"

RUN_DAG = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags[sys.argv[2]]
run = dag.test(run_conf=json.loads(sys.argv[3]))
states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print("RESULT " + json.dumps({"state": str(run.state), "tasks": states}))
"""


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict:
    """An isolated Airflow home with a migrated SQLite metadata database."""
    home = tmp_path_factory.mktemp("airflow")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db"}
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True,
                   capture_output=True)
    return env


def test_dagbag_has_no_import_errors():
    from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    pipeline = bag.dags["orcp_pipeline"]
    assert [t.task_id for t in pipeline.topological_sort()] == ["ingest", "transform", "check", "publish"]
    assert pipeline.default_args["retries"] == 2


def run_dag(airflow_env: dict, dag_id: str, conf: dict, extra_env: dict) -> dict:
    result = subprocess.run([sys.executable, "-c", RUN_DAG, str(DAGS), dag_id, json.dumps(conf)],
                            env={**airflow_env, **extra_env}, capture_output=True, text=True, timeout=600)
    lines = [l for l in result.stdout.splitlines() if l.startswith("RESULT ")]
    assert lines, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_pipeline_dag_runs_end_to_end(airflow_env, warehouse_url, tmp_path):
    outcome = run_dag(airflow_env, "orcp_pipeline", {},
                      {"ORCP_DATABASE_URL": warehouse_url, "ORCP_DATA_DIR": str(tmp_path)})
    assert outcome["state"] == "success", outcome
    assert set(outcome["tasks"].values()) == {"success"}
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from raw.decp_records").fetchone()[0] == 470
        assert conn.execute("select sum(contracts) from marts.agg_contracts_by_year_and_nature").fetchone()[0] == 470
    assert (tmp_path / "opendata" / "contrats-par-annee-et-nature" / "datapackage.json").exists()
