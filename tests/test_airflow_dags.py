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
from airflow.dag_processing.dagbag import DagBag
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
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    pipeline = bag.dags["orcp_pipeline"]
    assert [t.task_id for t in pipeline.topological_sort()] == ["ingest", "transform", "check", "publish"]
    assert pipeline.default_args["retries"] == 2


def run_dag(airflow_env: dict, dag_id: str, conf: dict, extra_env: dict) -> dict:
    result = subprocess.run([sys.executable, "-c", RUN_DAG, str(DAGS), dag_id, json.dumps(conf)],
                            env={**airflow_env, **extra_env}, capture_output=True, text=True, timeout=600,
                            check=False)
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
        published = conn.execute("select sum(contracts) from marts.agg_contracts_by_year_and_nature").fetchone()[0]
        assert published == conn.execute("select count(*) from marts.fct_contracts").fetchone()[0] == 441
    assert (tmp_path / "opendata" / "contrats-par-annee-et-nature" / "datapackage.json").exists()


def test_one_ingest_dag_per_scheduled_source():
    from airflow.dag_processing.dagbag import DagBag

    from ingest.registry import load_registry

    bag = DagBag(dag_folder=str(DAGS))
    scheduled = {s.name: s.schedule for s in load_registry().sources if s.schedule}
    ingest_dags = {d: bag.dags[d] for d in bag.dags if d.startswith("orcp_ingest_")}
    assert len(ingest_dags) == len(scheduled) > 0
    for name, schedule in scheduled.items():
        dag = ingest_dags[f"orcp_ingest_{name.replace('-', '_')}"]
        assert dag.schedule == schedule


def test_ingest_dag_downloads_and_loads_a_source(airflow_env, warehouse_url, tmp_path, http_server):
    """orcp_ingest_minef_decp_2024 against a local server holding a real v2 file; a second run is skipped."""
    from tests.conftest import shared_file

    real = shared_file("decp_schema_v2/json_marches_concessions.json")
    url = http_server.serve("decp-2024.json", real)
    env = {"ORCP_DATABASE_URL": warehouse_url, "ORCP_DATA_DIR": str(tmp_path),
           "ORCP_SOURCE_MINEF_DECP_2024_URL": url}
    first = run_dag(airflow_env, "orcp_ingest_minef_decp_2024", {}, env)
    second = run_dag(airflow_env, "orcp_ingest_minef_decp_2024", {}, env)
    assert first["state"] == second["state"] == "success"
    expected = sum(len(v) for v in json.loads(real.read_text())["marches"].values())
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from raw.decp_records").fetchone()[0] == expected
        statuses = [r[0] for r in conn.execute("select status from meta.loads order by load_id")]
    assert statuses == ["loaded", "skipped"]
