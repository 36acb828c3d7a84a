"""The DECP indicators (order_book, sme_access, local_retention, environmental_clauses, social_clauses,
innovation, competition) built on the real fixture files: every published row is compared with the same
indicator recomputed here, in Python, from the marts' row-level tables (fct_contracts, fct_contract_suppliers,
dim_buyer, dim_supplier, dim_procedure) with the rules the models document -- not numbers copied from a run.

Company sizes: the fixture files carry none, so the test writes a SIRENE stock file giving sizes to the
suppliers of the decp.info extract (sizes chosen here) and recomputes sme_access and innovation from those
sizes, not from the warehouse's.

One warehouse for the module: load the files once, build the seven models and their parents once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import psycopg
import pytest

from ingest import sirene
from ingest.loader import load_file
from orcp import transform
from tests.conftest import SHARED_DATA
from tests.test_dbt_star_schema import CSV_FILES, JSON_FILES, csv_rows, siret_value, tabular_value
from tests.test_sirene import UNIT_HEADER, _unit_row, _write_csv

MODELS = ["order_book", "sme_access", "local_retention", "environmental_clauses", "social_clauses", "innovation",
          "competition"]
# ref_quality_flags: a data test of the parents' reads this seed.
BUILD_SELECTION = " ".join(f"+{model}" for model in MODELS) + " ref_quality_flags"
HDF_DEPARTEMENTS = {"02", "59", "60", "62", "80"}
# Sizes given to the suppliers in turn; None = no SIRENE row (size unknown). (categorieEntreprise, staff band)
SIZE_CYCLE = ["TPE", "PME", "ETI", "GE", None]
SIRENE_SIZE = {"TPE": ("PME", "02"), "PME": ("PME", "12"), "ETI": ("ETI", "42"), "GE": ("GE", "53")}
SIZES = ["TPE", "PME", "ETI", "GE", "unknown", "TPE_PME"]
LOCATIONS = ["same_departement", "same_region", "rest_of_france", "abroad", "unknown"]
FAMILIES = ["adapted", "open", "restricted", "negotiated", "without_publicity", "unknown"]
# Below the default (10) so that the few v2 records of the fixtures reach 'ok' somewhere; also shows that the
# setting reaches the models.
MIN_RECORDS = 5


# ---------------------------------------------------------------- the warehouse

def supplier_sizes() -> dict[str, str]:
    """SIREN -> size for the suppliers (identified by SIRET) of the decp.info extract, in turn."""
    sirens = set()
    for path in sorted(SHARED_DATA.glob("decp_tabular/decp_info_*.csv")):
        for _, row in csv_rows(path):
            siret = siret_value(tabular_value(row.get("titulaire_id")))
            if siret and len(siret) == 14 and siret.isdigit():
                sirens.add(siret[:9])
    ordered = sorted(sirens)
    return {siren: SIZE_CYCLE[i % len(SIZE_CYCLE)] for i, siren in enumerate(ordered)
            if SIZE_CYCLE[i % len(SIZE_CYCLE)]}


def write_sirene_units(path, sizes: dict[str, str]):
    rows = [_unit_row(siren, "O", SIRENE_SIZE[size][0], SIRENE_SIZE[size][1], "5710", f"ENTREPRISE {siren}", "", "")
            for siren, size in sizes.items()]
    return _write_csv(path, UNIT_HEADER, rows)


@pytest.fixture(scope="module")
def built(module_warehouse_url, tmp_path_factory):
    """Fixture files and a SIRENE extract loaded, the seven indicators and their parents built once."""
    data_dir = tmp_path_factory.mktemp("orcp-data")
    with pytest.MonkeyPatch.context() as patch:  # a private dbt target dir: no clash with parallel runs
        patch.setenv("ORCP_DATA_DIR", str(data_dir))
        patch.setenv("ORCP_MIN_RECORDS", str(MIN_RECORDS))
        from orcp.settings import get_settings
        get_settings.cache_clear()
        loaded = [load_file(path, "test", database_url=module_warehouse_url).status
                  for pattern in JSON_FILES + CSV_FILES for path in sorted(SHARED_DATA.glob(pattern))]
        if "loaded" not in loaded:
            pytest.skip("shared fixture files not available")
        sizes = supplier_sizes()
        units = write_sirene_units(data_dir / "StockUniteLegale_utf8.csv", sizes)
        load = sirene.load(units, sirene.Identifiers.from_values(sizes), database_url=module_warehouse_url,
                           extract_dir=data_dir / "sirene")
        assert load.result.status == "loaded" and load.kept == len(sizes)
        assert get_settings().min_records == MIN_RECORDS
        result = transform.build(module_warehouse_url, select=BUILD_SELECTION)
        get_settings.cache_clear()
    yield module_warehouse_url, sizes, MIN_RECORDS, result


def query(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


@dataclass
class Contract:
    sk: str
    year: int
    nature: str
    amount: Decimal | None
    family: str
    is_open: bool | None
    offers: int | None
    is_innovative: bool | None
    environmental: bool | None
    social: bool | None
    category: str
    departement: str | None
    region: str | None
    hdf: bool
    # (size, location, amount share) per supplier row
    suppliers: list[tuple[str, str, Decimal | None]] = field(default_factory=list)

    def cells(self) -> list[tuple[int, str, str]]:
        """(year, territory, buyer category) cells the contract counts in."""
        places = ["FR"] + ([self.departement, "32"] if self.hdf else [])
        return [(self.year, place, category) for place in places for category in (self.category, "all")]


def location(contract: Contract, departement: str | None, region: str | None, abroad: bool) -> str:
    if abroad:
        return "abroad"
    if departement is None:
        return "unknown"
    if departement == contract.departement:
        return "same_departement"
    return "same_region" if region == contract.region else "rest_of_france"


@pytest.fixture(scope="module")
def contracts(built) -> list[Contract]:
    """The contracts in scope (public contracts with a notification year), with their suppliers' sizes taken
    from the SIRENE rows this test wrote."""
    url, sizes, _, _ = built
    rows = query(url, """
        select f.contract_sk, f.notification_year, f.contract_type, f.initial_amount_usable_eur,
               p.procedure_family, p.is_open_to_competition, f.offers_received, f.is_innovative,
               f.has_environmental_consideration, f.has_social_consideration,
               b.buyer_category, b.departement_code, b.region_code, b.is_hauts_de_france
        from marts.fct_contracts f
        join marts.dim_buyer b on b.buyer_key = f.buyer_key
        join marts.dim_procedure p on p.procedure_key = f.procedure_key
        where f.record_kind = 'marche' and f.notification_year is not null""")
    by_sk = {row[0]: Contract(*row) for row in rows}
    for sk, siret, share, departement, region, abroad in query(url, """
            select cs.contract_sk, s.supplier_siret, cs.initial_amount_share_eur, s.departement_code,
                   s.region_code, s.is_abroad
            from marts.fct_contract_suppliers cs join marts.dim_supplier s on s.supplier_key = cs.supplier_key"""):
        if sk in by_sk:
            contract = by_sk[sk]
            size = sizes.get(siret[:9], "unknown") if siret else "unknown"
            contract.suppliers.append((size, location(contract, departement, region, abroad), share))
    assert all(c.suppliers for c in by_sk.values())  # every contract has a row, 'unknown' when none published
    return list(by_sk.values())


# ---------------------------------------------------------------- the indicators, recomputed

def by_cell(contracts: list[Contract]) -> dict[tuple, list[Contract]]:
    cells = defaultdict(list)
    for contract in contracts:
        for cell in contract.cells():
            cells[cell].append(contract)
    return cells


def total(values) -> Decimal | None:
    """SQL sum: null over no value."""
    values = [v for v in values if v is not None]
    return sum(values, Decimal(0)) if values else None


class Rows:
    """Expected published rows: key -> (value, numerator, denominator, n, status)."""

    def __init__(self, min_records: int):
        self.min_records = min_records
        self.rows: dict[tuple, tuple] = {}

    def status(self, n: int, available: bool) -> str:
        if not available:
            return "not available"
        return "ok" if n >= self.min_records else "insufficient data"

    def amount(self, key, value, n):
        status = self.status(n, True)
        self.rows[key] = (Decimal(value) if status == "ok" else None, None, None, n, status)

    def ratio(self, key, numerator, denominator, n, available=True, digits=4):
        status = self.status(n, available)
        value = None
        if status == "ok" and denominator:
            value = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(10) ** -digits, ROUND_HALF_UP)
        self.rows[key] = (value, numerator, denominator, n, status)


def expected_order_book(contracts, min_records) -> Rows:
    rows, cells = Rows(min_records), defaultdict(list)
    for contract in contracts:
        for year, place, category in contract.cells():
            for nature in (contract.nature, "all"):
                cells[(year, place, category, nature)].append(contract)
    for key, members in cells.items():
        amounts = [c.amount for c in members if c.amount is not None]
        rows.amount(("contracts", *key), len(members), len(members))
        rows.amount(("amount_eur", *key), total(amounts), len(amounts))
    return rows


def size_shares(contract: Contract) -> dict[str, Decimal | None]:
    """Size group -> amount attributed to it (None when every share is null); a contract counts once per size."""
    shares = defaultdict(list)
    for size, _, share in contract.suppliers:
        shares[size].append(share)
        if size in ("TPE", "PME"):
            shares["TPE_PME"].append(share)
    return {size: total(values) for size, values in shares.items()}


def expected_sme_access(contracts, min_records) -> Rows:
    rows = Rows(min_records)
    for cell, members in by_cell(contracts).items():
        with_amount = [c for c in members if c.amount is not None]
        cell_amount = total(c.amount for c in with_amount)
        per_contract = [size_shares(c) for c in members]
        for size in SIZES:
            won = [shares[size] for shares in per_contract if size in shares]
            won_amounts = [amount for amount in won if amount is not None]
            amount_won = sum(won_amounts, Decimal(0))
            rows.ratio(("contract_share", *cell, size), len(won), len(members), len(members))
            rows.ratio(("value_share", *cell, size), amount_won, cell_amount, len(with_amount))
            rows.ratio(("mean_amount_eur", *cell, size), amount_won, len(won_amounts), len(won_amounts), digits=2)
        rows.ratio(("mean_amount_eur", *cell, "all"), cell_amount, len(with_amount), len(with_amount), digits=2)
    return rows


def expected_local_retention(contracts, min_records) -> Rows:
    rows = Rows(min_records)
    for cell, members in by_cell(contracts).items():
        located = [c for c in members if c.departement is not None]
        if not located:
            continue
        with_amount = [c for c in located if c.amount is not None]
        located_amount = total(c.amount for c in with_amount)
        for place in LOCATIONS:
            won = [c for c in located if any(loc == place for _, loc, _ in c.suppliers)]
            amount_won = total(share for c in located for _, loc, share in c.suppliers if loc == place) or Decimal(0)
            rows.ratio(("value_share", *cell, place), amount_won, located_amount, len(with_amount))
            rows.ratio(("contract_share", *cell, place), len(won), len(located), len(located))
    return rows


def expected_clauses(flag):
    def expected(contracts, min_records) -> Rows:
        rows = Rows(min_records)
        for cell, members in by_cell(contracts).items():
            known = [c for c in members if flag(c) is not None]
            known_with_amount = [c for c in known if c.amount is not None]
            with_flag_amount = total(c.amount for c in known_with_amount if flag(c)) or Decimal(0)
            rows.ratio(("contract_share", *cell), sum(1 for c in known if flag(c)), len(known), len(known),
                       available=bool(known))
            rows.ratio(("value_share", *cell), with_flag_amount, total(c.amount for c in known_with_amount),
                       len(known_with_amount), available=bool(known))
        return rows
    return expected


def expected_innovation(contracts, min_records) -> Rows:
    rows = Rows(min_records)
    for cell, members in by_cell(contracts).items():
        known = [c for c in members if c.is_innovative is not None]
        known_with_amount = [c for c in known if c.amount is not None]
        innovative = [c for c in known_with_amount if c.is_innovative]
        innovative_amount = total(c.amount for c in innovative) or Decimal(0)
        sme_amount = total(share for c in innovative for size, _, share in c.suppliers
                           if size in ("TPE", "PME")) or Decimal(0)
        known_amount = total(c.amount for c in known_with_amount)
        available = bool(known)
        rows.ratio(("innovative_value_share", *cell), innovative_amount, known_amount, len(known_with_amount),
                   available=available)
        rows.ratio(("innovative_sme_value_share", *cell), sme_amount, known_amount, len(known_with_amount),
                   available=available)
        rows.ratio(("sme_share_of_innovative_value", *cell), sme_amount, innovative_amount, len(innovative),
                   available=available)
    return rows


def expected_competition(contracts, min_records) -> Rows:
    rows = Rows(min_records)
    for cell, members in by_cell(contracts).items():
        with_offers = [c for c in members if c.offers is not None]
        open_with_offers = [c for c in with_offers if c.is_open]
        single_bids = sum(1 for c in open_with_offers if c.offers == 1)
        rows.ratio(("single_bid_share", *cell, "all"), single_bids, len(open_with_offers), len(open_with_offers),
                   available=bool(with_offers))
        rows.ratio(("mean_offers", *cell, "all"), total(c.offers for c in with_offers), len(with_offers),
                   len(with_offers), available=bool(with_offers), digits=2)
        with_amount = [c for c in members if c.amount is not None]
        for family in FAMILIES:
            rows.ratio(("procedure_mix_count_share", *cell, family), sum(1 for c in members if c.family == family),
                       len(members), len(members))
            rows.ratio(("procedure_mix_value_share", *cell, family),
                       total(c.amount for c in with_amount if c.family == family) or Decimal(0),
                       total(c.amount for c in with_amount), len(with_amount))
    return rows


EXPECTED = {
    "order_book": (expected_order_book, ["nature"]),
    "sme_access": (expected_sme_access, ["company_size"]),
    "local_retention": (expected_local_retention, ["supplier_location"]),
    "environmental_clauses": (expected_clauses(lambda c: c.environmental), []),
    "social_clauses": (expected_clauses(lambda c: c.social), []),
    "innovation": (expected_innovation, []),
    "competition": (expected_competition, ["procedure_family"]),
}


def published(url: str, model: str, breakdown: list[str]) -> dict[tuple, tuple]:
    keys = ["measure", "year", "territory_code", "buyer_category", *breakdown]
    rows = query(url, f"select {', '.join(keys)}, value, numerator, denominator, n, status from indicators.{model}")
    return {row[:len(keys)]: row[len(keys):] for row in rows}


def differences(expected: tuple, actual: tuple) -> bool:
    """Values may differ by one unit of their last decimal (rounding of a long quotient); the rest is exact."""
    (value, *rest), (found, *found_rest) = expected, actual
    if (value is None) != (found is None) or rest != found_rest:
        return True
    return value is not None and abs(value - found) > Decimal(10) ** value.as_tuple().exponent


# ---------------------------------------------------------------- tests

def test_build_passes_every_data_and_unit_test(built):
    _, _, _, result = built
    assert result.succeeded
    assert result.counts.get("fail", 0) == 0 and result.counts.get("error", 0) == 0


@pytest.mark.parametrize("model", MODELS)
def test_every_published_row_matches_the_recomputed_indicator(built, contracts, model):
    url, _, min_records, _ = built
    compute, breakdown = EXPECTED[model]
    expected = compute(contracts, min_records).rows
    actual = published(url, model, breakdown)
    assert set(actual) == set(expected)
    wrong = {key: (expected[key], actual[key]) for key in expected if differences(expected[key], actual[key])}
    assert not wrong, f"{len(wrong)} rows differ, e.g. {list(wrong.items())[:3]}"
    statuses = {row[-1] for row in actual.values()}
    assert "ok" in statuses and "insufficient data" in statuses


def test_order_book_region_total_adds_up_its_departements(built, contracts):
    url, _, _, _ = built
    region = dict(query(url, """
        select measure, value from indicators.order_book
        where year = 2024 and territory_code = '32' and buyer_category = 'all' and nature = 'all'"""))
    hdf_2024 = [c for c in contracts if c.hdf and c.year == 2024]
    assert region["contracts"] == len(hdf_2024) > 100
    assert region["amount_eur"] == sum(c.amount for c in hdf_2024 if c.amount is not None)
    departements = query(url, """
        select territory_code, value from indicators.order_book
        where year = 2024 and territory_level = 'departement' and measure = 'contracts'
          and buyer_category = 'all' and nature = 'all'""")
    assert {code for code, _ in departements} <= HDF_DEPARTEMENTS
    # a département below min_records has no value: count it from n
    counts = query(url, """
        select sum(n) from indicators.order_book
        where year = 2024 and territory_level = 'departement' and measure = 'contracts'
          and buyer_category = 'all' and nature = 'all'""")
    assert counts[0][0] == region["contracts"]


def test_small_cells_are_insufficient_data_never_a_number(built, contracts):
    url, _, min_records, _ = built
    rows = query(url, """
        select n, value, status from indicators.order_book
        where year = 2016 and territory_code = '32' and buyer_category = 'all' and nature = 'all'
          and measure = 'contracts'""")
    assert rows == [(sum(1 for c in contracts if c.hdf and c.year == 2016), None, "insufficient data")]
    assert 0 < rows[0][0] < min_records
    assert not query(url, """
        select 1 from indicators.sme_access where n < %s and (value is not null or status <> 'insufficient data')""",
                     min_records)


def test_2019_format_years_are_not_available_never_zero(built, contracts):
    url, _, _, _ = built
    region_2021 = [c for c in contracts if c.hdf and c.year == 2021]  # 2019-format records only
    assert region_2021 and all(c.environmental is None and c.offers is None for c in region_2021)
    for model, measure in [("environmental_clauses", "contract_share"), ("social_clauses", "value_share"),
                           ("innovation", "innovative_value_share")]:
        assert query(url, f"""
            select value, status, unknown_share from indicators.{model}
            where year = 2021 and territory_code = '32' and buyer_category = 'all' and measure = %s""",
                     measure) == [(None, "not available", Decimal("1.0000"))]
    assert query(url, """
        select value, status from indicators.competition
        where year = 2021 and territory_code = '32' and buyer_category = 'all' and measure = 'single_bid_share'""") \
        == [(None, "not available")]


def test_company_sizes_reach_the_indicator(built, contracts):
    """The SIRENE sizes written by the test split the 2024 regional value between every size."""
    url, _, _, _ = built
    shares = dict(query(url, """
        select company_size, value from indicators.sme_access
        where year = 2024 and territory_code = '32' and buyer_category = 'all' and measure = 'value_share'"""))
    assert all(shares[size] > 0 for size in ("TPE", "PME", "ETI", "GE", "unknown"))
    assert abs(sum(shares[size] for size in ("TPE", "PME", "ETI", "GE", "unknown")) - 1) <= Decimal("0.0005")
    assert abs(shares["TPE_PME"] - shares["TPE"] - shares["PME"]) <= Decimal("0.0002")


def test_local_retention_value_shares_add_up_to_one(built):
    url, _, _, _ = built
    sums = query(url, """
        select year, territory_code, buyer_category, sum(value) from indicators.local_retention
        where measure = 'value_share' and status = 'ok' group by 1, 2, 3""")
    assert sums and all(abs(total_share - 1) <= Decimal("0.0005") for *_, total_share in sums)
