"""Secrets stay secret; docker-compose.yml follows the Compose specification."""

from __future__ import annotations

import subprocess
import sys

from orcp import db
from orcp.settings import Settings
from tests.conftest import PROJECT_ROOT


def test_secrets_never_printed(monkeypatch):
    monkeypatch.setenv("ORCP_DATABASE_URL", "postgresql://orcp:s3cr3t-pw@db.example:5432/orcp")
    monkeypatch.setenv("ORCP_CKAN_API_TOKEN", "tok-123456")
    settings = Settings()
    assert "s3cr3t-pw" not in repr(settings) and "tok-123456" not in repr(settings)
    assert settings.database_url.get_secret_value().endswith("/orcp")
    assert db.redact(settings.database_url.get_secret_value()) == "postgresql://orcp:***@db.example:5432/orcp"


def test_dbt_profile_reads_password_from_environment_only():
    profile = (PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text()
    assert "env_var('DBT_ENV_SECRET_ORCP_PG_PASSWORD'" in profile


def test_docker_compose_is_valid():
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(PROJECT_ROOT / "docker-compose.yml")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    compose = (PROJECT_ROOT / "docker-compose.yml").read_text()
    for service in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "warehouse", "airflow-db"):
        assert f"  {service}:" in compose
