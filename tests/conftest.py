"""Shared fixtures: a real PostgreSQL server and throw-away warehouse databases.

The server is ORCP_TEST_ADMIN_URL if set, else 127.0.0.1:5432 if it answers,
else a private cluster started for the session. Every database a test creates
is dropped afterwards, so runs never collide.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import psycopg
import pytest

from orcp import db, embedded_pg
from tests.http_server import http_server  # noqa: F401  (fixture: a real HTTP server on 127.0.0.1)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = PROJECT_ROOT / "sample_data"


def _answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory) -> str:
    if os.environ.get("ORCP_TEST_ADMIN_URL"):
        yield os.environ["ORCP_TEST_ADMIN_URL"]
        return
    if _answers("127.0.0.1", 5432):
        yield "postgresql://postgres@127.0.0.1:5432/postgres"
        return
    cluster = tmp_path_factory.mktemp("pg")
    os.chmod(cluster, 0o777)  # the server runs as postgres when we are root
    port = embedded_pg.ensure_running(cluster)
    yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    embedded_pg.stop(cluster)


def _new_database(admin_url: str) -> tuple[str, str]:
    name = f"orcp_test_{uuid.uuid4().hex[:10]}"
    return name, db.create_database(admin_url, name)


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def warehouse_url(pg_admin_url, monkeypatch) -> str:
    """A fresh, initialised warehouse database for one test; ORCP_DATABASE_URL points at it."""
    name, url = _new_database(pg_admin_url)
    db.init_warehouse(url)
    monkeypatch.setenv("ORCP_DATABASE_URL", url)
    from orcp.settings import get_settings

    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    _drop_database(pg_admin_url, name)


@pytest.fixture(scope="module")
def module_warehouse_url(pg_admin_url) -> str:
    """A warehouse shared by the tests of one module (for expensive builds)."""
    name, url = _new_database(pg_admin_url)
    db.init_warehouse(url)
    yield url
    _drop_database(pg_admin_url, name)


def shared_file(relative: str) -> Path:
    """A file of ../shared/data; the test is skipped where that folder is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path
