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


STEPS = {"floor": floor, "ingest": ingest, "pandas": pandas_common, "dbt_build": dbt_build,
         "republish": republish}

if __name__ == "__main__":
    name, *args = sys.argv[1:]
    started = time.perf_counter()
    outcome = STEPS[name](*args)
    outcome["seconds"] = time.perf_counter() - started
    # Peak resident set of this process, from the kernel's accounting (ru_maxrss is in KiB on Linux).
    outcome["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("STEP " + json.dumps(outcome))
