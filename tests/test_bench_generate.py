"""The synthetic DECP generator: files parse, counts in the summary match what the file holds.

Quirks, duplicates, modifications and Hauts-de-France records are re-counted here from the file
with rules written independently of the generator (own Luhn check, own date and amount tests).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bench.generate import (
    HDF_SHARE_BAND,
    LAYOUTS,
    QUIRKS,
    REFERENCE_DATE,
    TABULAR_COLUMNS,
    generate,
)
from ingest.formats import open_records
from tests.conftest import PROJECT_ROOT, shared_file

RECORDS = 2_000
SEED = 11
QUIRK_SCALE = 10  # every quirk shows up in a small file
HDF_DEPARTEMENTS = {"02", "59", "60", "62", "80"}
REFERENCE = REFERENCE_DATE.isoformat()
SIRET_TYPES = {"SIRET", "Siret", "siret", ""}
NATURES = {"decp-2019": {"Marché", "Accord-cadre", "Marché subséquent", "Marché de partenariat"},
           "decp-v2": {"Marché", "Marché de partenariat", "Marché de défense ou de sécurité"}}
NATURES["tabular"] = NATURES["decp-2019"] | NATURES["decp-v2"]
PROCEDURES = {"Procédure adaptée", "Appel d'offres ouvert", "Appel d'offres restreint",
              "Procédure avec négociation", "Dialogue compétitif",
              "Marché passé sans publicité ni mise en concurrence préalable"}
TYPE_CODES = {"Code postal", "Code commune", "Code arrondissement", "Code canton",
              "Code département", "Code région", "Code pays"}
ALWAYS_SOMEWHERE = {  # quirks each layout must show at QUIRK_SCALE
    "decp-2019": set(QUIRKS) - {"boolean_as_string", "type_prix_unwrapped"},
    "decp-v2": set(QUIRKS) - {"key_trailing_space", "flat_dotted_key", "titulaires_nested_lists"},
    "tabular": set(QUIRKS) - {"date_tz_suffix", "amount_as_string", "duration_nc",
                              "duration_as_string", "type_identifiant_variant",
                              "key_trailing_space", "flat_dotted_key", "titulaires_nested_lists",
                              "boolean_as_string", "type_prix_unwrapped"},
}


def luhn(number: str) -> bool:
    digits = [int(char) for char in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * digit, 10)) for digit in digits[1::2])
    return total % 10 == 0


def siret_quirk(identifier: str) -> str | None:
    if len(identifier) == 14 and identifier.isdigit():
        return None if luhn(identifier) else "siret_luhn_invalid"
    return {9: "siret_9_chars", 13: "siret_13_chars", 15: "siret_15_chars",
            17: "siret_17_chars"}[len(identifier)]


def repeated_digits(amount: float) -> bool:
    text = str(int(amount))
    return amount == int(amount) and len(text) >= 6 and len(set(text)) == 1


def date_quirk(notified: str | None, published: str) -> str | None:
    if not notified:
        return "date_missing"
    if re.search(r"[+-]\d\d:\d\d$", notified):
        return "date_tz_suffix"
    if int(notified[:4]) < 1900:
        return "date_impossible_year"
    if notified > REFERENCE:
        return "date_future"
    return "date_publication_before_notification" if published < notified else None


def amount_quirk(amount) -> str | None:
    if isinstance(amount, str):
        return "amount_as_string"
    if amount == 0:
        return "amount_zero"
    if amount == 999_999_999:
        return "amount_placeholder_999999999"
    if amount > 3e9:
        return "amount_over_3bn"
    return "amount_repeated_digits" if repeated_digits(amount) else None


def cpv_quirk(code: str) -> str | None:
    if code != code.rstrip():
        return "cpv_trailing_space"
    if re.fullmatch(r"\d{7}", code):
        return "cpv_7_digits"
    if re.fullmatch(r"\d{8}", code):
        return "cpv_without_check_digit"
    assert re.fullmatch(r"\d{8}-\d", code), code
    return None


def is_hdf_place(code: str, type_code: str) -> bool:
    kind = type_code.lower()
    if "gion" in kind:
        return code == "32"
    if "part" in kind:
        return code in HDF_DEPARTEMENTS
    return code[:2] in HDF_DEPARTEMENTS


def without_zeros(quirks: Counter) -> dict[str, int]:
    return {name: count for name, count in quirks.items() if name and count}


def unwrap(entries: list, key: str) -> list[dict]:
    """Titulaire entries, whatever their nesting ({"titulaire": {...}}, lists of lists)."""
    flat = []
    for entry in entries:
        if isinstance(entry, list):
            flat.extend(unwrap(entry, key))
        else:
            flat.append(entry.get(key, entry))
    return flat


# -- counting from JSON files --------------------------------------------------------------------

def json_items(document: dict, layout: str) -> list[tuple[str, dict]]:
    marches = document["marches"]
    if layout == "decp-2019":
        return [("marche" if item["_type"] == "Marché" else "contrat-concession", item)
                for item in marches]
    return [(kind, item) for kind in ("marche", "contrat-concession") for item in marches[kind]]


def buyer_id(item: dict) -> str:
    party = item.get("acheteur") or item.get("autoriteConcedante")
    return party["id"] if party else item["acheteur.id"]


def count_json(document: dict, layout: str) -> dict:
    quirks, counts = Counter(), Counter()
    sources: dict[tuple, list[str]] = {}
    for kind, item in json_items(document, layout):
        counts[kind] += 1
        key = (buyer_id(item), re.sub(r"[\s./]", "", item["id"]))
        sources.setdefault(key, []).append(item["source"])
        if not luhn(buyer_id(item)):
            quirks["buyer_siret_luhn_invalid"] += 1
        lieu = item.get("lieuExecution")
        if lieu:
            hdf = is_hdf_place(lieu["code"], lieu["typeCode"])
            counts["hdf_records"] += hdf
            counts["hdf_marches"] += hdf and kind == "marche"
        wrapper = "titulaire" if kind == "marche" else "concessionnaire"
        parties = item.get("titulaires", item.get("concessionnaires"))
        entries = unwrap(parties, wrapper)
        counts["several_titulaires"] += len(entries) > 1
        modifications = unwrap(item["modifications"], "modification")
        counts["modifications"] += len(modifications)
        counts["records_with_modifications"] += bool(modifications)
        for modification in modifications:
            nested = modification.get("titulaires")
            if nested is not None:
                quirks["titulaires_nested_lists"] += isinstance(nested[0], list)
                entries += unwrap(nested, wrapper)
        for entry in entries:
            if entry["typeIdentifiant"] in SIRET_TYPES:
                quirks["type_identifiant_variant"] += entry["typeIdentifiant"] != "SIRET"
                quirks[siret_quirk(entry["id"])] += 1
        if kind == "marche":
            count_marche_quirks(item, layout, quirks)
    counts["duplicates"] = sum(map(len, sources.values())) - len(sources)
    counts["copies_from_one_source"] = sum(len(set(found)) < len(found)
                                           for found in sources.values())
    return {"quirks": without_zeros(quirks), **counts}


def count_marche_quirks(item: dict, layout: str, quirks: Counter) -> None:
    quirks[date_quirk(item.get("dateNotification"), item["datePublicationDonnees"])] += 1
    quirks[amount_quirk(item["montant"])] += 1
    duration = item.get("dureeMois")
    quirks["duration_missing" if duration is None else "duration_nc" if duration == "NC"
           else "duration_as_string" if isinstance(duration, str) else None] += 1
    quirks[cpv_quirk(item["codeCPV"])] += 1
    quirks["nature_variant"] += item["nature"] not in NATURES[layout]
    quirks["procedure_variant"] += item["procedure"] not in PROCEDURES
    quirks["type_code_variant"] += item["lieuExecution"]["typeCode"] not in TYPE_CODES
    quirks["objet_mojibake"] += "Ã©" in item["objet"] or "\ufffd" in item["objet"]
    quirks["no_titulaire"] += not item["titulaires"]
    quirks["key_trailing_space"] += any(key != key.strip() for key in item["lieuExecution"])
    quirks["flat_dotted_key"] += "acheteur.id" in item
    quirks["boolean_as_string"] += any(
        isinstance(item.get(key), str)
        for key in ("marcheInnovant", "attributionAvance", "sousTraitanceDeclaree"))
    quirks["type_prix_unwrapped"] += "typePrix" in item


# -- counting from tabular files -----------------------------------------------------------------

def count_tabular(rows: list[dict]) -> dict:
    """Counts from CSV rows (every value a string, "" for none)."""
    quirks, counts = Counter(), Counter()
    records, initial_titulaires, modifications = set(), Counter(), set()
    for row in rows:
        record = (row["uid"], row["sourceDataset"])
        records.add(record)
        number = int(row["modification_id"])
        if number == 0:
            initial_titulaires[record] += 1
        else:
            modifications.add((*record, number))
        if row["acheteur_region_code"] == "32":
            counts["hdf_rows"] += 1
        quirks[date_quirk(row["dateNotification"], row["datePublicationDonnees"])] += 1
        quirks[amount_quirk(float(row["montant"]))] += 1
        quirks["duration_missing"] += row["dureeMois"] == ""
        quirks[cpv_quirk(row["codeCPV"])] += 1
        quirks["nature_variant"] += row["nature"] not in NATURES["tabular"]
        quirks["procedure_variant"] += row["procedure"] not in PROCEDURES
        quirks["type_code_variant"] += row["lieuExecution_typeCode"] not in TYPE_CODES
        quirks["objet_mojibake"] += "Ã©" in row["objet"] or "\ufffd" in row["objet"]
        quirks["buyer_siret_luhn_invalid"] += not luhn(row["acheteur_id"])
        quirks["no_titulaire"] += row["titulaire_id"] == ""
        if row["titulaire_typeIdentifiant"] == "SIRET":
            quirks[siret_quirk(row["titulaire_id"])] += 1
    hdf_records = {(row["uid"], row["sourceDataset"]) for row in rows
                   if row["acheteur_region_code"] == "32"}
    return {"quirks": without_zeros(quirks), "records": len(records), "rows": len(rows),
            "duplicates": len(records) - len({uid for uid, _ in records}),
            "hdf_records": len(hdf_records), "hdf_rows": counts["hdf_rows"],
            "modifications": len(modifications),
            "records_with_modifications": len({m[:2] for m in modifications}),
            "several_titulaires": sum(count > 1 for count in initial_titulaires.values())}


def csv_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def parquet_rows_typed_like(path: Path, text_rows: list[dict]) -> tuple[list, list]:
    """(Parquet rows, CSV rows converted to the Parquet column types), to compare the layouts."""
    table = pq.read_table(path)
    kinds = {field.name: str(field.type) for field in table.schema}
    convert = {"double": float, "int64": int, "bool": lambda text: text == "true",
               "date32[day]": date.fromisoformat}

    def typed(name: str, text: str):
        if kinds[name] == "string":
            return text
        return convert[kinds[name]](text) if text else None

    parquet = [{name: "" if value is None and kinds[name] == "string" else value
                for name, value in row.items()} for row in table.to_pylist()]
    return parquet, [{name: typed(name, text) for name, text in row.items()} for row in text_rows]


# -- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scaled(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """Each layout generated once with every quirk rate scaled up."""
    folder = tmp_path_factory.mktemp("bench")
    files = {}
    for layout in LAYOUTS:
        path = folder / f"decp.{layout}"
        files[layout] = path, generate(path, RECORDS, layout, SEED, quirk_scale=QUIRK_SCALE)
    return files


# -- tests ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["decp-2019", "decp-v2"])
def test_json_counts_match_the_summary(scaled, layout):
    path, summary = scaled[layout]
    document = json.loads(path.read_bytes())
    counted = count_json(document, layout)

    assert summary == json.loads(Path(f"{path}.summary.json").read_bytes())
    assert summary["bytes"] == path.stat().st_size
    assert summary["records"] == summary["rows"] == RECORDS
    assert (counted["marche"], counted["contrat-concession"]) == (
        summary["marches"], summary["concessions"]) == (RECORDS - 20, 20)
    assert counted["duplicates"] == summary["duplicates"] > 0
    assert counted["copies_from_one_source"] == 0  # duplicates come from other platforms
    assert counted["hdf_marches"] == summary["hdf_marches"]
    if layout == "decp-2019":  # v2 concessions have no place of execution
        assert counted["hdf_records"] == summary["hdf_records"]
    assert counted["modifications"] == summary["modifications"] > 0
    assert counted["records_with_modifications"] == summary["records_with_modifications"]
    assert counted["several_titulaires"] == summary["records_with_several_titulaires"] > 0
    assert counted["quirks"] == {name: count for name, count in summary["quirks"].items() if count}
    assert {name for name, count in summary["quirks"].items() if count} == ALWAYS_SOMEWHERE[layout]


@pytest.mark.parametrize("layout", ["decp-2019", "decp-v2"])
def test_json_is_read_by_the_ingest_parser(scaled, layout):
    path, summary = scaled[layout]
    parsed = open_records(path)
    kinds = Counter(record.kind for record in parsed.records)
    assert kinds == {"marche": summary["marches"], "contrat-concession": summary["concessions"]}


def test_tabular_counts_match_the_summary(scaled):
    path, summary = scaled["tabular-csv"]
    with path.open(encoding="utf-8", newline="") as stream:
        assert tuple(next(csv.reader(stream))) == TABULAR_COLUMNS
    rows = csv_rows(path)
    counted = count_tabular(rows)

    assert summary == json.loads(Path(f"{path}.summary.json").read_bytes())
    assert summary["bytes"] == path.stat().st_size
    assert counted["records"] == summary["records"] == summary["marches"] == RECORDS
    assert counted["rows"] == summary["rows"] > RECORDS
    assert counted["duplicates"] == summary["duplicates"] > 0
    assert counted["hdf_records"] == summary["hdf_records"]
    assert counted["hdf_rows"] == summary["hdf_rows"]
    assert counted["modifications"] == summary["modifications"] > 0
    assert counted["records_with_modifications"] == summary["records_with_modifications"]
    assert counted["several_titulaires"] == summary["records_with_several_titulaires"] > 0
    assert counted["quirks"] == {name: count for name, count in summary["quirks"].items() if count}
    present = {name for name, count in summary["quirks"].items() if count}
    assert present == ALWAYS_SOMEWHERE["tabular"]


def test_parquet_holds_the_csv_rows_with_types(scaled):
    csv_path, csv_summary = scaled["tabular-csv"]
    parquet_path, parquet_summary = scaled["tabular-parquet"]
    table = pq.read_table(parquet_path)
    assert table.num_rows == parquet_summary["rows"]
    types = {field.name: str(field.type) for field in table.schema}
    assert types["acheteur_id"] == types["lieuExecution_code"] == "string"  # leading zeros kept
    assert (types["montant"], types["dateNotification"], types["donneesActuelles"]) == (
        "double", "date32[day]", "bool")
    parquet, from_csv = parquet_rows_typed_like(parquet_path, csv_rows(csv_path))
    assert parquet == from_csv
    same = {key for key in csv_summary if key not in ("path", "layout", "bytes")}
    assert {key: parquet_summary[key] for key in same} == {key: csv_summary[key] for key in same}


def test_tabular_columns_are_those_of_the_decp_info_table_schema():
    schema = json.loads(shared_file(
        "decp_tabular/decp_processing_tableschema_schema_base.json").read_bytes())
    assert TABULAR_COLUMNS == tuple(field["name"] for field in schema["fields"])


def test_v2_lists_are_wrapped_as_in_the_official_examples(scaled):
    path, _ = scaled["decp-v2"]
    marches = json.loads(path.read_bytes())["marches"]
    for item in marches["marche"]:
        assert all(set(entry) == {"titulaire"} for entry in item["titulaires"])
        assert set(item["considerationsSociales"]) == {"considerationSociale"}
        assert set(item["considerationsEnvironnementales"]) == {"considerationEnvironnementale"}
        assert set(item["techniques"]) == {"technique"}
        assert all(set(entry) == {"modification"} for entry in item["modifications"])
        assert isinstance(item["offresRecues"], int)
    for item in marches["contrat-concession"]:
        assert all(set(entry) == {"concessionnaire"} for entry in item["concessionnaires"])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_same_seed_gives_the_same_bytes(tmp_path, layout):
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(first, 300, layout, seed=5)
    generate(second, 300, layout, seed=5)
    generate(other, 300, layout, seed=6)
    digest = [hashlib.sha256(path.read_bytes()).hexdigest() for path in (first, second, other)]
    assert digest[0] == digest[1] != digest[2]


def test_default_rates_look_like_the_national_data(tmp_path):
    path = tmp_path / "decp.json"
    summary = generate(path, RECORDS, "decp-2019", SEED)
    document = json.loads(path.read_bytes())
    counted = count_json(document, "decp-2019")
    low, high = HDF_SHARE_BAND
    assert low <= counted["hdf_records"] / RECORDS <= high
    assert counted["hdf_records"] == summary["hdf_records"]
    assert 0.02 <= counted["duplicates"] / RECORDS <= 0.06
    assert counted["quirks"] == {name: count for name, count in summary["quirks"].items() if count}
    amounts = sorted(item["montant"] for item in document["marches"]
                     if isinstance(item.get("montant"), (int, float)) and 0 < item["montant"] < 3e9)
    assert 20_000 <= amounts[len(amounts) // 2] <= 150_000  # median of a log-normal near 54,000
    several = counted["several_titulaires"] / RECORDS
    assert 0.04 <= several <= 0.12
    sources = Counter(item["source"] for item in document["marches"])
    assert len(sources) > 5


def test_command_line_writes_the_file_and_its_summary(tmp_path):
    out = tmp_path / "decp.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.generate", "--records", "150", "--layout", "decp-v2",
         "--seed", "3", "--out", str(out)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    summary = json.loads(result.stdout)
    assert summary == json.loads(Path(f"{out}.summary.json").read_bytes())
    document = json.loads(out.read_bytes())
    marches = document["marches"]
    assert len(marches["marche"]) + len(marches["contrat-concession"]) == 150


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown layout 'xml'"):
        generate(tmp_path / "x", 10, "xml")
    with pytest.raises(ValueError, match="at least 1"):
        generate(tmp_path / "x", 0, "decp-2019")
    with pytest.raises(FileNotFoundError, match="cog_2025_communes_dep_reg.csv"):
        generate(tmp_path / "x", 10, "decp-2019", reference_dir=tmp_path)
    assert not (tmp_path / "x").exists()
