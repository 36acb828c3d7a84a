"""Benchmark harness: the project's ingest against the COPY floor and the common pandas approach,
then dbt (full and incremental) and re-publication, in one run, each step in its own process.

    .venv/bin/python -m bench.harness --records 1000000 --repeats 3 --sizes 100000,300000

Writes BENCHMARKS.md (or --report) with the median of the repeats, records/s, MB/s and peak RSS
(from wait4, the operating system's accounting of that process alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from orcp import db
from orcp.settings import PROJECT_ROOT

PANDAS_LIMIT_S = 15 * 60


@dataclass
class Measure:
    step: str
    records: int
    bytes: int
    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def peak_mb(self) -> float:
        return max(self.peak_rss_mb) if self.peak_rss_mb else float("nan")


def run_step(step: str, *args: str, timeout: float | None = None) -> dict:
    """Run one step in a child process; its output has seconds and peak_rss_mb, or timeout."""
    child = subprocess.Popen([sys.executable, "-m", "bench.steps", step, *args], cwd=PROJECT_ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return {"timeout": True, "seconds": timeout, "peak_rss_mb": float("nan")}
    if child.returncode != 0:
        raise RuntimeError(f"benchmark step {step} failed: {err[-3000:]}")
    return json.loads([line for line in out.splitlines() if line.startswith("STEP ")][-1][5:])


class BenchDatabases:
    """Fresh warehouse databases on one server, dropped at the end."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.names: list[str] = []

    def new(self) -> str:
        name = f"orcp_bench_{uuid.uuid4().hex[:8]}"
        url = db.create_database(self.admin_url, name)  # as the project creates warehouses (collation "C")
        self.names.append(name)
        db.init_warehouse(url)
        return url

    def settle(self) -> None:
        """Write out what earlier steps left in memory (CHECKPOINT) so that it is not flushed during, and charged
        to, the next measured step: the floor's 700 MB COPY otherwise slowed the ingest measured right after it."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute("checkpoint")

    def drop_all(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.names:
                conn.execute(f'drop database if exists "{name}" with (force)')


def prepare_floor_lines(json_path: Path, lines_path: Path) -> int:
    """The same records pre-serialised as COPY lines of raw's shape (not timed)."""
    from ingest.formats import open_records

    count = 0
    with lines_path.open("wb") as out:
        for record in open_records(json_path).records:
            out.write(b"1\t%d\tbench\t%s\t%s\t%s\t%s\n" % (
                record.number, json_path.name.encode(), record.layout.encode(), record.kind.encode(),
                record.payload.replace(b"\\", b"\\\\")))
            count += 1
    return count


class FileServer:
    """A plain HTTP server on 127.0.0.1 in its own process, serving the benchmark folder."""

    def __init__(self, directory: Path):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
             "--directory", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("benchmark HTTP server did not start")

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def generate_input(work_dir: Path, records: int, seed: int, layout: str = "decp-2019") -> tuple[Path, dict]:
    from bench.generate import generate

    path = work_dir / f"decp_{layout}_{records}_{seed}.json"
    summary_path = Path(f"{path}.summary.json")
    if path.exists() and summary_path.exists():
        return path, json.loads(summary_path.read_text())
    return path, generate(path, records, layout, seed)


def measure_ingest(dbs: BenchDatabases, server: FileServer, path: Path, repeats: int,
                   with_pandas: bool) -> tuple[list[Measure], str]:
    """floor, project ingest and (optionally) pandas at one size; returns the last ingested database."""
    size = path.stat().st_size
    lines = path.with_suffix(".copy-lines")
    records = prepare_floor_lines(path, lines)
    floor = Measure("COPY floor (pre-serialised lines)", records, size)
    ours = Measure("orcp ingest (HTTP download + parse + COPY)", records, size)
    common = Measure("json.load + json_normalize + to_sql", records, size)
    last_url = ""
    for _ in range(repeats):
        url, last_url = dbs.new(), dbs.new()
        dbs.settle()
        _add(floor, run_step("floor", url, str(lines)))
        dbs.settle()
        _add(ours, run_step("ingest", last_url, server.url(path.name)))
        if with_pandas:
            dbs.settle()
            _add(common, run_step("pandas", url, str(path), timeout=PANDAS_LIMIT_S))
    lines.unlink()
    return [floor, ours] + ([common] if with_pandas else []), last_url


def measure_dbt(url: str, dbs: BenchDatabases, server: FileServer, work_dir: Path, records: int,
                repeats: int, seed: int) -> list[Measure]:
    reference = Measure(REFERENCE_PASS, records, 0)
    full = Measure("dbt build (full)", records, 0)
    incremental = Measure("dbt build after +1,000 contracts", 1000, 0)
    for _ in range(repeats):
        dbs.settle()
        _add(reference, run_step("reference_pass", url))
    for _ in range(repeats):
        dbs.settle()
        _add(full, run_step("dbt_build", url, "--full-refresh"))
    for repeat in range(repeats):
        extra, _ = generate_input(work_dir, 1000, seed + 1 + repeat)
        run_step("ingest", url, server.url(extra.name))
        dbs.settle()
        _add(incremental, run_step("dbt_build", url))
    return [reference, full, incremental]


def measure_republish(url: str, work_dir: Path, repeats: int) -> Measure:
    out_dir = work_dir / "opendata"
    run_step("republish", url, str(out_dir))  # first publication, not measured
    measure = Measure("re-publication, nothing changed", 0, 0)
    for _ in range(repeats):
        outcome = run_step("republish", url, str(out_dir))
        _add(measure, outcome)
        measure.note = f"{outcome['changed']} of {outcome['datasets']} datasets rewritten"
    return measure


def _add(measure: Measure, outcome: dict) -> None:
    measure.seconds.append(outcome["seconds"])
    measure.peak_rss_mb.append(outcome["peak_rss_mb"])
    if outcome.get("timeout"):
        measure.note = f"stopped at {PANDAS_LIMIT_S // 60} min: more than that"


def machine_description(admin_url: str) -> str:
    with psycopg.connect(admin_url) as conn:
        pg_version = conn.execute("show server_version").fetchone()[0]
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (f"{os.cpu_count()} cores, {memory_gb:.0f} GB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, PostgreSQL {pg_version}")


# Wall-time targets of the issues, by step name; findings written by hand below this marker in
# BENCHMARKS.md survive a new run.
TIME_TARGETS_S = {"dbt build (full)": 120, "dbt build after +1,000 contracts": 20,
                  "re-publication, nothing changed": 10}
# The warehouse issue sets its dbt targets on a machine where one reference pass (bench/steps.py) takes about
# 6 s: 120 s is "about twenty such passes". The report also gives the targets scaled to this run's own reference pass.
REFERENCE_PASS = "SQL reference pass (15 typed fields from raw jsonb)"
REFERENCE_PASS_TARGET_S = 6
SCALED_TARGETS = ("dbt build (full)", "dbt build after +1,000 contracts")
INGEST_MAX_FLOOR_RATIO, PANDAS_MIN_RATIO, INGEST_MAX_RSS_MB = 1.5, 8, 250
ANALYSIS_MARKER = "<!-- Analysis: written by hand, kept by the harness when it rewrites this file. -->"


def render_report(main: list[Measure], scaling: dict[int, list[Measure]], machine: str, command: str,
                  repeats: int) -> str:
    by_step = {m.step.split(" ")[0]: m for m in main}
    lines = [
        "# Benchmarks", "",
        f"Latest run: {time.strftime('%Y-%m-%d %H:%M')} on {machine}.", "",
        f"Reproduce: `{command}`", "",
        f"Each step runs in its own process, {repeats} times; the median wall time is shown, and the",
        "highest peak RSS (the process's `ru_maxrss`; PostgreSQL's own memory is not included).", "",
        "| step | records | wall (median) | each run | records/s | MB/s | peak RSS | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for m in main:
        lines.append(_row(m))
    floor, ours, common = by_step.get("COPY"), by_step.get("orcp"), by_step.get("json.load")
    reference = by_step.get("SQL")
    lines.append("")
    if floor and ours:
        ratio = ours.median_s / floor.median_s
        lines.append(f"- ingest / floor: **{ratio:.2f}x** (target at most {INGEST_MAX_FLOOR_RATIO}x: "
                     f"{_verdict(ratio <= INGEST_MAX_FLOOR_RATIO)})")
    if common and ours:
        ratio = common.median_s / ours.median_s
        lines.append(f"- pandas / ingest: **{ratio:.1f}x** (target at least {PANDAS_MIN_RATIO}x: "
                     f"{_verdict(ratio >= PANDAS_MIN_RATIO)})")
    if ours:
        lines.append(f"- peak RSS of the ingest: {ours.peak_mb:.0f} MB (target under {INGEST_MAX_RSS_MB} MB: "
                     f"{_verdict(ours.peak_mb < INGEST_MAX_RSS_MB)})")
    for m in main:
        if m.step in TIME_TARGETS_S:
            target = TIME_TARGETS_S[m.step]
            lines.append(f"- {m.step}: {m.median_s:.1f} s (target under {target:.0f} s: "
                         f"{_verdict(m.median_s <= target)})")
            if reference and m.step in SCALED_TARGETS:
                passes, budget = m.median_s / reference.median_s, target / REFERENCE_PASS_TARGET_S
                lines.append(f"  - {passes:.1f} reference passes of {reference.median_s:.1f} s (target under "
                             f"{budget:.1f}, i.e. {budget * reference.median_s:.0f} s on this machine: "
                             f"{_verdict(passes <= budget)})")
    if scaling:
        lines += ["", "## How the cost grows", "",
                  "| records | floor (s) | ingest (s) | ingest per 100k records (s) | peak RSS ingest (MB) |",
                  "|---:|---:|---:|---:|---:|"]
        for records, (floor_m, ours_m, *_) in sorted(scaling.items()):
            lines.append(f"| {records:,} | {floor_m.median_s:.1f} | {ours_m.median_s:.1f} | "
                         f"{ours_m.median_s / records * 100_000:.2f} | {ours_m.peak_mb:.0f} |")
    return "\n".join(lines) + "\n"


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def keep_analysis(report: str, previous: Path) -> str:
    """The report with the hand-written part of the previous one (after ANALYSIS_MARKER) carried over."""
    if previous.exists() and ANALYSIS_MARKER in previous.read_text():
        return report + "\n" + ANALYSIS_MARKER + previous.read_text().split(ANALYSIS_MARKER, 1)[1]
    return report


def _row(m: Measure) -> str:
    rate = f"{m.records / m.median_s:,.0f}" if m.records and m.seconds else ""
    mb_rate = f"{m.bytes / 1e6 / m.median_s:.1f}" if m.bytes and m.seconds else ""
    runs = ", ".join(f"{seconds:.1f}" for seconds in m.seconds)
    return (f"| {m.step} | {m.records:,} | {m.median_s:.2f} s | {runs} | {rate} | {mb_rate} | "
            f"{m.peak_mb:.0f} MB | {m.note} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--sizes", default="", help="extra sizes for the growth table, e.g. 100000,300000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas approach")
    parser.add_argument("--admin-url", default=os.environ.get("ORCP_TEST_ADMIN_URL",
                                                              "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--work-dir", type=Path, default=PROJECT_ROOT / "bench-out")
    parser.add_argument("--report", type=Path, default=PROJECT_ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    dbs, server = BenchDatabases(args.admin_url), FileServer(args.work_dir)
    try:
        scaling = {}
        for size in sorted({int(s) for s in args.sizes.split(",") if s} - {args.records}):
            path, _ = generate_input(args.work_dir, size, args.seed)
            scaling[size], _ = measure_ingest(dbs, server, path, args.repeats, with_pandas=False)
        path, _ = generate_input(args.work_dir, args.records, args.seed)
        main_measures, url = measure_ingest(dbs, server, path, args.repeats, with_pandas=not args.no_pandas)
        scaling[args.records] = main_measures
        main_measures += measure_dbt(url, dbs, server, args.work_dir, args.records, args.repeats, args.seed)
        main_measures.append(measure_republish(url, args.work_dir, args.repeats))
        command = "python -m bench.harness " + " ".join(argv if argv is not None else sys.argv[1:])
        report = render_report(main_measures, scaling if len(scaling) > 1 else {},
                               machine_description(args.admin_url), command, args.repeats)
        args.report.write_text(keep_analysis(report, args.report))
        print(report)
    finally:
        server.stop()
        dbs.drop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
