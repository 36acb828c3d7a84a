"""Run dbt (in-process) against the warehouse."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import yaml

from orcp import db
from orcp.settings import PROJECT_ROOT, get_settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


# Session settings of dbt's connections (libpq reads PGOPTIONS), data tests included: JIT compilation of the
# wide DECP queries costs more than it saves; at the default 4 MB of work_mem the indicators' and the tests'
# sorts and hashes of a million rows spill to disk; a lost commit after a crash is rebuilt by the next run; dbt
# already runs one query per core (threads), so parallel query workers would only fight them for the same cores
# (1M full build: 114-115 s with them, 102-107 s without).
DBT_SESSION_OPTIONS = ("-c jit=off -c work_mem=256MB -c synchronous_commit=off"
                       " -c max_parallel_workers_per_gather=0")


class TransformError(RuntimeError):
    pass


@dataclass
class TransformResult:
    succeeded: bool
    counts: dict[str, int] = field(default_factory=dict)  # status -> number of nodes
    failures: list[str] = field(default_factory=list)

    def describe(self) -> str:
        summary = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items()))
        if not summary and self.succeeded:
            return "dbt: nothing to run (no new load and no project change since the last successful build)"
        return f"dbt: {summary}" + ("" if self.succeeded else f"; failed: {'; '.join(self.failures)}")


@contextmanager
def dbt_environment(url: str) -> Iterator[None]:
    """Expose the warehouse connection to profiles.yml through environment variables only."""
    parts = db.url_parts(url)
    values = {
        "ORCP_PG_HOST": parts["host"], "ORCP_PG_PORT": parts["port"], "ORCP_PG_USER": parts["user"],
        "ORCP_PG_DBNAME": parts["dbname"], "DBT_ENV_SECRET_ORCP_PG_PASSWORD": parts["password"],
        "PGOPTIONS": " ".join(filter(None, [DBT_SESSION_OPTIONS, os.environ.get("PGOPTIONS")])),  # yours win
    }
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def dbt_vars() -> dict:
    """Settings that change what the models compute: they reach dbt as vars."""
    return {"min_records": get_settings().min_records}


def run_dbt(args: list[str], url: str | None = None) -> TransformResult:
    """Run a dbt command (e.g. ["build"]) on the project; the result lists failing nodes."""
    from dbt.cli.main import dbtRunner

    url = url or db.database_url()
    target_dir = get_settings().data_dir / "dbt-target"
    full_args = ["--quiet", "--log-level-file", "info", *args, "--vars", json.dumps(dbt_vars()),
                 "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                 "--target-path", str(target_dir), "--log-path", str(target_dir / "logs")]
    with dbt_environment(url):
        outcome = dbtRunner().invoke(full_args)
    if outcome.exception is not None:
        raise TransformError(f"dbt {' '.join(args)} could not run: {outcome.exception}")
    return _summarise(outcome)


def _summarise(outcome) -> TransformResult:
    counts: dict[str, int] = {}
    failures = []
    for node_result in getattr(outcome.result, "results", None) or []:
        status = str(node_result.status)
        counts[status] = counts.get(status, 0) + 1
        if status in ("error", "fail", "runtime error"):
            failures.append(f"{node_result.node.name}: {(node_result.message or status).strip()}")
    return TransformResult(succeeded=bool(outcome.success), counts=counts, failures=failures)


def build(url: str | None = None, select: str | None = None, full_refresh: bool = False) -> TransformResult:
    """dbt build; incremental models process only new loads unless full_refresh (needed after a change of
    seeds or of the DECP SQL). Without a selection: seeds are reloaded only when they changed since the last
    successful build (selectors.yml), and when the project is the one that build ran, only the models downstream
    of the raw tables loaded since then run, with their tests (nothing at all when nothing was loaded)."""
    url = url or db.database_url()
    if select:  # a selection neither skips nor records anything
        # buildable: the tests of the selected models, not those of other models that merely use one of them
        # (dbt's default, eager, would test tables the selection never built)
        return _checked(run_dbt(["build", "--select", select, "--indirect-selection", "buildable"]
                                + (["--full-refresh"] if full_refresh else []), url))
    fingerprint, project = seeds_fingerprint(), project_fingerprint()
    seeds_current = not full_refresh and _seeds_loaded(url, fingerprint)
    loads_through = _loads_through(url)
    changed = None if full_refresh or not seeds_current else changed_sources(url, project)
    if changed == []:
        return TransformResult(succeeded=True)
    if changed:
        args = ["build", "--select", " ".join(f"source:{name}+" for name in changed),
                "--exclude-resource-type", "unit_test"]
    else:
        args = ["build"] + (["--full-refresh"] if full_refresh else []) + (
            ["--selector", "production_seeds_loaded"] if seeds_current else [])
    result = _checked(run_dbt(args, url))
    if not seeds_current:
        _record_seeds_loaded(url, fingerprint)
    _record_build(url, project, loads_through)
    return result


def _checked(result: TransformResult) -> TransformResult:
    if not result.succeeded:
        raise TransformError(result.describe())
    return result


def project_fingerprint() -> str:
    """sha256 of the dbt project's files and of the vars: what decides the SQL of every model."""
    skipped = {"target", "logs", "dbt_packages"}
    files = [p for p in DBT_PROJECT_DIR.rglob("*") if p.relative_to(DBT_PROJECT_DIR).parts[0] not in skipped]
    return _files_digest(files, salt=json.dumps(dbt_vars(), sort_keys=True).encode())


def seeds_fingerprint() -> str:
    """sha256 of the seed files (names and contents, the YAML that types them included)."""
    return _files_digest((DBT_PROJECT_DIR / "seeds").rglob("*"))


def _files_digest(paths, salt: bytes = b"") -> str:
    """sha256 of the files' paths (relative to the project) and contents, in path order."""
    digest = hashlib.sha256(salt)
    for path in sorted(p for p in paths if p.is_file()):
        digest.update(path.relative_to(DBT_PROJECT_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def raw_source_tables() -> dict[str, list[str]]:
    """The raw tables of each dbt source in schema raw, by source name, as the sources YAML declares them."""
    tables = {}
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            if source.get("schema") == "raw":
                tables[source["name"]] = [f"raw.{table.get('identifier', table['name'])}"
                                          for table in source["tables"]]
    return tables


def changed_sources(url: str, project: str) -> list[str] | None:
    """The dbt sources with raw rows loaded since the latest successful build of this very project; None (build
    everything) when there is no such build."""
    with db.connect(url) as conn:
        if not _has_table(conn, "meta.dbt_builds"):
            return None
        row = conn.execute("select loads_through from meta.dbt_builds where project_fingerprint = %s",
                           (project,)).fetchone()
        if row is None:
            return None
        since = row[0]
        changed = [name for name, tables in raw_source_tables().items()
                   if any(conn.execute(f"select exists (select 1 from {table} where load_id > %s)", (since,))
                          .fetchone()[0] for table in tables)]
        # The meta.loads sources are read joined with their raw rows, except by the DECP models (the load
        # reconciliation, the indicators' as-of date), which any new load changes.
        if conn.execute("select exists (select 1 from meta.loads where load_id > %s)", (since,)).fetchone()[0]:
            changed.append("orcp_meta")
    return sorted(set(changed))


def _loads_through(url: str) -> int:
    """The loads a build started now sees in full: those before the first load still running."""
    with db.connect(url) as conn:
        return conn.execute("""
            select coalesce(min(load_id) filter (where status = 'running') - 1, max(load_id), 0)
            from meta.loads""").fetchone()[0]


def _record_build(url: str, project: str, loads_through: int) -> None:
    with db.connect(url) as conn:
        if not _has_table(conn, "meta.dbt_builds"):
            return  # a warehouse from before `orcp db init` created the table
        conn.execute("delete from meta.dbt_builds")
        conn.execute("insert into meta.dbt_builds (project_fingerprint, loads_through) values (%s, %s)",
                     (project, loads_through))


def _seeds_loaded(url: str, fingerprint: str) -> bool:
    """Whether a successful build loaded these seeds and their tables are all still there."""
    seed_tables = [p.stem for p in (DBT_PROJECT_DIR / "seeds").rglob("*.csv")]
    with db.connect(url) as conn:
        if not _has_table(conn, "meta.seed_loads"):
            return False
        loaded = conn.execute("select 1 from meta.seed_loads where fingerprint = %s", (fingerprint,)).fetchone()
        present = conn.execute(
            "select count(*) from pg_tables where schemaname = 'reference' and tablename = any(%s)",
            (seed_tables,)).fetchone()[0]
    return loaded is not None and present == len(seed_tables)


def _record_seeds_loaded(url: str, fingerprint: str) -> None:
    with db.connect(url) as conn:
        if not _has_table(conn, "meta.seed_loads"):  # a warehouse from before `orcp db init` created the table
            return
        conn.execute("delete from meta.seed_loads")
        conn.execute("insert into meta.seed_loads (fingerprint) values (%s)", (fingerprint,))


def _has_table(conn, name: str) -> bool:
    """Whether the table exists: warehouses from before `orcp db init` created the meta tables lack them."""
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]
