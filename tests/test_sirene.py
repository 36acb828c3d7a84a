"""SIRENE loader: small stock files in the official column layout (CSV and Parquet), written here, are
filtered to a SIREN/SIRET set; kept and skipped counts, names masked under partial diffusion, the
identifiers read from the warehouse, and the legal category reaching the payment-delay fact."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest import sirene
from ingest.formats import dgp
from ingest.loader import load_file
from orcp.settings import get_settings
from orcp.transform import run_dbt
from tests.conftest import SAMPLE_DATA, shared_file

# Official headers of StockUniteLegale_utf8 and StockEtablissement_utf8 (INSEE, 2025 files).
UNIT_HEADER = (
    "siren,statutDiffusionUniteLegale,unitePurgeeUniteLegale,dateCreationUniteLegale,sigleUniteLegale,"
    "sexeUniteLegale,prenom1UniteLegale,prenom2UniteLegale,prenom3UniteLegale,prenom4UniteLegale,"
    "prenomUsuelUniteLegale,pseudonymeUniteLegale,identifiantAssociationUniteLegale,trancheEffectifsUniteLegale,"
    "anneeEffectifsUniteLegale,dateDernierTraitementUniteLegale,nombrePeriodesUniteLegale,categorieEntreprise,"
    "anneeCategorieEntreprise,dateDebut,etatAdministratifUniteLegale,nomUniteLegale,nomUsageUniteLegale,"
    "denominationUniteLegale,denominationUsuelle1UniteLegale,denominationUsuelle2UniteLegale,"
    "denominationUsuelle3UniteLegale,categorieJuridiqueUniteLegale,activitePrincipaleUniteLegale,"
    "nomenclatureActivitePrincipaleUniteLegale,nicSiegeUniteLegale,economieSocialeSolidaireUniteLegale,"
    "societeMissionUniteLegale,caractereEmployeurUniteLegale,activitePrincipaleNAF25UniteLegale").split(",")
ESTABLISHMENT_HEADER = (
    "siren,nic,siret,statutDiffusionEtablissement,dateCreationEtablissement,trancheEffectifsEtablissement,"
    "anneeEffectifsEtablissement,activitePrincipaleRegistreMetiersEtablissement,dateDernierTraitementEtablissement,"
    "etablissementSiege,nombrePeriodesEtablissement,complementAdresseEtablissement,numeroVoieEtablissement,"
    "indiceRepetitionEtablissement,dernierNumeroVoieEtablissement,indiceRepetitionDernierNumeroVoieEtablissement,"
    "typeVoieEtablissement,libelleVoieEtablissement,codePostalEtablissement,libelleCommuneEtablissement,"
    "libelleCommuneEtrangerEtablissement,distributionSpecialeEtablissement,codeCommuneEtablissement,"
    "codeCedexEtablissement,libelleCedexEtablissement,codePaysEtrangerEtablissement,"
    "libellePaysEtrangerEtablissement,identifiantAdresseEtablissement,coordonneeLambertAbscisseEtablissement,"
    "coordonneeLambertOrdonneeEtablissement,complementAdresse2Etablissement,numeroVoie2Etablissement,"
    "indiceRepetition2Etablissement,typeVoie2Etablissement,libelleVoie2Etablissement,codePostal2Etablissement,"
    "libelleCommune2Etablissement,libelleCommuneEtranger2Etablissement,distributionSpeciale2Etablissement,"
    "codeCommune2Etablissement,codeCedex2Etablissement,libelleCedex2Etablissement,codePaysEtranger2Etablissement,"
    "libellePaysEtranger2Etablissement,dateDebut,etatAdministratifEtablissement,enseigne1Etablissement,"
    "enseigne2Etablissement,enseigne3Etablissement,denominationUsuelleEtablissement,"
    "activitePrincipaleEtablissement,nomenclatureActivitePrincipaleEtablissement,caractereEmployeurEtablissement,"
    "activitePrincipaleNAF25Etablissement").split(",")

UNITS = [  # (siren, diffusion, category, staff band, legal category, denomination, surname, first name)
    ("216200055", "O", "", "11", "7210", "COMMUNE D'ACHIET LE GRAND", "", ""),
    ("200069029", "O", "", "32", "7348", "CA DES DEUX BAIES EN MONTREUILLOIS", "", ""),
    ("552032534", "O", "PME", "02", "5710", "ATELIER DU NORD", "", ""),
    ("732829320", "P", "PME", "NN", "1000", "", "DUPONT", "MARIE"),  # a sole trader who refused publication
    ("418527311", "O", "ETI", "42", "5710", "NORD TRAVAUX PUBLICS", "", ""),
    ("300000001", "O", "GE", "53", "5599", "GRANDE ENTREPRISE", "", ""),
    ("300000002", "O", "PME", "01", "5499", "PETITE SARL", "", ""),
    ("300000003", "P", "PME", "00", "1000", "", "MARTIN", "PAUL"),
]
ESTABLISHMENTS = [  # (siret, diffusion, head office, commune, postal code, trade name)
    ("55203253400019", "O", "false", "59350", "59000", "ATELIER LILLE"),
    ("55203253400027", "O", "true", "62041", "62000", ""),
    ("55203253400035", "O", "false", "80021", "80000", ""),
    ("73282932000014", "P", "true", "59512", "59100", "CHEZ MARIE DUPONT"),
    ("41852731100025", "O", "false", "02691", "02100", ""),
    ("30000000100011", "O", "true", "75056", "75001", ""),
    ("30000000200010", "O", "true", "59350", "59000", ""),
]
WANTED = ["216200055", "200069029", "552032534", "73282932000014", "41852731100025", "55203253400019"]


def _unit_row(siren, diffusion, category, band, legal, denomination, surname, first_name) -> dict[str, str]:
    row = dict.fromkeys(UNIT_HEADER, "")
    row.update(siren=siren, statutDiffusionUniteLegale=diffusion, categorieEntreprise=category,
               trancheEffectifsUniteLegale=band, categorieJuridiqueUniteLegale=legal,
               denominationUniteLegale=denomination, nomUniteLegale=surname, prenom1UniteLegale=first_name,
               prenomUsuelUniteLegale=first_name, etatAdministratifUniteLegale="A", nicSiegeUniteLegale="00019",
               dateCreationUniteLegale="2001-05-14", activitePrincipaleUniteLegale="43.99C",
               nomenclatureActivitePrincipaleUniteLegale="NAFRev2", nombrePeriodesUniteLegale="3")
    return row


def _establishment_row(siret, diffusion, head_office, commune, postal_code, trade_name) -> dict[str, str]:
    row = dict.fromkeys(ESTABLISHMENT_HEADER, "")
    row.update(siren=siret[:9], nic=siret[9:], siret=siret, statutDiffusionEtablissement=diffusion,
               etablissementSiege=head_office, codeCommuneEtablissement=commune, codePostalEtablissement=postal_code,
               enseigne1Etablissement=trade_name, etatAdministratifEtablissement="A",
               libelleVoieEtablissement="RUE DE LA GARE", numeroVoieEtablissement="12",
               dateCreationEtablissement="2010-01-01", trancheEffectifsEtablissement="02")
    return row


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _write_parquet(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    """As INSEE's Parquet files: typed dates, booleans and integers, nulls for empty values."""
    def typed(name: str, value: str):
        if value == "":
            return None
        if name.startswith("date") and len(value) == 10:
            return date.fromisoformat(value)
        if name == "etablissementSiege":
            return value == "true"
        if name.startswith("nombrePeriodes"):
            return int(value)
        return value
    columns = {name: [typed(name, row[name]) for row in rows] for name in header}
    pq.write_table(pa.table(columns), path, row_group_size=3)
    return path


def _unit_rows() -> list[dict[str, str]]:
    return [_unit_row(*unit) for unit in UNITS]


def _establishment_rows() -> list[dict[str, str]]:
    return [_establishment_row(*establishment) for establishment in ESTABLISHMENTS]


def _expected_kept(identifiers: sirene.Identifiers) -> tuple[set[str], set[str]]:
    units = {u[0] for u in UNITS if u[0] in identifiers.sirens}
    establishments = {e[0] for e in ESTABLISHMENTS
                      if e[0] in identifiers.sirets or (e[0][:9] in identifiers.sirens and e[2] == "true")}
    return units, establishments


def _query(url: str, sql: str, params: tuple | None = None) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def test_identifiers_normalise_sirets_and_sirens():
    wanted = sirene.Identifiers.from_values(["216 200 055", "732.829.320.00014", "12345", "", None, "ABC"])
    assert wanted.sirens == {"216200055", "732829320"} and wanted.sirets == {"73282932000014"}


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_stock_files_are_filtered_to_the_wanted_companies(warehouse_url, tmp_path, monkeypatch, file_format):
    monkeypatch.setattr(sirene, "PARQUET_BATCH_ROWS", 2)  # several batches even on a small file
    monkeypatch.setattr(sirene, "CSV_BLOCK_BYTES", 4096)
    write = _write_csv if file_format == "csv" else _write_parquet
    units_file = write(tmp_path / f"StockUniteLegale_utf8.{file_format}", UNIT_HEADER, _unit_rows())
    establishments_file = write(tmp_path / f"StockEtablissement_utf8.{file_format}", ESTABLISHMENT_HEADER,
                                _establishment_rows())
    wanted = sirene.Identifiers.from_values(WANTED)
    expected_units, expected_establishments = _expected_kept(wanted)
    assert (len(expected_units), len(expected_establishments)) == (5, 4)  # SIRET, SIREN of a SIRET, head office

    units = sirene.load(units_file, wanted, database_url=warehouse_url, extract_dir=tmp_path / "landing")
    establishments = sirene.load(establishments_file, wanted, database_url=warehouse_url,
                                 extract_dir=tmp_path / "landing")

    assert (units.kind, units.scanned, units.kept, units.skipped) == ("unite-legale", 8, 5, 3)
    assert (establishments.kind, establishments.scanned, establishments.kept) == ("etablissement", 7, 4)
    assert units.result.status == establishments.result.status == "loaded"
    assert {r[0] for r in _query(warehouse_url, "select record->>'siren' from raw.sirene_records"
                                                " where record_kind = 'unite-legale'")} == expected_units
    stored = dict(_query(warehouse_url, "select record->>'siret', record from raw.sirene_records"
                                        " where record_kind = 'etablissement'"))
    assert stored.keys() == expected_establishments
    source_rows = {row["siret"]: {k: v for k, v in row.items() if v} for row in _establishment_rows()}
    assert all(stored[siret] == source_rows[siret] for siret in stored)  # every column as the source had it


def test_extract_is_reloaded_when_the_wanted_set_grows(warehouse_url, tmp_path):
    units_file = _write_csv(tmp_path / "StockUniteLegale_utf8.csv", UNIT_HEADER, _unit_rows())
    first = sirene.load(units_file, sirene.Identifiers.from_values(WANTED), database_url=warehouse_url,
                        extract_dir=tmp_path)
    same = sirene.load(units_file, sirene.Identifiers.from_values(WANTED), database_url=warehouse_url,
                       extract_dir=tmp_path)
    larger = sirene.load(units_file, sirene.Identifiers.from_values(WANTED + ["300000001"]),
                         database_url=warehouse_url, extract_dir=tmp_path)
    assert [first.result.status, same.result.status, larger.result.status] == ["loaded", "skipped", "loaded"]
    assert larger.kept == first.kept + 1


def test_not_a_stock_file_is_refused(warehouse_url, tmp_path):
    path = _write_csv(tmp_path / "other.csv", ["siren", "nom"], [{"siren": "216200055", "nom": "X"}])
    with pytest.raises(sirene.SireneError, match="unite-legale file without column"):
        sirene.load(path, sirene.Identifiers.from_values(WANTED), database_url=warehouse_url, extract_dir=tmp_path)
    with pytest.raises(sirene.SireneError, match="no SIREN or SIRET to keep"):
        sirene.load(path, sirene.Identifiers.from_values([]), database_url=warehouse_url, extract_dir=tmp_path)


def test_identifiers_from_the_warehouse(warehouse_url):
    decp = SAMPLE_DATA / "decp2019_e-marchespublics_2019-04-03.json"
    payment_delays = shared_file("dgp/dgp_collectivites_2024_sample_transcribed.csv")
    assert load_file(decp, "sample", database_url=warehouse_url).status == "loaded"
    assert load_file(payment_delays, "dgfip-dgp", parser=dgp.parse, database_url=warehouse_url).status == "loaded"

    ids = [c["acheteur"]["id"] for c in json.loads(decp.read_text())["marches"]]
    ids += [t["id"] for c in json.loads(decp.read_text())["marches"] for t in c.get("titulaires", [])]
    ids += [m_t["id"] for c in json.loads(decp.read_text())["marches"] for m in c.get("modifications", [])
            for m_t in m.get("titulaires", [])]
    with payment_delays.open(newline="") as stream:
        ids += [row["siret"] for row in csv.DictReader(stream)]
    # A tabular row as the ministry CSV export flattens it (first row of the real MINEF sample).
    with shared_file("decp_tabular/minef_decp_v3_marches_valides_sample_2024.csv").open(encoding="utf-8-sig") as stream:
        tabular = next(csv.DictReader(stream, delimiter=";"))
    with psycopg.connect(warehouse_url) as conn:
        load_id = conn.execute("insert into meta.loads (source, file_name, status) values ('test', 'minef.csv',"
                               " 'loaded') returning load_id").fetchone()[0]
        conn.execute("insert into raw.decp_tabular_rows values (%s, 1, 'test', 'minef.csv', 'minef-csv', 'row', %s)",
                     (load_id, json.dumps(tabular)))
    ids += [tabular["titulaire_id_1"], tabular["acheteur.id"]]  # titulaire_id_2 is the marker "CDL"
    expected = sirene.Identifiers.from_values(ids)

    found = sirene.identifiers_from_warehouse(warehouse_url)
    assert found == expected
    assert {"21620005500012", "35043845300028", "20006810400013"} <= found.sirets and len(found.sirens) > 100


def test_staging_masks_restricted_names_and_feeds_the_payment_delay_category(warehouse_url, tmp_path, monkeypatch):
    wanted = sirene.Identifiers.from_values(WANTED + ["300000003"])
    for path, header, rows in ((tmp_path / "StockUniteLegale_utf8.csv", UNIT_HEADER, _unit_rows()),
                               (tmp_path / "StockEtablissement_utf8.csv", ESTABLISHMENT_HEADER,
                                _establishment_rows())):
        assert sirene.load(_write_csv(path, header, rows), wanted, database_url=warehouse_url,
                           extract_dir=tmp_path / "landing").result.status == "loaded"
    dgp_file = shared_file("dgp/dgp_collectivites_2024_sample_transcribed.csv")
    assert load_file(dgp_file, "dgfip-dgp", parser=dgp.parse, database_url=warehouse_url).status == "loaded"
    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path / "orcp-data"))
    get_settings.cache_clear()
    result = run_dbt(["build", "--select", "+stg_sirene__establishments +fct_payment_delays"], warehouse_url)
    assert result.succeeded, result.describe()

    units = {row[0]: row[1:] for row in _query(
        warehouse_url, "select siren, legal_unit_name, is_name_restricted, company_size, is_micro_status_unknown"
                       " from staging.stg_sirene__legal_units")}
    assert units == {
        "216200055": ("COMMUNE D'ACHIET LE GRAND", False, "unknown", False),
        "200069029": ("CA DES DEUX BAIES EN MONTREUILLOIS", False, "unknown", False),
        "552032534": ("ATELIER DU NORD", False, "TPE", False),
        "732829320": (None, True, "PME", True),
        "418527311": ("NORD TRAVAUX PUBLICS", False, "ETI", False),
        "300000003": (None, True, "TPE", False),
    }
    # The raw rows hold the names (as INSEE sent them); no column of the staging views shows them.
    assert _query(warehouse_url, "select count(*) from raw.sirene_records where record::text like '%DUPONT%'") \
        == [(2,)]
    for view in ("stg_sirene__legal_units", "stg_sirene__establishments"):
        exposed = _query(warehouse_url, f"select count(*) from staging.{view} v"
                                        " where v::text ~* '(dupont|martin|marie)'")
        assert exposed == [(0,)], view
    establishments = {row[0]: row[1:] for row in _query(
        warehouse_url, "select siret, establishment_name, department_code, is_head_office"
                       " from staging.stg_sirene__establishments")}
    assert establishments["73282932000014"] == (None, "59", True)
    assert establishments["55203253400019"] == ("ATELIER LILLE", "59", False)

    # The legal category from SIRENE decides the DGP entity category over the budget type.
    categories = dict(_query(warehouse_url, "select siren, entity_category || ' / ' || category_source"
                                            " from marts.fct_payment_delays where siren in ('200069029', '216200055')"))
    assert categories == {"200069029": "epci / legal category", "216200055": "commune / legal category"}
