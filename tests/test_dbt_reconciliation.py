"""The load reconciliation: every raw record is in the marts, rejected (with a reason) or a duplicate (of a
named record), and the dbt test on marts.rpt_decp_load_reconciliation fails as soon as one goes missing.

Variants of a real file are built at test time: the e-marchespublics file published again with one more
modification on two contracts, and the Croix file with three records stripped of their buyer.
"""

from __future__ import annotations

import copy
import json
from collections import Counter

import psycopg
import pytest

from ingest.loader import load_file
from orcp import transform
from tests.conftest import shared_file

SELECTION = "+rpt_decp_load_reconciliation +fct_contract_suppliers +dim_supplier +agg_contracts_by_year_and_nature ref_quality_flags"
RECONCILIATION_TEST = "assert_rows_rpt_decp_load_reconciliation"


def query(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def execute(url: str, sql: str, *params) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, params)


def unique_key_records(records: list[dict], count: int) -> list[dict]:
    """The first records whose buyer + id appear once in the file (so that each is a contract of its own)."""
    keys = Counter((r["acheteur"]["id"], r["id"]) for r in records)
    return [r for r in records if keys[(r["acheteur"]["id"], r["id"])] == 1][:count]


@pytest.fixture(scope="module")
def loaded(module_warehouse_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("variants")
    original = shared_file("decp_real/decp2019_e-marchespublics_2019-04-03.json")
    croix = shared_file("decp_real/decp2019_marches-securises_ville-de-croix-59_2019-2021.json")

    republished = copy.deepcopy(unique_key_records(json.loads(original.read_text())["marches"], 10))
    for record in republished[:2]:
        record["modifications"] = [{"objetModification": "Avenant 1", "montant": 1.1 * record["montant"],
                                    "dateNotificationModification": "2019-03-01",
                                    "datePublicationDonneesModification": "2019-03-05"}]
    republished_path = folder / "republished.json"
    republished_path.write_text(json.dumps({"marches": republished}, ensure_ascii=False))

    croix_records = json.loads(croix.read_text())["marches"]
    for record in croix_records[:3]:
        del record["acheteur"]
    croix_path = folder / "croix_without_buyers.json"
    croix_path.write_text(json.dumps({"marches": croix_records}, ensure_ascii=False))

    loads = {path.name: load_file(path, "test", database_url=module_warehouse_url)
             for path in (original, republished_path, croix_path)}
    assert all(result.status == "loaded" for result in loads.values())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ORCP_DATA_DIR", str(tmp_path_factory.mktemp("orcp-data")))
        from orcp.settings import get_settings
        get_settings.cache_clear()
        first_build = transform.run_dbt(["build", "--select", SELECTION], module_warehouse_url)
        yield module_warehouse_url, {name: result.load_id for name, result in loads.items()}, first_build, patch
        get_settings.cache_clear()


def reconciliation(url: str) -> dict[int, tuple]:
    rows = query(url, "select load_id, loaded_records, raw_records, records_in_marts, records_rejected,"
                      " records_duplicated, unaccounted_records from marts.rpt_decp_load_reconciliation")
    return {row[0]: row[1:] for row in rows}


def test_records_are_in_marts_rejected_or_duplicates(loaded):
    url, loads, first_build, _ = loaded
    assert first_build.succeeded, first_build.describe()
    report = reconciliation(url)
    original = loads["decp2019_e-marchespublics_2019-04-03.json"]
    records = json.loads(shared_file("decp_real/decp2019_e-marchespublics_2019-04-03.json").read_text())["marches"]
    # buyers reuse one id for several lots: in the file itself, all but one record of an id are duplicates
    in_file_duplicates = len(records) - len({(r["acheteur"]["id"], r["id"]) for r in records})
    # the 10 contracts published again: the later load wins the ties, the richer publication wins outright
    assert report[original][4] == in_file_duplicates + 10 and in_file_duplicates > 0
    assert report[loads["republished.json"]] == (10, 10, 10, 0, 0, 0)
    assert report[original][0] == 470 and report[original][5] == 0
    croix = report[loads["croix_without_buyers.json"]]
    assert croix[0] == 159 and croix[3] == 3 and croix[5] == 0
    assert query(url, """
        select rejection_reason, count(*) from intermediate.int_decp__record_dispositions
        where disposition = 'rejected' group by 1""") == [("buyer_id_missing", 3)]


def test_modification_in_a_later_file_makes_a_new_current_version(loaded):
    url, loads, _, _ = loaded
    rows = query(url, """
        select m.version_index, m.is_current, m.source_record_id / 10000000000
        from marts.fct_contract_modifications m
        join marts.fct_contracts c on c.contract_sk = m.contract_sk
        where c.source_record_id / 10000000000 = %s and c.modifications = 1
        order by c.contract_key, m.version_index""", loads["republished.json"])
    assert [(r[0], r[1]) for r in rows] == [(0, False), (1, True)] * 2
    assert {r[2] for r in rows} == {loads["republished.json"]}
    duplicates = query(url, """
        select d.duplicate_reason, d.duplicate_of_record_id / 10000000000 from intermediate.int_decp__record_dispositions d
        where d.disposition = 'duplicate' and d.duplicate_of_record_id / 10000000000 <> d.record_id / 10000000000""")
    assert Counter(duplicates) == Counter({("published_again", loads["republished.json"]): 10})


def test_reconciliation_fails_when_a_kept_version_vanishes_in_the_pipeline(loaded):
    url, loads, _, _ = loaded
    original = loads["decp2019_e-marchespublics_2019-04-03.json"]
    record_id = query(url, """
        select min(record_id) from intermediate.int_decp__contract_versions
        where record_id / 10000000000 = %s""", original)[0][0]
    for part in (1, 2):  # the view int_decp__contract_versions unites two tables: the record is in one of them
        execute(url, f"delete from intermediate.int_decp__contract_versions_part_{part} where record_id = %s", record_id)
    # the marts are incremental: rebuilt in full, fct_contract_modifications reads the damaged table again
    result = transform.run_dbt(["build", "--full-refresh", "--select",
                                "fct_contract_modifications rpt_decp_load_reconciliation"], url)
    assert not result.succeeded
    assert any(RECONCILIATION_TEST in failure for failure in result.failures), result.failures
    assert reconciliation(url)[original][5] == 1  # one record unaccounted for


def test_reconciliation_fails_when_a_raw_row_vanishes_even_after_a_full_rebuild(loaded):
    url, loads, _, _ = loaded
    croix = loads["croix_without_buyers.json"]
    execute(url, "delete from raw.decp_records where load_id = %s and record_number = 50", croix)
    result = transform.run_dbt(["build", "--select", SELECTION], url)
    assert not result.succeeded
    assert [f for f in result.failures if RECONCILIATION_TEST in f]
    loaded_records, raw_records, *_, unaccounted = reconciliation(url)[croix]
    assert (loaded_records, raw_records, unaccounted) == (159, 158, 1)


def test_reconciliation_fails_on_raw_rows_of_a_load_that_is_not_loaded(loaded):
    """raw.decp_records has no foreign key to meta.loads (its check slowed COPY): the reconciliation
    catches raw rows whose load did not end 'loaded'."""
    url, loads, _, _ = loaded
    original = loads["decp2019_e-marchespublics_2019-04-03.json"]
    execute(url, "update meta.loads set status = 'failed' where load_id = %s", original)
    try:
        result = transform.run_dbt(["build", "--select", "rpt_decp_load_reconciliation"], url)
        assert not result.succeeded
        assert [f for f in result.failures if RECONCILIATION_TEST in f]
        loaded_records, raw_records, *_ = reconciliation(url)[original]
        assert (loaded_records, raw_records) == (0, 470)
    finally:
        execute(url, "update meta.loads set status = 'loaded' where load_id = %s", original)
