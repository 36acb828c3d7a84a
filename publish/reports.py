"""French HTML reports of the open-data folder (``rapports/``): an index, one page per indicator and the
"Perspectives travaux publics" page for the CERC.

Built from the same source as the data: the indicator's ``meta.indicator`` documentation (dbt), the vars
the models were computed with, the datapackage just written and the published table itself. Static
pages, no external asset (inline CSS, no script), every value escaped by Jinja2. A row whose status is
not 'ok' is shown as its status in words, never as a number."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from psycopg import sql
from psycopg.rows import dict_row

REPORTS_DIR = "rapports"
OUTLOOK_MODEL = "public_works_outlook"
OUTLOOK_PAGE = "perspectives-travaux-publics.html"
MAX_TABLE_ROWS = 150
REGION_CODE = "32"
TERRITORY_NAMES = {"32": "Hauts-de-France", "02": "Aisne", "59": "Nord", "60": "Oise", "62": "Pas-de-Calais",
                   "80": "Somme", "FR": "France"}
TERRITORY_LEVELS = {"region": 0, "departement": 1, "national": 2}  # the order of a table's rows
STATUS_TEXT = {"insufficient data": "données insuffisantes", "not available": "non disponible"}
SECTIONS = (("methodology_fr", "Méthodologie"), ("worked_example_fr", "Exemple chiffré"),
            ("exclusions_fr", "Exclusions"), ("assumptions_fr", "Hypothèses"), ("limits_fr", "Limites connues"))
FREQUENCIES_FR = {"daily": "quotidienne (jours ouvrés)", "weekly": "hebdomadaire", "monthly": "mensuelle",
                  "quarterly": "trimestrielle", "annual": "annuelle", "yearly": "annuelle",
                  "irregular": "irrégulière (à chaque nouvelle source)"}
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")
COMMUNE_SIZES = {"tous": "Tous les répondants", "moins_5000": "Communes de moins de 5 000 habitants",
                 "5000_et_plus": "Communes de 5 000 habitants ou plus", "inconnue": "Communes de taille inconnue"}
NARROW_SPACE = "\u202f"


# ---------------------------------------------------------------- values and their French display

@dataclass(frozen=True)
class Cell:
    text: str
    status: str = "ok"  # ok | insufficient data | not available | empty
    n: int | None = None


@dataclass
class ValuesTable:
    caption: str
    row_headers: list[str]
    columns: list[str]
    rows: list[tuple[list[str], list[Cell]]] = field(default_factory=list)
    omitted: int = 0  # rows left out (see the CSV)


def unit_of(measure: str) -> str:
    """How a measure reads, from its name: percent, eur, days, months or number; a leading '+' for a
    change (signed)."""
    name = measure.lower()
    sign = "+" if "change" in name else ""
    if any(word in name for word in ("share", "rate", "ratio")):
        return sign + "percent"
    if name.endswith("_eur") or "amount" in name:
        return sign + "eur"
    if "days" in name:
        return sign + "days"
    if "months" in name:
        return sign + "months"
    return sign + "number"


def french_number(value, decimals: int = 0) -> str:
    text = f"{Decimal(value):,.{decimals}f}"
    return text.replace(",", NARROW_SPACE).replace(".", ",")


def format_value(value, unit: str) -> str:
    value = Decimal(value)
    sign = "+" if unit.startswith("+") and value > 0 else ""
    unit = unit.lstrip("+")
    whole = value == value.to_integral()
    if unit == "percent":
        text = f"{french_number(value * 100, 1)}{NARROW_SPACE}%"
    elif unit == "eur":
        text = f"{french_number(value, 0)}{NARROW_SPACE}€"
    elif unit in ("days", "months"):
        text = f"{french_number(value, 0 if whole else 2)} {'jours' if unit == 'days' else 'mois'}"
    else:
        text = french_number(value, 0 if whole else 2)
    return sign + text


def cell(row: dict | None, unit: str) -> Cell:
    if row is None:
        return Cell("", "empty")
    n = row.get("n")
    if row.get("status") != "ok":
        return Cell(STATUS_TEXT.get(row.get("status"), str(row.get("status"))), row.get("status") or "", n)
    if row.get("value") is None:  # the quality gate forbids this; show the absence, not a number
        return Cell("valeur manquante", "not available", n)
    return Cell(format_value(row["value"], unit), "ok", n)


def french_date(value) -> str:
    if not value:
        return "non renseignée"
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return f"{day.day}{'er' if day.day == 1 else ''} {MONTHS_FR[day.month - 1]} {day.year}"


def paragraphs(text: str | None) -> list[str]:
    return [" ".join(part.split()) for part in (text or "").split("\n\n") if part.strip()]


# ---------------------------------------------------------------- writing

def write_reports(conn, published: list, variables: dict, out_dir: Path) -> Path:
    """Write rapports/ (index + pages); unchanged pages are not rewritten, pages of datasets no longer
    published are removed. Returns the index."""
    from publish.local import write_if_changed

    folder = out_dir / REPORTS_DIR
    env = environment()
    indicators = [dataset for dataset in published if dataset.spec and dataset.spec.is_indicator]
    pages = {f"{dataset.name}.html": env.get_template("indicator.html").render(
        page=indicator_page(conn, dataset, variables)) for dataset in indicators}
    outlook = next((d for d in indicators if d.spec.dbt_model == OUTLOOK_MODEL), None)
    if outlook is not None:
        pages[OUTLOOK_PAGE] = env.get_template("outlook.html").render(page=outlook_page(conn, outlook))
    pages["index.html"] = env.get_template("index.html").render(
        page=index_page(published, outlook is not None))
    for name, html in pages.items():
        write_if_changed(folder / name, html.encode())
    for stale in folder.glob("*.html"):
        if stale.name not in pages:
            stale.unlink()
    return folder / "index.html"


def environment() -> Environment:
    env = Environment(loader=PackageLoader("publish", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["french_date"] = french_date
    return env


# ---------------------------------------------------------------- pages

def index_page(published: list, with_outlook: bool) -> dict:
    return {
        "title": "Indicateurs de la commande publique en Hauts-de-France",
        "indicators": [_summary(d) for d in published if d.spec and d.spec.is_indicator],
        "others": [_summary(d) for d in published if not (d.spec and d.spec.is_indicator)],
        "outlook_page": OUTLOOK_PAGE if with_outlook else None,
    }


def _summary(dataset) -> dict:
    package, spec = dataset.package, dataset.spec
    return {
        "name": dataset.name, "title": package.get("title", dataset.name),
        "question": (spec.indicator or {}).get("question_fr") if spec else None,
        "period": _period(package), "as_of": package.get("as_of"), "rows": dataset.rows,
        "page": f"{dataset.name}.html", "csv": f"../{dataset.name}/{dataset.csv_path.name}",
        "datapackage": f"../{dataset.name}/datapackage.json",
    }


def indicator_page(conn, dataset, variables: dict) -> dict:
    spec, package = dataset.spec, dataset.package
    indicator = spec.indicator
    fields = {f["name"]: f for f in package["resources"][0]["schema"]["fields"]}
    if spec.dbt_model == OUTLOOK_MODEL:
        tables, latest = outlook_tables(conn, dataset, by_departement=False)
    else:
        tables, latest = latest_values(conn, dataset, fields)
    return {
        **_summary(dataset),
        "indicator_id": indicator.get("id", spec.dbt_model),
        "sections": [(heading, paragraphs(indicator.get(key))) for key, heading in SECTIONS if indicator.get(key)],
        "measures": _measure_labels(indicator, conn, spec),
        "configuration": _configuration(conn, dataset, variables, fields),
        "tables": tables, "latest": latest, "min_records": variables.get("min_records"),
        "outlook_page": OUTLOOK_PAGE if spec.dbt_model == OUTLOOK_MODEL else None,
    }


def outlook_page(conn, dataset) -> dict:
    tables, latest = outlook_tables(conn, dataset, by_departement=True)
    return {**_summary(dataset), "title": "Perspectives travaux publics", "tables": tables, "latest": latest,
            "indicator_page": f"{dataset.name}.html"}


def _period(package: dict) -> str | None:
    temporal = package.get("temporal")
    if not temporal:
        return None
    start, end = temporal["start"][:4], temporal["end"][:4]
    return start if start == end else f"{start} à {end}"


def _measure_labels(indicator: dict, conn, spec) -> list[tuple[str, str]]:
    labels = dict(indicator.get("measures") or {})
    return [(measure, labels.get(measure, measure)) for measure in _measures(conn, spec, labels)]


def _measures(conn, spec, labels: dict) -> list[str]:
    found = [row[0] for row in conn.execute(sql.SQL("select distinct measure from {} order by 1").format(
        _relation(spec.relation)))]
    return [m for m in labels if m in found] + [m for m in found if m not in labels]


def _configuration(conn, dataset, variables: dict, fields: dict) -> list[tuple[str, str]]:
    spec, package = dataset.spec, dataset.package
    grain = [fields.get(column, {}).get("title", column) for column in spec.grain]
    return [
        ("Effectif minimum pour publier une valeur (min_records)",
         f"{variables.get('min_records')} enregistrements"),
        ("Seuil de montant de la série (threshold_eur)", _thresholds(conn, spec, fields)),
        ("Version de la méthode (method_version)", package.get("method_version") or
         str(variables.get("method_version", "non renseignée"))),
        ("Données à jour au", french_date(package.get("as_of"))),
        ("Période couverte", _period(package) or "non renseignée"),
        ("Fréquence de mise à jour", FREQUENCIES_FR.get(spec.frequency or "", spec.frequency or "non renseignée")),
        ("Une ligne par", ", ".join(grain) if grain else "non renseigné"),
        ("Sources", " ; ".join(source["title"] for source in spec.sources) or "non renseignées"),
    ]


def _thresholds(conn, spec, fields: dict) -> str:
    if "threshold_eur" not in fields:
        return "sans objet"
    values = [row[0] for row in conn.execute(sql.SQL(
        "select distinct threshold_eur from {} where threshold_eur is not null order by 1").format(
        _relation(spec.relation)))]
    return " ; ".join(format_value(v, "eur") + " HT" for v in values) if values else "sans objet"


# ---------------------------------------------------------------- the latest values of an indicator

def latest_values(conn, dataset, fields: dict) -> tuple[list[ValuesTable], str | None]:
    """The latest period with a published value: one row per territory (région first, then départements,
    then France) and per breakdown without an 'all' total; one column per measure. Measures broken down
    differently (e.g. a share per company size beside an average over all sizes) get a table each."""
    spec = dataset.spec
    if not {"measure", "status", "value", "n"} <= set(fields):
        return [], None
    period = spec.temporal_column if spec.temporal_column in fields else None
    rows = _latest_rows(conn, spec, period)
    if "territory_level" in fields:
        rows = [row for row in rows if row["territory_level"] in TERRITORY_LEVELS]
    if not rows:
        return [], None
    labels = dict(spec.indicator.get("measures") or {})
    measures = [m for m in labels if any(r["measure"] == m for r in rows)] + \
        list(dict.fromkeys(r["measure"] for r in rows if r["measure"] not in labels))
    titles = {m: labels.get(m) or next((r.get("measure_label_fr") for r in rows if r["measure"] == m), m)
              for m in measures}
    breakdowns = [c for c in spec.grain if c not in {"measure", period, "territory_code", "territory_level"}]
    groups: dict[tuple, list[dict]] = {}
    for measure in measures:
        dimensions, kept = _totals([r for r in rows if r["measure"] == measure], breakdowns)
        groups.setdefault(tuple(dimensions), []).extend(kept)
    tables = []
    for dimensions, group in groups.items():
        titled = [fields[column].get("title", column) for column in dimensions]
        by = f", par {', '.join(title[0].lower() + title[1:] for title in titled)}" if titled else ""
        tables.append(pivot(
            caption=f"Valeurs {_period_words(period, rows)}{by}", rows=group,
            row_headers=(["Territoire"] if "territory_code" in fields else []) + titled,
            row_key=lambda row, dims=dimensions: _territory_key(row) + tuple(_label_key(row, c) for c in dims),
            column_key=lambda row: (measures.index(row["measure"]), titles[row["measure"]]),
            unit=lambda row: unit_of(row["measure"]),
        ))
    return tables, (str(rows[0][period]) if period else None)


def _totals(rows: list[dict], breakdowns: list[str]) -> tuple[list[str], list[dict]]:
    """Keep the 'all' rows of each breakdown that has them; the others stay as row dimensions."""
    dimensions = []
    for column in breakdowns:
        if any(row[column] == "all" for row in rows):
            rows = [row for row in rows if row[column] == "all"]
        else:
            dimensions.append(column)
    return dimensions, rows


def _latest_rows(conn, spec, period: str | None) -> list[dict]:
    table = _relation(spec.relation)
    with conn.cursor(row_factory=dict_row) as cur:
        if period is None:
            return cur.execute(sql.SQL("select * from {}").format(table)).fetchall()
        latest = cur.execute(sql.SQL(
            "select coalesce(max({0}) filter (where status = 'ok'), max({0})) as latest from {1}").format(
            sql.Identifier(period), table)).fetchone()["latest"]
        return cur.execute(sql.SQL("select * from {} where {} = %s").format(table, sql.Identifier(period)),
                           (latest,)).fetchall()


def _period_words(period: str | None, rows: list[dict]) -> str:
    if period is None:
        return "publiées"
    return f"de {rows[0][period]} (dernière période publiée avec au moins une valeur)"


def _territory_key(row: dict) -> tuple:
    if "territory_code" not in row:
        return ()
    code = row["territory_code"]
    name = row.get("territory_name") or TERRITORY_NAMES.get(code, code)
    label = name if code in ("32", "FR") else f"{name} ({code})"
    return ((TERRITORY_LEVELS.get(row.get("territory_level"), 9), code), label),


def _label_key(row: dict, column: str) -> tuple:
    value = row[column]
    label = row.get(f"{column}_label_fr") or ("non précisé" if value is None else str(value))
    return (value is None, str(value)), label


def pivot(caption: str, rows: list[dict], row_headers: list[str], row_key: Callable, column_key: Callable,
          unit: Callable) -> ValuesTable:
    """A readable table: row_key(row) -> ((sort, label), ...), column_key(row) -> (sort, label)."""
    columns = sorted({column_key(row) for row in rows}, key=lambda c: c[0])
    by_row: dict[tuple, dict] = {}
    for row in rows:
        by_row.setdefault(row_key(row), {})[column_key(row)] = row
    ordered = sorted(by_row, key=lambda key: tuple(part[0] for part in key))
    table = ValuesTable(caption, row_headers, [label for _, label in columns],
                        omitted=max(0, len(ordered) - MAX_TABLE_ROWS))
    for key in ordered[:MAX_TABLE_ROWS]:
        cells = by_row[key]
        table.rows.append(([label for _, label in key],
                           [cell(cells.get(column), unit(cells[column]) if column in cells else "number")
                            for column in columns]))
    return table


# ---------------------------------------------------------------- public works outlook (CERC survey)

def outlook_tables(conn, dataset, by_departement: bool) -> tuple[list[ValuesTable], str | None]:
    """The latest survey wave: projects and amounts by segment x owner type x planned year for the region,
    the share of respondents without a project by commune size, and (CERC page) projects by département."""
    from ingest.survey.schema import OWNER_TYPES, SEGMENTS

    segments = _vocabulary((choice.code, choice.label) for choice in SEGMENTS)
    owners = _vocabulary((choice.code, choice.label) for choice in OWNER_TYPES)
    sizes = _vocabulary(COMMUNE_SIZES.items())
    with conn.cursor(row_factory=dict_row) as cur:
        table = _relation(dataset.spec.relation)
        wave = cur.execute(sql.SQL("select max(survey_wave) as wave from {}").format(table)).fetchone()["wave"]
        if wave is None:
            return [], None
        rows = cur.execute(sql.SQL("select * from {} where survey_wave = %s").format(table), (wave,)).fetchall()

    def project_key(row):
        return _choice_key(segments, row["segment"]), _choice_key(owners, row["owner_type"])

    def year_column(row):
        year = row["planned_year"]
        return (year is None, year or 0), str(year) if year is not None else "Année non précisée"

    def place_key(row):
        code = row["geo_code"]
        name = TERRITORY_NAMES.get(code, code)
        return ((row["geo_level"] != "region", code), name if code == REGION_CODE else f"{name} ({code})"),

    def measure_rows(measure, level):
        return [r for r in rows if r["measure"] == measure and (level is None or r["geo_level"] == level)]

    owner_headers = ["Segment de travaux", "Maître d'ouvrage"]
    tables = [
        pivot(f"Nombre de projets prévus en Hauts-de-France, par année prévisionnelle de consultation "
              f"(vague {wave})", measure_rows("planned_projects", "region"), owner_headers, project_key,
              year_column, lambda r: "number"),
        pivot(f"Montant des projets prévus en Hauts-de-France (€ HT), par année prévisionnelle de "
              f"consultation (vague {wave})", measure_rows("planned_amount_eur", "region"), owner_headers,
              project_key, year_column, lambda r: "eur"),
        pivot(f"Part des répondants sans projet, par taille de commune (vague {wave})",
              measure_rows("no_project_share", None), ["Territoire"], place_key,
              lambda r: _choice_key(sizes, r["commune_size"]), lambda r: "percent"),
    ]
    if by_departement:
        tables.append(pivot(
            f"Nombre de projets prévus par département des travaux (vague {wave})",
            measure_rows("planned_projects", "departement"), ["Département", *owner_headers],
            lambda r: place_key(r) + project_key(r), year_column, lambda r: "number"))
    return [t for t in tables if t.rows], str(wave)


def _vocabulary(choices) -> dict[str, tuple[int, str]]:
    """code -> (position in the list, French label)."""
    return {code: (position, label) for position, (code, label) in enumerate(choices)}


def _choice_key(vocabulary: dict, code: str | None) -> tuple:
    """((sort, code), French label) of a coded answer; unknown codes after the known ones, as they are."""
    position, label = vocabulary.get(code, (len(vocabulary), code or "non précisé"))
    return (position, code or ""), label


def _relation(relation: str) -> sql.Identifier:
    return sql.Identifier(*relation.split("."))
