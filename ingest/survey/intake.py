"""Load a filled survey file into raw and write its control report (`orcp ingest-survey`)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from ingest.formats import ParsedFile
from ingest.loader import LoadResult, load_file
from ingest.survey.report import SheetCounts, sheet_counts, write_report
from ingest.survey.schema import PROJECT, RESPONDENT, SOURCE
from ingest.survey.template import CSV_SUFFIXES
from ingest.survey.validation import SurveyValidation, validate_file
from orcp.settings import get_settings

ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # fixed, so the same CSV files always give the same archive


@dataclass
class SurveyIngestResult:
    load: LoadResult
    report_path: Path | None = None
    counts: list[SheetCounts] | None = None

    def totals(self, kind: str) -> tuple[int, int, int]:
        """(rows read, rows valid, rows rejected) over the sheets of one kind."""
        sheets = [c for c in self.counts or [] if c.kind == kind]
        return (sum(c.rows for c in sheets), sum(c.valid for c in sheets),
                sum(c.rejected for c in sheets))

    def describe(self) -> str:
        lines = [self.load.describe()]
        for kind, label in ((RESPONDENT, "respondents"), (PROJECT, "projects")):
            read, valid, rejected = self.totals(kind)
            lines.append(f"{label}: {read} rows, {valid} valid, {rejected} rejected")
        if self.counts is not None:
            warnings = sum(c.warnings for c in self.counts)
            errors = sum(c.errors for c in self.counts)
            lines.append(f"problems: {errors} errors, {warnings} warnings")
        if self.report_path:
            lines.append(f"report: {self.report_path}")
        return "\n".join(lines)


def parse_survey(path: Path) -> ParsedFile:
    """Parser for ``ingest.loader.load_file``: every answer row, valid or not, with its checks."""
    return validate_file(path).parsed_file()


def ingest_survey(path: Path, *, database_url: str | None = None,
                  report_path: Path | None = None) -> SurveyIngestResult:
    """Check and load ``path`` (XLSX, CSV or ZIP of CSVs), then write the control report.

    A file already loaded (same content) is not loaded again but still gets its report.
    A file that is not a survey at all fails the load (meta.loads says why) and gets no report.
    """
    checked: list[SurveyValidation] = []

    def parser(file: Path) -> ParsedFile:
        checked.append(validate_file(file))
        return checked[0].parsed_file()

    load = load_file(path, SOURCE, parser=parser, database_url=database_url)
    if load.status == "failed":
        return SurveyIngestResult(load)
    validation = checked[0] if checked else validate_file(path)
    report = write_report(validation, report_path or default_report_path(path), load)
    return SurveyIngestResult(load, report, sheet_counts(validation))


def default_report_path(path: Path) -> Path:
    return get_settings().reports_dir / "survey" / f"{path.stem}_rapport_controle.xlsx"


def prepare_input(files: list[Path]) -> Path:
    """The one file to load: a workbook or ZIP as given, or the CSV twins bundled into a ZIP.

    A CSV given alone is paired with its twin when one lies beside it
    (``x_repondants.csv`` and ``x_projets.csv``).
    """
    if len(files) == 1 and files[0].suffix.lower() != ".csv":
        return files[0]
    if any(f.suffix.lower() != ".csv" for f in files) or len(files) > 2:
        raise ValueError("give one workbook (.xlsx), one ZIP, or the respondents and projects CSV files")
    if len(files) == 1:
        twin = _csv_twin(files[0])
        if twin is None:
            return files[0]
        files = [files[0], twin]
    return bundle_csv_files(files, get_settings().landing_dir / SOURCE)


def _csv_twin(path: Path) -> Path | None:
    name = path.name.lower()
    for kind, suffix in CSV_SUFFIXES.items():
        if name.endswith(suffix):
            other = CSV_SUFFIXES[PROJECT if kind == RESPONDENT else RESPONDENT]
            twin = path.with_name(path.name[: -len(suffix)] + other)
            return twin if twin.is_file() else None
    return None


def bundle_csv_files(files: list[Path], directory: Path) -> Path:
    """Put CSV files in one ZIP whose bytes depend only on their names and content."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = files[0].stem
    for suffix in CSV_SUFFIXES.values():
        stem = stem.removesuffix(suffix.removesuffix(".csv"))
    bundle = directory / f"{stem}.zip"
    with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(files, key=lambda f: f.name):
            info = zipfile.ZipInfo(file.name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
    return bundle
