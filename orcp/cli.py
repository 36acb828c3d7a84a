"""The `orcp` command: run the pipeline's steps by hand (the DAGs run the same functions)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

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
    source: str | None = typer.Option(None, help="Source name recorded in meta.loads."),
) -> None:
    """Load files into raw (already-loaded content is skipped). Exit code 1 if any file failed."""
    from ingest.run import progress_display

    _init()
    with progress_display(console) as on_progress:  # bytes and records bars on a terminal, else logs
        summary = pipeline.ingest_step(targets, source=source, on_progress=on_progress)
    for result in summary.results:
        (err_console if result.status == "failed" else console).print(result.describe())
    console.print(summary.describe())
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def sources() -> None:
    """List the sources of the registry (ingest/sources.yml); `orcp ingest NAME` loads one."""
    from rich.table import Table

    from ingest.registry import RegistryError, load_registry

    try:
        registry = load_registry()
    except RegistryError as exc:
        _fail(str(exc))
    table = Table(title=f"{len(registry.sources)} sources")
    table.add_column("name", no_wrap=True, style="bold")
    for column in ("title", "format", "schedule", "licence", "url"):
        table.add_column(column, overflow="fold")
    for source in registry.sources:
        table.add_row(source.name, source.title, source.format, source.schedule or "on demand",
                      source.licence, source.effective_url)
    console.print(table)


@app.command()
def transform(
    select: str | None = typer.Option(None, help="dbt node selection, with the tests of the selected models."),
    full_refresh: bool = typer.Option(False, "--full-refresh",
                                      help="Rebuild incremental models from all raw data (after a change of "
                                           "reference seeds or of the DECP models)."),
) -> None:
    """Build the dbt models and run their tests (dbt build): incremental models process new loads only, and
    without --select only the models downstream of the raw data loaded since the last successful build run."""
    _init()
    _step("transform", lambda: pipeline.transform_step(select, full_refresh))


@app.command()
def check() -> None:
    """Run the Great Expectations suites; exit 1 on a critical failure."""
    _init()
    report = _step("check", lambda: pipeline.check_step(block_on_failure=False))
    _print_quality(report, summary=False)
    if report.critical_failures:
        raise typer.Exit(1)


@app.command()
def publish() -> None:
    """Write the published datasets to the open-data folder."""
    _init()
    for dataset in _step("publish", pipeline.publish_step):
        console.print(f"{dataset.name}: {dataset.rows} rows, {'updated' if dataset.changed else 'unchanged'}"
                      f" -> {dataset.folder}")
    _print_reports()


def _print_reports() -> None:
    from publish.dcat import CATALOG_FILE
    from publish.reports import REPORTS_DIR

    opendata = get_settings().opendata_dir
    console.print(f"  reports:        {opendata / REPORTS_DIR / 'index.html'}"
                  f"\n  catalogue:      {opendata / CATALOG_FILE}")


@app.command()
def run(inputs: list[str] | None = typer.Argument(None, help="Inputs (default: bundled sample).")) -> None:
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
            except Exception as exc:  # noqa: BLE001 - each step raises a descriptive error: show it, stop
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
    _print_reports()


def _print_quality(report, summary: bool = True) -> None:
    if summary:
        console.print(report.describe())
    for outcome in report.critical_failures + report.warnings:
        console.print(f"  {outcome.severity}: {outcome.describe()}")


def _step(name: str, action):
    with console.status(f"{name}…"):
        try:
            result = action()
        except Exception as exc:  # noqa: BLE001 - the step's own message, then exit 1
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


# --- CERC public-works survey ------------------------------------------------------------------

survey_app = typer.Typer(help="The CERC public-works survey (intake template).", no_args_is_help=True)
app.add_typer(survey_app, name="survey")


@survey_app.command("template")
def survey_template(
    path: Path = typer.Argument(Path("modele_enquete_cerc.xlsx"), help="Workbook to write (.xlsx)."),
) -> None:
    """Write the empty survey template (XLSX, in French) and its CSV twin beside it."""
    from ingest.survey.template import write_template

    for written in write_template(path):
        console.print(f"written: {written}")


@app.command("ingest-survey")
def ingest_survey(
    files: list[Path] = typer.Argument(..., help="A filled workbook (.xlsx), a ZIP of the two CSV files,"
                                                 " or the respondents and projects CSV files."),
    report: Path | None = typer.Option(None, help="Control report to write (default: reports folder)."),
) -> None:
    """Check and load a filled CERC survey; write its control report (XLSX). Exit 1 if the load failed."""
    from ingest.survey.intake import ingest_survey as load_survey
    from ingest.survey.intake import prepare_input

    url = _init()
    try:
        path = prepare_input(files)
    except ValueError as exc:
        _fail(str(exc))
    result = load_survey(path, database_url=url, report_path=report)
    (err_console if result.load.status == "failed" else console).print(result.describe())
    if result.load.status == "failed":
        raise typer.Exit(1)


# --- DGFiP payment delays, OECP census figures, SIRENE ------------------------------------------

@app.command("ingest-dgp")
def ingest_dgp(
    targets: list[Path] = typer.Argument(..., help="DGP files (CSV or XLSX) or folders of them."),
    source: str = typer.Option("dgfip-dgp", help="Source name recorded in meta.loads."),
) -> None:
    """Load DGFiP payment-delay files; a reloaded year replaces that year only. Exit 1 if any file failed."""
    from ingest.formats import dgp

    url = _init()
    results = [result for target in targets for result in dgp.load(target, source, database_url=url)]
    _print_loads(results)


@app.command("ingest-census")
def ingest_census(
    path: Path | None = typer.Argument(None, help="Curated census CSV (default: the bundled key figures)."),
) -> None:
    """Load the OECP census key figures (curated CSV). Exit 1 if the file failed."""
    from ingest import census

    url = _init()
    _print_loads([census.load(path or census.DEFAULT_FILE, database_url=url)])


@app.command("ingest-sirene")
def ingest_sirene(
    files: list[Path] = typer.Argument(..., help="SIRENE stock files (StockUniteLegale / StockEtablissement,"
                                                 " CSV or Parquet)."),
    ids: Path | None = typer.Option(None, help="File of SIRENs/SIRETs to keep, one per line"
                                                  " (default: those named in the warehouse)."),
) -> None:
    """Keep from SIRENE stock files only the companies the procurement data names, and load them."""
    from ingest import sirene

    url = _init()
    try:
        wanted = sirene.Identifiers.from_values(ids.read_text().split()) if ids \
            else sirene.identifiers_from_warehouse(url)
        console.print(f"keeping {len(wanted.sirens)} SIRENs and {len(wanted.sirets)} SIRETs")
        outcomes = [sirene.load(f, wanted, database_url=url) for f in files]
    except (sirene.SireneError, OSError) as exc:
        _fail(str(exc))
    for outcome in outcomes:
        console.print(f"{outcome.kind}: kept {outcome.kept} of {outcome.scanned} rows ({outcome.skipped} skipped)")
    _print_loads([outcome.result for outcome in outcomes])


def _print_loads(results) -> None:
    for result in results:
        (err_console if result.status == "failed" else console).print(result.describe())
    if any(result.status == "failed" for result in results):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
