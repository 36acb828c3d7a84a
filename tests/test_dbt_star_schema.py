"""The DECP star schema on the real fixture files, checked against values recomputed here, in Python, from
the same files with the documented rules (contract key, versions, kept publication, amounts, SIRET, buyer
location) -- not numbers copied from a previous run.

One warehouse for the module: load every fixture file once, build once (about 20 s), then compare.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import psycopg
import pytest

from ingest.loader import load_file
from orcp import transform
from tests.conftest import SHARED_DATA

JSON_FILES = ["decp_real/*.json", "decp_quirks/*.json", "decp_schema_v1.5/json_*.json", "decp_schema_v2/json_*.json"]
CSV_FILES = ["decp_tabular/*.csv"]
BUILD_SELECTION = "+rpt_decp_load_reconciliation +fct_contract_suppliers +dim_supplier +agg_contracts_by_year_and_nature ref_quality_flags"
HAUTS_DE_FRANCE = "32"


# ---------------------------------------------------------------- the rules, re-implemented from their docs

def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def clean_identifier(value) -> str | None:
    if value is None:
        return None
    cleaned = re.sub(r"[\s\u00a0\u202f.\-/]", "", str(value)).upper()
    return cleaned or None


def siret_value(value) -> str | None:
    cleaned = clean_identifier(value)
    if cleaned and re.fullmatch(r"[0-9]{13}", cleaned) and luhn_ok("0" + cleaned):
        return "0" + cleaned
    return cleaned


def siret_status(siret: str | None) -> str:
    if siret is None:
        return "missing"
    if not re.fullmatch(r"[0-9]+", siret):
        return "not_numeric"
    if len(siret) != 14:
        return "wrong_length"
    if siret.startswith("356000000"):
        return "valid_la_poste"
    return "valid" if luhn_ok(siret) else "luhn_failed"


def contract_id_key(value) -> str | None:
    if value is None:
        return None
    cleaned = re.sub(r"[\s\u00a0\u202f./]", "", re.sub(r"^INX\s*", "", str(value)))
    if re.fullmatch(r"(0+|NC|NULL|NONE|NAN|-+)", cleaned, re.IGNORECASE):
        return None
    return cleaned or None


def to_date(value) -> date | None:
    """ISO (time and offset ignored) or DD/MM/YYYY; years 1950-2099; impossible dates are None."""
    if value is None:
        return None
    text = str(value).strip()
    if re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    elif re.match(r"[0-9]{2}/[0-9]{2}/[0-9]{4}", text):
        year, month, day = int(text[6:10]), int(text[3:5]), int(text[0:2])
    else:
        return None
    if not 1950 <= year <= 2099:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def to_amount(value) -> Decimal | None:
    if value is None:
        return None
    text = re.sub(r"[\s\u00a0\u202f]", "", str(value)).replace(",", ".")
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def amount_usable(amount: Decimal | None) -> bool:
    """Not a placeholder (0, 999,999,999), not one repeated digit, 1 EUR to 3 bn EUR."""
    if amount is None or amount == 0 or int(amount) == 999_999_999:
        return False
    if re.fullmatch(r"([1-9])\1{4,}", str(int(amount))):
        return False
    return Decimal(1) <= amount <= Decimal(3_000_000_000)


def plain(number: Decimal) -> str:
    """PostgreSQL's trim_scale(numeric)::text."""
    text = f"{number.normalize():f}"
    return text


def tabular_value(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if text in ("", "MQ", "CDL", "nan", "NaN", "None", "null", "NULL") or str(value).startswith("INX"):
        return None
    return text


def parties(value) -> list[dict]:
    """Every object at any depth with an id or a denominationSociale (titulaires, wrapped or nested)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "id" in node or "denominationSociale" in node:
                found.append(node)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(value)
    return found


def first_present(*values):
    """SQL coalesce: the first value that is not None (an empty string counts)."""
    return next((value for value in values if value is not None), None)


def noid_key(notified: date | None, amount: Decimal | None, obj: str | None, supplier_ids: list[str]) -> str:
    """The id used for a contract published without one: a hash of its content."""
    content = "|".join(part for part in (
        notified.isoformat() if notified else None, plain(amount) if amount is not None else None,
        (obj or "").strip(" ") or None, ",".join(sorted(supplier_ids)) or None) if part is not None)
    return "noid:" + hashlib.md5(content.encode()).hexdigest()


def supplier_pairs(value) -> list[tuple]:
    return [(as_text(p.get("id")), as_text(p.get("typeIdentifiant"))) for p in parties(value)]


ID_TYPES = {"siret": "SIRET", "tva": "TVA", "tva intracommunautaire": "TVA", "tahiti": "TAHITI", "ridet": "RIDET",
            "frwf": "FRWF", "frw": "FRWF", "irep": "IREP", "ue": "UE", "hors ue": "HORS-UE", "horsue": "HORS-UE"}
ACCENTS = str.maketrans("àâäáéèêëîïíôöóùûüúçÿ", "aaaaeeeeiiiooouuuucy")


def supplier_siret(identifier: str | None, id_type: str | None) -> str | None:
    """The SIRET of a supplier identified by SIRET: typeIdentifiant mapped (case, accents, punctuation
    ignored), or, when absent or unknown, inferred from the identifier (13-14 digits)."""
    cleaned = clean_identifier(identifier)
    label = re.sub(r"[^a-z0-9]+", " ", (id_type or "").lower().translate(ACCENTS)).strip()
    mapped = ID_TYPES.get(label)
    if mapped is None and cleaned and re.fullmatch(r"[0-9]{13,14}", cleaned):
        mapped = "SIRET"
    return siret_value(identifier) if mapped == "SIRET" and cleaned else None


def nested(record: dict, parent: str, key: str):
    block = record.get(parent)
    if isinstance(block, dict) and block.get(key) is not None:
        return block.get(key)
    return record.get(f"{parent}.{key}")


def as_text(value) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None if value is None else json.dumps(value)
    if isinstance(value, float):
        return None if math.isnan(value) else repr(value)
    return str(value)


@dataclass
class Publication:
    """One publication of a contract: a JSON/XML record or ministry row, or the rows of one decp.info contract."""

    load_id: int
    record_numbers: list[int]
    buyer_siret: str | None
    base_key: str | None
    initial_date: date | None
    # version index -> (publication date, amount stated by that version, record numbers, suppliers as
    # (identifier, typeIdentifiant) pairs)
    versions: dict[int, tuple[date | None, Decimal | None, list[int], list[tuple]]] = field(default_factory=dict)
    key: str | None = None

    @property
    def first_record(self) -> int:
        return min(self.record_numbers)


def json_publications(path: Path, load_id: int) -> list[Publication]:
    document = json.loads(path.read_text(encoding="utf-8"))
    marches = document["marches"]
    records = marches if isinstance(marches, list) else [
        item for kind in ("marche", "contrat-concession") for item in marches.get(kind) or []]
    out = []
    for number, record in enumerate(records, start=1):
        buyer = siret_value(as_text(first_present(nested(record, "acheteur", "id"),
                                                  nested(record, "autoriteConcedante", "id"))))
        notified = to_date(first_present(record.get("dateNotification"), record.get("dateSignature")))
        amount = to_amount(as_text(first_present(record.get("montant"), record.get("valeurGlobale"))))
        contract_id = contract_id_key(as_text(record.get("id")))
        if contract_id is None and buyer is not None:
            supplier_ids = [str(p["id"]) for p in parties(first_present(record.get("titulaires"),
                                                                       record.get("concessionnaires")))
                            if p.get("id") is not None]
            contract_id = noid_key(notified, amount, as_text(record.get("objet")), supplier_ids)
        publication = Publication(load_id, [number], buyer, f"{buyer}|{contract_id}" if buyer else None, notified)
        suppliers = supplier_pairs(first_present(record.get("titulaires"), record.get("concessionnaires")))
        publication.versions[0] = (to_date(record.get("datePublicationDonnees")), amount, [number], suppliers)
        modifications = record.get("modifications") if isinstance(record.get("modifications"), list) else []
        for position, item in enumerate(modifications, start=1):  # positions count every item of the list
            if isinstance(item, dict) and isinstance(item.get("modification"), dict):
                item = item["modification"]
            if isinstance(item, dict):
                # a modification that names no supplier keeps the previous ones
                suppliers = supplier_pairs(first_present(item.get("titulaires"), item.get("concessionnaires"))) \
                    or suppliers
                publication.versions[position] = (to_date(item.get("datePublicationDonneesModification")), None,
                                                  [number], suppliers)
        out.append(publication)
    return out


def csv_rows(path: Path) -> list[tuple[int, dict]]:
    """(line where the row starts, row) for a CSV file, header line = 1."""
    text = path.read_text(encoding="utf-8-sig")
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    reader = csv.DictReader(text.splitlines(keepends=True), delimiter=delimiter)
    rows, start = [], 2
    for row in reader:
        rows.append((start, row))
        start = reader.line_num + 1
    return rows


def tabular_id(row: dict) -> str | None:
    """The id cell: the ministry's INX prefix is kept (contract_id_key drops it), MQ / CDL / empty are no id."""
    text = (row.get("id") or "").strip()
    return None if text in ("", "MQ", "CDL") else text


def tabular_publications(path: Path, load_id: int) -> list[Publication]:
    rows = csv_rows(path)
    if "uid" not in rows[0][1]:  # ministry export: one publication per row, at most one modification
        out = []
        for number, row in rows:
            buyer = siret_value(tabular_value(row.get("acheteur.id")))
            notified = to_date(tabular_value(row.get("dateNotification")))
            amount = to_amount(tabular_value(row.get("montant")))
            contract_id = contract_id_key(tabular_id(row))
            if contract_id is None and buyer is not None:
                supplier_ids = [tabular_value(row.get(f"titulaire_id_{n}")) for n in (1, 2, 3)]
                contract_id = noid_key(notified, amount, tabular_value(row.get("objet")),
                                       [i for i in supplier_ids if i])
            publication = Publication(load_id, [number], buyer, f"{buyer}|{contract_id}" if buyer else None, notified)
            suppliers = [(tabular_value(row.get(f"titulaire_id_{n}")), tabular_value(row.get(f"titulaire_typeIdentifiant_{n}")))
                         for n in (1, 2, 3) if tabular_value(row.get(f"titulaire_id_{n}"))
                         or tabular_value(row.get(f"titulaire_denominationSociale_{n}"))]
            publication.versions[0] = (to_date(tabular_value(row.get("datePublicationDonnees"))), amount, [number],
                                       suppliers)
            markers = [tabular_value(row.get(name)) for name in (
                "idModification", "montantModification", "dureeMoisModification", "dateNotificationModification",
                "dateNotificationModificationModification")]
            if any(markers):
                position = to_amount(tabular_value(row.get("idModification")))
                index = max(int(position) if position is not None else 1, 1)
                published = tabular_value(row.get("datePublicationDonneesModificationModification")) or \
                    tabular_value(row.get("datePublicationDonneesModification"))
                changed = tabular_value(row.get("idTitulaireModification"))
                publication.versions[index] = (to_date(published), None, [number], [(
                    changed, tabular_value(row.get("typeIdentifiantTitulaireModification")))] if changed else suppliers)
            out.append(publication)
        return out
    # decp.info: the rows of one load with the same buyer and id are one publication; without
    # modification_id, versions are ranked by notification date
    groups: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    rejected = []
    for number, row in rows:
        buyer = siret_value(tabular_value(row.get("acheteur_id")))
        if buyer is None:
            rejected.append(Publication(load_id, [number], None, None, None))
            continue
        contract_id = contract_id_key(tabular_id(row))
        if contract_id is None:
            supplier = tabular_value(row.get("titulaire_id"))
            contract_id = noid_key(to_date(tabular_value(row.get("dateNotification"))),
                                   to_amount(tabular_value(row.get("montant"))), tabular_value(row.get("objet")),
                                   [supplier] if supplier else [])
        groups[f"{buyer}|{contract_id}"].append((number, row))
    out = rejected
    for base_key, members in groups.items():
        dates = sorted({d for d in (to_date(tabular_value(r.get("dateNotification"))) for _, r in members) if d})
        rank = {d: i for i, d in enumerate(dates)}
        publication = Publication(load_id, [n for n, _ in members], base_key.split("|")[0], base_key,
                                  dates[0] if dates else None)
        by_version: dict[int, list[tuple[int, dict]]] = defaultdict(list)
        for number, row in members:
            notified = to_date(tabular_value(row.get("dateNotification")))
            by_version[rank[notified] if notified else len(dates)].append((number, row))
        for index, version_rows in by_version.items():
            _, first_row = min(version_rows, key=lambda item: item[0])
            publication.versions[index] = (
                to_date(tabular_value(first_row.get("datePublicationDonnees"))),
                to_amount(tabular_value(first_row.get("montant"))),
                [n for n, _ in version_rows],
                [(tabular_value(r.get("titulaire_id")), tabular_value(r.get("titulaire_typeIdentifiant")))
                 for _, r in sorted(version_rows, key=lambda item: item[0])
                 if tabular_value(r.get("titulaire_id")) or tabular_value(r.get("titulaire_nom"))])
        out.append(publication)
    return out


def assign_keys(publications: list[Publication]) -> None:
    """buyer | id, + the initial year where the same buyer and id were notified in different years."""
    years = defaultdict(set)
    for p in publications:
        if p.base_key and p.initial_date:
            years[p.base_key].add(p.initial_date.year)
    for p in publications:
        if p.base_key:
            reused = len(years[p.base_key]) > 1
            year = str(p.initial_date.year) if p.initial_date else "unknown"
            p.key = p.base_key + (f"|{year}" if reused else "")


def kept_versions(publications: list[Publication]) -> dict[tuple[str, int], tuple[Publication, int]]:
    """(contract key, version) -> (kept publication, version): the most complete publication, then the latest
    published, the latest load, the first record."""
    candidates = defaultdict(list)
    for p in publications:
        if p.key:
            for index in p.versions:
                candidates[(p.key, index)].append(p)
    kept = {}
    for (key, index), options in candidates.items():
        def preference(p, index=index):
            published = p.versions[index][0]
            return (-max(p.versions), 0 if published else 1, -(published.toordinal() if published else 0),
                    -p.load_id, p.first_record)
        kept[(key, index)] = (min(options, key=preference), index)
    return kept


# ---------------------------------------------------------------- the warehouse

@dataclass
class Expected:
    publications: list[Publication]
    load_of_file: dict[str, int]
    kept: dict


@pytest.fixture(scope="module")
def built(module_warehouse_url, tmp_path_factory):
    """Every fixture file loaded, the DECP models built; the expected values recomputed from the files."""
    with pytest.MonkeyPatch.context() as patch:  # a private dbt target dir: no clash with parallel runs
        patch.setenv("ORCP_DATA_DIR", str(tmp_path_factory.mktemp("orcp-data")))
        from orcp.settings import get_settings
        get_settings.cache_clear()
        publications, load_of_file = [], {}
        for pattern in JSON_FILES + CSV_FILES:
            for path in sorted(SHARED_DATA.glob(pattern)):
                result = load_file(path, "test", database_url=module_warehouse_url)
                if result.status != "loaded":
                    continue  # a file the loader refuses is not in raw: nothing to expect from it
                load_of_file[path.name] = result.load_id
                reader = json_publications if path.suffix == ".json" else tabular_publications
                publications += reader(path, result.load_id)
        if not load_of_file:
            pytest.skip("shared fixture files not available")
        result = transform.build(module_warehouse_url, select=BUILD_SELECTION)
        get_settings.cache_clear()
    assign_keys(publications)
    yield module_warehouse_url, Expected(publications, load_of_file, kept_versions(publications)), result


def query(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


# ---------------------------------------------------------------- tests

def test_build_passes_every_data_and_unit_test(built):
    _, _, result = built
    assert result.succeeded
    assert result.counts.get("fail", 0) == 0 and result.counts.get("error", 0) == 0
    assert result.counts.get("pass", 0) > 100  # data tests and unit tests ran


def test_one_row_per_contract_after_dedup(built):
    url, expected, _ = built
    keys = {p.key for p in expected.publications if p.key}
    rows = query(url, "select contract_key from marts.fct_contracts")
    assert len(rows) == len(keys) == len({r[0] for r in rows})
    assert {r[0] for r in rows} == keys
    # the published table counts the same contracts
    assert query(url, "select sum(contracts) from marts.agg_contracts_by_year_and_nature")[0][0] == len(keys)


def test_every_load_reconciles_raw_with_marts_rejections_and_duplicates(built):
    url, expected, _ = built
    in_marts, rejected, records = Counter(), Counter(), Counter()
    kept_records = defaultdict(set)
    for publication, index in expected.kept.values():
        kept_records[publication.load_id].update(publication.versions[index][2])
    for p in expected.publications:
        records[p.load_id] += len(p.record_numbers)
        if p.key is None:
            rejected[p.load_id] += len(p.record_numbers)
    for load_id, numbers in kept_records.items():
        in_marts[load_id] = len(numbers)
    rows = query(url, "select load_id, loaded_records, raw_records, records_in_marts, records_rejected,"
                      " records_duplicated, unaccounted_records from marts.rpt_decp_load_reconciliation")
    assert {r[0] for r in rows} == set(expected.load_of_file.values())
    for load_id, loaded, raw, marts, rejects, duplicates, unaccounted in rows:
        assert loaded == raw == records[load_id]
        assert (marts, rejects) == (in_marts[load_id], rejected[load_id]), load_id
        assert duplicates == records[load_id] - in_marts[load_id] - rejected[load_id]
        assert unaccounted == 0
    # the same platform published again: the merged PES file holds no id twice, the Croix file does
    croix = expected.load_of_file["decp2019_marches-securises_ville-de-croix-59_2019-2021.json"]
    assert {r[0]: r[5] for r in rows}[croix] > 0


def test_duplicates_name_a_record_that_is_in_the_marts(built):
    url, _, _ = built
    orphans = query(url, """
        select d.record_id from intermediate.int_decp__record_dispositions d
        where d.disposition = 'duplicate' and not exists (
            select 1 from marts.fct_contract_modifications m where d.duplicate_of_record_id = any(m.source_record_ids))""")
    assert orphans == []
    assert query(url, "select count(*) from intermediate.int_decp__record_dispositions where disposition = 'duplicate'"
                 )[0][0] > 0


def test_usable_initial_amounts_add_up(built):
    url, expected, _ = built
    total = Decimal(0)
    first_version = {}
    for key, index in expected.kept:
        first_version[key] = min(index, first_version.get(key, index))
    for (key, index), (publication, _) in expected.kept.items():
        if index == first_version[key]:
            amount = publication.versions[index][1]
            if amount_usable(amount):
                total += amount
    in_marts = query(url, "select sum(initial_amount_usable_eur) from marts.fct_contracts")[0][0]
    assert in_marts == total
    published = query(url, "select sum(amount_eur) from marts.agg_contracts_by_year_and_nature")[0][0]
    assert published == total


def test_supplier_shares_add_up_to_contract_amounts(built):
    url, _, _ = built
    contracts, shares = query(url, """
        select (select sum(amount_usable_eur) from marts.fct_contracts),
               (select sum(amount_share_eur) from marts.fct_contract_suppliers)""")[0]
    assert abs(contracts - shares) < Decimal("0.01")
    # every contract has at least one supplier row (the unknown supplier when none was published)
    assert query(url, "select count(distinct contract_sk) from marts.fct_contract_suppliers")[0][0] == \
        query(url, "select count(*) from marts.fct_contracts")[0][0]


def buyer_statuses(expected: Expected) -> Counter:
    statuses = Counter()
    for p in expected.publications:
        statuses[siret_status(p.buyer_siret)] += len(p.record_numbers)
    return statuses


def test_buyer_siret_checks_per_record(built):
    url, expected, _ = built
    rows = dict(query(url, "select buyer_siret_status, count(*) from intermediate.int_decp__records group by 1"))
    assert rows == dict(buyer_statuses(expected))
    flagged = query(url, "select count(*) from intermediate.int_decp__records"
                         " where 'buyer_siret_luhn_failed' = any(quality_flags)")[0][0]
    assert flagged == buyer_statuses(expected)["luhn_failed"] > 0


def test_supplier_siret_checks(built):
    """Distinct suppliers identified by SIRET in the kept contract versions, by SIRET status, recomputed from the
    files (typeIdentifiant "Siret", "" or missing: inferred from the identifier)."""
    url, expected, _ = built
    sirets = {supplier_siret(identifier, id_type)
              for publication, index in expected.kept.values()
              for identifier, id_type in publication.versions[index][3]} - {None}
    statuses = Counter(siret_status(siret) for siret in sirets)
    found = dict(query(url, "select supplier_siret_status, count(*) from marts.dim_supplier"
                            " where supplier_id_type = 'SIRET' group by 1"))
    assert found == dict(statuses)
    assert statuses["valid"] > 1000 and statuses["luhn_failed"] > 0


def buyer_regions(url: str, expected: Expected) -> dict[str, str | None]:
    """Where each buyer is, by the documented order: decp.info acheteur département, else the INSEE code a
    commune's SIREN embeds ("21" + département + "0" + commune) or a département's SIREN ("22" + département)."""
    cog = SHARED_DATA / "reference" / "cog_2025_communes_dep_reg.csv"
    with cog.open(encoding="utf-8") as stream:
        communes = {row["commune_code"]: row for row in csv.DictReader(stream)}
    departement_region = {row["departement_code"]: row["region_code"] for row in communes.values()}
    tabular_departements = defaultdict(Counter)
    for path in sorted(SHARED_DATA.glob("decp_tabular/*.csv")):
        if path.name not in expected.load_of_file:
            continue
        for _, row in csv_rows(path):
            buyer = siret_value(tabular_value(row.get("acheteur_id") or row.get("acheteur.id")))
            departement = tabular_value(row.get("acheteur_departement_code"))
            if buyer and departement:
                tabular_departements[buyer][departement] += 1
    regions = {}
    for buyer in {p.buyer_siret for p in expected.publications if p.key}:
        counts = tabular_departements.get(buyer)
        region = None
        if counts:
            top = max(counts.values())
            departement = min(d for d, n in counts.items() if n == top)  # PostgreSQL mode(): first of the ties
            region = departement_region.get(departement)
        if region is not None:
            pass
        elif re.fullmatch(r"21[0-9]{7}.*", buyer):
            siren = buyer[:9]
            insee = siren[2:5] + siren[6:8] if siren[2:4] == "97" else siren[2:4] + siren[5:8]
            region = communes[insee]["region_code"] if insee in communes else None
        elif re.fullmatch(r"22[0-9]{7}.*", buyer):
            departement = buyer[2:5] if buyer[2:4] == "97" else buyer[2:4]
            region = departement_region.get(departement)
        regions[buyer] = region
    return regions


def test_hauts_de_france_contracts(built):
    url, expected, _ = built
    regions = buyer_regions(url, expected)
    contracts_by_buyer = Counter(key.split("|")[0] for key in {p.key for p in expected.publications if p.key})
    expected_hdf = sum(n for buyer, n in contracts_by_buyer.items() if regions[buyer] == HAUTS_DE_FRANCE)
    found = query(url, """
        select count(*) from marts.fct_contracts f join marts.dim_buyer b on b.buyer_key = f.buyer_key
        where b.is_hauts_de_france""")[0][0]
    assert found == expected_hdf > 0
    # the role-playing key on the fact agrees with the buyer dimension
    assert query(url, """
        select count(*) from marts.fct_contracts f join marts.dim_geography g on g.geography_key = f.buyer_geography_key
        where g.region_code = '32'""")[0][0] == expected_hdf


def test_no_fact_row_lost_in_joins_to_dimensions(built):
    url, _, _ = built
    counts = query(url, """
        select count(*),
               count(b.buyer_key), count(d.date_key), count(g.geography_key), count(c.cpv_key),
               count(p.procedure_key), count(n.nature_key)
        from marts.fct_contracts f
        join marts.dim_buyer b on b.buyer_key = f.buyer_key
        join marts.dim_date d on d.date_key = f.notification_date_key
        join marts.dim_geography g on g.geography_key = f.place_geography_key
        join marts.dim_cpv c on c.cpv_key = f.cpv_key
        join marts.dim_procedure p on p.procedure_key = f.procedure_key
        join marts.dim_contract_nature n on n.nature_key = f.nature_key""")[0]
    total = query(url, "select count(*) from marts.fct_contracts")[0][0]
    assert counts == (total,) * 7


def test_contracts_without_id_or_with_impossible_dates_are_kept_and_flagged(built):
    url, expected, _ = built
    without_id = sum(1 for p in expected.publications if p.base_key and "|noid:" in p.base_key)
    flagged = query(url, "select count(*) from intermediate.int_decp__records"
                         " where 'contract_id_missing' = any(quality_flags) and buyer_siret is not null")[0][0]
    assert flagged == without_id > 0
    reasons = dict(query(url, "select flag, reason from reference.ref_quality_flags"))
    assert reasons["contract_id_missing"] and reasons["amount_placeholder"]


def test_docs_generate(built, tmp_path, monkeypatch):
    url, _, _ = built
    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path))
    from orcp.settings import get_settings
    get_settings.cache_clear()
    result = transform.run_dbt(["docs", "generate"], url)
    get_settings.cache_clear()
    assert result.succeeded
    catalog = json.loads((tmp_path / "dbt-target" / "catalog.json").read_text())
    assert "model.orcp.fct_contracts" in catalog["nodes"]
