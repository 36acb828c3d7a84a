"""The `orcp` command: run the pipeline's steps by hand (the DAGs run the same functions)."""

from __future__ import annotations

import logging
import sys
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from orcp import db, embedded_pg, pipeline
from orcp.settings import get_settings

app = typer.Typer(help="ORCP Hauts-de-France public-procurement warehouse.", no_args_is_help=True)
db_app = typer.Typer(help="The warehouse database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()
err_console = Console(stderr=True)


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Show library logs.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@db_app.command("init")
def db_init() -> None:
    """Create schemas, roles, load bookkeeping and raw tables (idempotent)."""
    url = _database_url()
    db.init_warehouse(url)
    console.print(f"warehouse ready: {db.redact(url)}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL cluster."""
    stopped = embedded_pg.stop(get_settings().embedded_pg_dir)
    console.print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


@db_app.command("url")
def db_url() -> None:
    """Print the warehouse URL (password hidden), starting the embedded cluster if needed."""
    console.print(db.redact(_database_url()))


@app.command()
def ingest(
    targets: list[str] = typer.Argument(..., help="Files, folders, URLs or registry source names."),
    source: Optional[str] = typer.Option(None, help="Source name recorded in meta.loads."),
) -> None:
    """Load files into raw (already-loaded content is skipped). Exit code 1 if any file failed."""
    _init()
    with _record_progress() as on_progress:
        summary = pipeline.ingest_step(targets, source=source, on_progress=on_progress)
    for result in summary.results:
        (err_console if result.status == "failed" else console).print(result.describe())
    console.print(summary.describe())
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def transform(select: Optional[str] = typer.Option(None, help="dbt node selection.")) -> None:
    """Build the dbt models and run their tests (dbt build)."""
    _init()
    _step("transform", lambda: pipeline.transform_step(select))


@app.command()
def check() -> None:
    """Run the Great Expectations suites; exit 1 on a critical failure."""
    _init()
    report = _step("check", lambda: pipeline.check_step(block_on_failure=False))
    _print_quality(report)
    if report.critical_failures:
        raise typer.Exit(1)


@app.command()
def publish() -> None:
    """Write the published datasets to the open-data folder."""
    _init()
    for dataset in _step("publish", pipeline.publish_step):
        console.print(f"{dataset.name}: {dataset.rows} rows, {'updated' if dataset.changed else 'unchanged'}"
                      f" -> {dataset.folder}")


@app.command()
def run(inputs: Optional[list[str]] = typer.Argument(None, help="Inputs (default: bundled sample).")) -> None:
    """Ingest, transform, check and publish: the whole job."""
    url = _init()
    steps = [("ingest", lambda: pipeline.ingest_step(inputs)),
             ("transform", pipeline.transform_step),
             ("check", pipeline.check_step),
             ("publish", pipeline.publish_step)]
    outcomes = {}
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task("pipeline", total=len(steps))
        for name, action in steps:
            progress.update(task, description=f"{name}…")
            try:
                outcomes[name] = action()
            except Exception as exc:  # each step raises a descriptive error: show it, stop the chain
                progress.stop()
                _fail(f"{name} failed: {exc}")
            progress.advance(task)
        progress.update(task, description="done")
    _print_run_summary(url, outcomes)


def _print_run_summary(url: str, outcomes: dict) -> None:
    settings = get_settings()
    console.print(outcomes["ingest"].describe())
    console.print(outcomes["transform"].describe())
    _print_quality(outcomes["check"])
    console.print(f"\n[bold]Results[/]\n  warehouse:      {db.redact(url)} (schemas marts, indicators)"
                  f"\n  open data:      {settings.opendata_dir}"
                  f"\n  quality report: {outcomes['check'].docs_index}")
    for dataset in outcomes["publish"]:
        console.print(f"  dataset:        {dataset.folder} ({dataset.rows} rows)")


def _print_quality(report) -> None:
    console.print(report.describe())
    for outcome in report.critical_failures + report.warnings:
        console.print(f"  {outcome.severity}: {outcome.suite}.{outcome.column or '*'} "
                      f"{outcome.expectation} (observed {outcome.observed})")


def _step(name: str, action):
    with console.status(f"{name}…"):
        try:
            result = action()
        except Exception as exc:
            _fail(f"{name} failed: {exc}")
    if hasattr(result, "describe"):
        console.print(result.describe())
    return result


def _database_url() -> str:
    try:
        return db.database_url()
    except embedded_pg.EmbeddedPostgresError as exc:
        _fail(str(exc))


def _init() -> str:
    url = _database_url()
    db.init_warehouse(url)
    return url


class _record_progress:
    """A Rich records counter on a terminal; nothing (plain logs) otherwise."""

    def __enter__(self):
        if not sys.stdout.isatty():
            return None
        self.progress = Progress(TextColumn("loading"), MofNCompleteColumn(), TextColumn("records"),
                                 TimeElapsedColumn(), console=console, transient=True)
        self.progress.start()
        self.task = self.progress.add_task("records", total=None)
        return lambda count: self.progress.update(self.task, completed=count)

    def __exit__(self, *exc) -> None:
        if sys.stdout.isatty():
            self.progress.stop()


if __name__ == "__main__":
    app()
