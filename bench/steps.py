"""One measured step of the benchmark, run in its own process so that the operating system's
accounting (wait4) gives its peak RSS alone. Called by bench/harness.py:

    python -m bench.steps STEP DATABASE_URL [ARG...]
"""

from __future__ import annotations

import json
import resource
import sys
import time


def floor(url: str, lines_path: str) -> dict:
    """The floor: COPY of the same records, pre-serialised one per line, into a table of raw's shape."""
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur, open(lines_path, "rb") as lines:
        cur.execute("create table if not exists bench_floor (like raw.decp_records including all)")
        cur.execute("truncate bench_floor")
        with cur.copy("COPY bench_floor FROM STDIN") as copy:
            while chunk := lines.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        return {"records": cur.execute("select count(*) from bench_floor").fetchone()[0]}


def ingest(url: str, file_url: str) -> dict:
    """The project's ingest, download from the local HTTP server included."""
    import os

    os.environ["ORCP_DATABASE_URL"] = url
    from ingest.run import ingest_target

    results = ingest_target(file_url, source="bench")
    failed = [r.error for r in results if r.status != "loaded"]
    if failed:
        raise SystemExit(f"ingest failed: {failed}")
    return {"records": sum(r.records for r in results)}


def pandas_common(url: str, path: str) -> dict:
    """What users commonly do: json.load + pandas.json_normalize + DataFrame.to_sql (defaults)."""
    import pandas
    import sqlalchemy

    with open(path, "rb") as stream:
        document = json.load(stream)
    contracts = document["marches"]
    if isinstance(contracts, dict):  # v2 layout
        contracts = [c for kind in contracts.values() for c in kind]
    frame = pandas.json_normalize(contracts)
    frame = frame.astype(str)  # nested lists would not insert otherwise
    engine = sqlalchemy.create_engine("postgresql+psycopg2://" + url.split("://", 1)[1])
    frame.to_sql("bench_pandas", engine, if_exists="replace", index=False)
    return {"records": len(frame)}


# The yardstick of the warehouse's dbt targets (its issue): "one SQL pass extracting 15 typed fields from 1M jsonb records takes about
# 6 s here: the budget allows about twenty such passes". Casts are guarded so that the generator's quirks
# ("NC" durations, impossible dates) give nulls, not errors.
REFERENCE_PASS_SQL = r"""
create temp table bench_reference_pass as
select
    record->>'id' as contract_id,
    record->'acheteur'->>'id' as buyer_id,
    record->'acheteur'->>'nom' as buyer_name,
    record->>'nature' as nature,
    record->>'objet' as subject,
    left(record->>'codeCPV', 8) as cpv_code,
    record->>'procedure' as procedure,
    record->'lieuExecution'->>'code' as place_code,
    record->'lieuExecution'->>'typeCode' as place_code_type,
    case when record->>'dureeMois' ~ '^[0-9]{1,4}$' then (record->>'dureeMois')::int end as duration_months,
    case when record->>'dateNotification' ~ '^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$'
         then (record->>'dateNotification')::date end as notification_date,
    case when record->>'datePublicationDonnees' ~ '^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$'
         then (record->>'datePublicationDonnees')::date end as publication_date,
    case when record->>'montant' ~ '^[0-9]{1,15}([.][0-9]+)?$' then (record->>'montant')::numeric end as amount,
    record->>'formePrix' as price_form,
    case when jsonb_typeof(record->'titulaires') = 'array' then jsonb_array_length(record->'titulaires') end
        as suppliers
from raw.decp_records
"""


def reference_pass(url: str) -> dict:
    """One typed extraction pass over raw, in a session set up as dbt's (orcp.transform)."""
    import psycopg

    from orcp.transform import DBT_SESSION_OPTIONS

    with psycopg.connect(url, options=DBT_SESSION_OPTIONS) as conn:
        conn.execute(REFERENCE_PASS_SQL)
        return {"records": conn.execute("select count(*) from bench_reference_pass").fetchone()[0]}


def dbt_build(url: str, *flags: str) -> dict:
    import os

    os.environ["ORCP_DATABASE_URL"] = url
    from orcp.transform import build

    return {"result": build(url, full_refresh="--full-refresh" in flags).describe()}


def republish(url: str, out_dir: str) -> dict:
    import os
    from pathlib import Path

    os.environ["ORCP_DATABASE_URL"] = url
    from publish.local import publish_all

    published = publish_all(url, Path(out_dir))
    return {"changed": sum(d.changed for d in published), "datasets": len(published)}


STEPS = {"floor": floor, "ingest": ingest, "pandas": pandas_common, "reference_pass": reference_pass,
         "dbt_build": dbt_build, "republish": republish}

if __name__ == "__main__":
    name, *args = sys.argv[1:]
    started = time.perf_counter()
    outcome = STEPS[name](*args)
    outcome["seconds"] = time.perf_counter() - started
    # Peak resident set of this process, from the kernel's accounting (ru_maxrss is in KiB on Linux).
    outcome["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("STEP " + json.dumps(outcome))
