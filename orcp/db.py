"""Database access: which warehouse to use, connections, and `orcp db init`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

from orcp import embedded_pg
from orcp.settings import Settings, get_settings

log = logging.getLogger(__name__)

EMBEDDED_DB_NAME = "orcp"

# Schemas whose tables the analyst and publisher roles read (dbt grants them per model too).
READABLE_SCHEMAS = ("marts", "indicators")


def database_url(settings: Settings | None = None) -> str:
    """The warehouse URL: ORCP_DATABASE_URL, else the embedded cluster (started on demand)."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url.get_secret_value()
    port = embedded_pg.ensure_running(settings.embedded_pg_dir)
    admin_url = f"postgresql://{embedded_pg.SUPERUSER}@127.0.0.1:{port}/postgres"
    ensure_database(admin_url, EMBEDDED_DB_NAME)
    return f"postgresql://{embedded_pg.SUPERUSER}@127.0.0.1:{port}/{EMBEDDED_DB_NAME}"


def ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
    if not exists:
        create_database(admin_url, name)


def create_database(admin_url: str, name: str) -> str:
    """Create a warehouse database that sorts text byte-wise (collation "C"); return its URL.

    The warehouse's keys are text (md5 surrogate keys, buyer SIRET + contract id): its index builds, sorts and merge
    joins compare millions of them. Under "C" PostgreSQL compares bytes instead of calling the C library, and a full
    build of a million contracts took 81-86 s instead of 90-91 s (BENCHMARKS.md). The order does not change where the
    server's locale is C.UTF-8 (code point order either way). The character classes (lower(), regular expressions)
    stay the server's: LC_CTYPE is copied from template1, so accented letters are still letters.
    """
    with psycopg.connect(admin_url, autocommit=True) as conn:
        ctype = conn.execute("select datctype from pg_database where datname = 'template1'").fetchone()[0]
        conn.execute(sql.SQL("create database {} template template0 encoding 'UTF8' lc_collate 'C' lc_ctype {}")
                     .format(sql.Identifier(name), sql.Literal(ctype)))
    return sibling_database_url(admin_url, name)


def sibling_database_url(url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``url``, with the same user."""
    return url.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def connect(url: str | None = None, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url or database_url(), autocommit=autocommit) as conn:
        yield conn


def url_parts(url: str) -> dict[str, str]:
    """Split a PostgreSQL URL into the pieces dbt and GX read from the environment."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "dbname": parts.path.lstrip("/") or "postgres",
    }


def redact(url: str) -> str:
    """The URL with its password hidden, for messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def init_warehouse(url: str | None = None) -> None:
    """Create schemas, roles, load bookkeeping and raw tables. Safe to run any number of times."""
    ddl = resources.files("orcp").joinpath("sql/warehouse.sql").read_text()
    with connect(url) as conn:
        # Roles are cluster-wide: serialise concurrent inits (e.g. parallel test databases).
        conn.execute("select pg_advisory_xact_lock(727274)")
        conn.execute(ddl)
        collation = conn.execute("select datcollate from pg_database where datname = current_database()").fetchone()[0]
    if collation not in ("C", "POSIX"):
        log.warning("The warehouse database sorts text with collation %s: its builds would be about 10 %% faster "
                    "under \"C\" (README, section Configuration).", collation)
