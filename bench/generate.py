"""Synthetic national-scale DECP input, deterministic from a seed, for benchmarks and load tests.

Usage::

    python -m bench.generate --records 1000000 --layout decp-2019 --seed 1 --out /tmp/decp.json
    python -m bench.generate --records 2000 --layout tabular-parquet --out /tmp/decp.parquet

or, from Python, ``generate(path, records, layout, seed)``. Layouts:

- ``decp-2019``: ``{"marches": [...]}`` as in the 2019 format (schema 1.5), marchés then a few
  ``"Contrat de concession"`` items;
- ``decp-v2``: ``{"marches": {"marche": [...], "contrat-concession": [...]}}`` with wrapped lists
  (``titulaires: [{"titulaire": {...}}]``,
  ``considerationsSociales: {"considerationSociale": [...]}``);
- ``tabular-csv`` / ``tabular-parquet``: the decp.info consolidated table (58 columns of its Table
  Schema), one row per contract x supplier x modification, marchés only.

Every layout carries the quirks of the real files at the rates set below: missing, offset,
impossible and future dates, placeholder amounts, amounts and durations as strings, CPV variants,
enum variants, malformed SIRETs, mojibake, odd keys, duplicates across platforms, modifications,
several titulaires. Quirks that a typed table cannot hold (strings in number columns, "+02:00" date
suffixes, JSON key shapes) only occur in the JSON layouts. ``records`` counts the contract items
written, duplicates included; a tabular file has more rows than records.

The file is written as a stream (memory does not depend on ``records``) and a summary of what was
written is saved next to it as ``<out>.summary.json``, so that a benchmark or a test can reconcile
its counts: records, rows, bytes, duplicates, Hauts-de-France records and the number of
occurrences of every quirk. Occurrence units: record-level quirks count once per contract item
(JSON) or per row (tabular); SIRET quirks and ``type_identifiant_variant`` count once per
titulaire or concessionnaire entry (JSON, including those inside modifications) or per row.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from bench import pools
from bench.pools import Buyer, Cpv, Supplier, cumulative, draw_from, skewed_pick

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE_DIR = PROJECT_ROOT.parent / "shared" / "data" / "reference"
LAYOUTS = ("decp-2019", "decp-v2", "tabular-csv", "tabular-parquet")
DEFAULT_RECORDS = 1_000_000
# "Today" of the synthetic data: a notification date after it is a future date.
REFERENCE_DATE = date(2026, 1, 31)

# ---------------------------------------------------------------------------------------------
# Shares and quirk rates. Real measurements: decp_real (862 records of three platforms),
# decp_quirks, the decp.info extract and DATA.md. A few platforms cause most quirks, so national
# rates are lower than in the single-platform files.
# ---------------------------------------------------------------------------------------------
HDF_SHARE = 0.075  # Hauts-de-France buyers: 10-25k of 200-260k contracts a year (DATA.md)
HDF_SHARE_BAND = (0.05, 0.10)
CONCESSION_SHARE = 0.01  # contrats de concession among JSON items (marchés only in tabular)
DUPLICATE_RATE = 0.04  # items that repeat an earlier contract from another platform (3-5 %)
DUPLICATE_DIFFERENCE_RATE = 0.5  # of which carry small differences (case, id separators, types)
DUPLICATE_WINDOW = 5_000  # recent contracts a duplicate is drawn from (bounds memory)
MODIFICATION_RATE = 0.06  # contracts with 1-3 modifications (33 of 862 real records, more later)
TITULAIRE_COUNT_WEIGHTS = {1: 0.92, 2: 0.05, 3: 0.03}  # real: 93 % / 3 % / 1.5 % / rare more
LOCAL_SUPPLIER_RATE = 0.55  # titulaire drawn among the suppliers of the buyer's region
OTHER_PLACE_RATE = 0.15  # place of execution elsewhere in the buyer's département
BUYER_SIRET_LUHN_INVALID_RATE = 0.003  # share of buyers whose SIRET fails the Luhn check
SUPPLIER_SIRET_QUIRK_RATES = {  # share of French suppliers whose published SIRET is malformed
    "siret_luhn_invalid": 0.010,
    "siret_9_chars": 0.003,  # SIREN only
    "siret_13_chars": 0.002,  # a digit lost
    "siret_15_chars": 0.002,  # a leading zero too many
    "siret_17_chars": 0.001,  # written with spaces
}
# Per contract item, at most one quirk of each group (mutually exclusive within a group).
DATE_QUIRK_RATES = {
    "date_missing": 0.010,  # dateNotification absent (JSON) or empty (tabular)
    "date_tz_suffix": 0.030,  # "2018-08-30+02:00" on both dates, as in DGFiP PES files (JSON)
    "date_impossible_year": 0.0005,  # "0222-04-29": first two digits of the year swapped
    "date_future": 0.002,  # notified after REFERENCE_DATE
    "date_publication_before_notification": 0.020,  # 17 % of the Croix file
}
AMOUNT_QUIRK_RATES = {
    "amount_zero": 0.004,
    "amount_placeholder_999999999": 0.002,
    "amount_as_string": 0.030,  # "30000.00" (JSON)
    "amount_repeated_digits": 0.001,  # 11111111
    "amount_over_3bn": 0.0003,  # 1e17: unusable by the ministry's rules
}
DURATION_QUIRK_RATES = {
    "duration_missing": 0.005,
    "duration_nc": 0.010,  # "NC" (JSON)
    "duration_as_string": 0.050,  # "36" (JSON)
}
CPV_QUIRK_RATES = {
    "cpv_trailing_space": 0.010,  # "45261210-9 "
    "cpv_7_digits": 0.003,  # leading zero or last digit lost
    "cpv_without_check_digit": 0.300,  # "45261210": most platforms
}
NATURE_VARIANT_RATE = 0.05  # "marché", "MARCHE", "ACCORD-CADRE"
PROCEDURE_VARIANT_RATE = 0.02  # schema 1.4 labels, missing apostrophe, empty
TYPE_CODE_VARIANT_RATE = 0.04  # "Code Postal", "CODE DEPARTEMENT"
OBJET_MOJIBAKE_RATE = 0.01  # "Ã©" (double-encoded UTF-8) or U+FFFD
NO_TITULAIRE_RATE = 0.003  # empty titulaires list
TYPE_IDENTIFIANT_VARIANT_RATE = 0.08  # "Siret", "siret", "" on every SIRET titulaire (JSON)
KEY_TRAILING_SPACE_RATE = 0.01  # lieuExecution {"nom ": ...} (2019 layout)
FLAT_DOTTED_KEY_RATE = 0.02  # "acheteur.id" instead of an acheteur object (2019 layout)
NESTED_TITULAIRES_RATE = 0.3  # modification titulaires as a list of lists (2019 layout)
BOOLEAN_AS_STRING_RATE = 0.01  # marcheInnovant "non" (v2 layout)
TYPE_PRIX_UNWRAPPED_RATE = 0.01  # "typePrix": "Définitif ferme" instead of typesPrix (v2 layout)

SINGLE_QUIRK_RATES = {
    "nature_variant": NATURE_VARIANT_RATE, "procedure_variant": PROCEDURE_VARIANT_RATE,
    "type_code_variant": TYPE_CODE_VARIANT_RATE, "objet_mojibake": OBJET_MOJIBAKE_RATE,
    "no_titulaire": NO_TITULAIRE_RATE, "type_identifiant_variant": TYPE_IDENTIFIANT_VARIANT_RATE,
    "key_trailing_space": KEY_TRAILING_SPACE_RATE, "flat_dotted_key": FLAT_DOTTED_KEY_RATE,
    "titulaires_nested_lists": NESTED_TITULAIRES_RATE, "boolean_as_string": BOOLEAN_AS_STRING_RATE,
    "type_prix_unwrapped": TYPE_PRIX_UNWRAPPED_RATE,
    "buyer_siret_luhn_invalid": BUYER_SIRET_LUHN_INVALID_RATE,
}
# quirk_scale multiplies every quirk rate (tests use it to see rare quirks in small files); a
# scaled rate, or the total of a group of exclusive quirks, is capped at this value.
MAX_SCALED_RATE = 0.9
JSON_ONLY_QUIRKS = {"date_tz_suffix", "amount_as_string", "duration_nc", "duration_as_string",
                    "type_identifiant_variant"}
LAYOUT_ONLY_QUIRKS = {
    "decp-2019": {"key_trailing_space", "flat_dotted_key", "titulaires_nested_lists"},
    "decp-v2": {"boolean_as_string", "type_prix_unwrapped"},
}
QUIRKS = (*DATE_QUIRK_RATES, *AMOUNT_QUIRK_RATES, *DURATION_QUIRK_RATES, *CPV_QUIRK_RATES,
          "nature_variant", "procedure_variant", "type_code_variant", "objet_mojibake",
          "no_titulaire", "type_identifiant_variant", "key_trailing_space", "flat_dotted_key",
          "titulaires_nested_lists", "boolean_as_string", "type_prix_unwrapped",
          "buyer_siret_luhn_invalid", *SUPPLIER_SIRET_QUIRK_RATES)

# Clean values and their weights (real files and the official enums).
NATURES_2019 = {"Marché": 0.68, "Accord-cadre": 0.28, "Marché subséquent": 0.035,
                "Marché de partenariat": 0.005}
NATURES_V2 = {"Marché": 0.97, "Marché de défense ou de sécurité": 0.025,
              "Marché de partenariat": 0.005}
NATURE_VARIANTS = ("marché", "MARCHE", "ACCORD-CADRE", "Accord cadre", "Marche")
PROCEDURES = {"Procédure adaptée": 0.68, "Appel d'offres ouvert": 0.17,
              "Marché passé sans publicité ni mise en concurrence préalable": 0.06,
              "Procédure avec négociation": 0.05, "Appel d'offres restreint": 0.03,
              "Dialogue compétitif": 0.01}
PROCEDURE_VARIANTS = ("Marché négocié sans publicité ni mise en concurrence préalable",
                      "Appel d offres ouvert", "Appel d’offres ouvert",
                      "Procédure négociée avec mise en concurrence préalable", "")
PLACE_TYPES = {"Code postal": 0.76, "Code commune": 0.11, "Code département": 0.09,
               "Code région": 0.04}
TYPE_CODE_VARIANTS = {"Code postal": ("Code Postal", "CODE Postal", "CODE POSTAL", "code postal"),
                      "Code commune": ("Code Commune", "CODE COMMUNE"),
                      "Code département": ("CODE DEPARTEMENT", "Code departement"),
                      "Code région": ("CODE REGION", "Code region")}
DURATIONS = {12: 0.22, 24: 0.10, 36: 0.10, 48: 0.12, 6: 0.06, 3: 0.04, 2: 0.04, 4: 0.04, 9: 0.04,
             18: 0.05, 10: 0.03, 8: 0.03, 60: 0.03, 1: 0.02, 14: 0.02, 16: 0.02, 20: 0.02, 30: 0.02}
AMOUNT_LOG_MEAN, AMOUNT_LOG_SIGMA = 10.9, 1.5  # log-normal, median about 54,000 EUR
AMOUNT_MIN, AMOUNT_MAX = 500, 200_000_000
FORMES_PRIX_2019 = {"Révisable": 0.52, "Ferme": 0.35, "Ferme et actualisable": 0.13}
FORMES_PRIX_V2 = {"Forfaitaire": 0.50, "Unitaire": 0.35, "Mixte": 0.15}
TYPES_PRIX = {"Définitif révisable": 0.45, "Définitif ferme": 0.30, "Définitif actualisable": 0.20,
              "Provisoire": 0.05}
TECHNIQUES = {("Sans objet",): 0.70, ("Accord-cadre",): 0.25, ("Concours",): 0.01,
              ("Système d'acquisition dynamique",): 0.01, ("Accord-cadre", "Concours"): 0.01,
              ("Catalogue électronique",): 0.01, ("Enchère électronique",): 0.01}
MODALITES = {("Sans objet",): 0.64, ("Bons de commande",): 0.25, ("Tranches",): 0.08,
             ("Marchés subséquents",): 0.03}
CONSIDERATIONS_SOCIALES = {("Pas de considération sociale",): 0.815, ("Clause sociale",): 0.12,
                           ("Critère social",): 0.03, ("Clause sociale", "Critère social"): 0.03,
                           ("Marché réservé",): 0.005}
CONSIDERATIONS_ENVIRONNEMENTALES = {
    ("Pas de considération environnementale",): 0.72, ("Clause environnementale",): 0.15,
    ("Critère environnemental",): 0.08,
    ("Clause environnementale", "Critère environnemental"): 0.05}
OFFRES_RECUES = {1: 0.18, 2: 0.19, 3: 0.30, 4: 0.12, 5: 0.07, 6: 0.06, 7: 0.03, 8: 0.02, 10: 0.02,
                 15: 0.01}
CCAG_BY_TYPE = {
    "Travaux": {"Travaux": 0.85, "Pas de CCAG": 0.15},
    "Fournitures": {"Fournitures courantes et services": 0.75, "Marchés industriels": 0.05,
                    "Pas de CCAG": 0.20},
    "Services": {"Fournitures courantes et services": 0.55, "Prestations intellectuelles": 0.15,
                 "Maitrise d'œuvre": 0.08,
                 "Techniques de l'information et de la communication": 0.05,
                 "Pas de CCAG": 0.17},
}
ORIGIN_CPV_DIVISIONS = ("15", "18", "33", "34")  # food, clothing, health, vehicles
CONCESSION_NATURES = ("Concession de travaux", "Concession de service",
                      "Concession de service public", "Délégation de service public")
CONCESSION_PROCEDURES = ("Procédure négociée ouverte", "Procédure non négociée ouverte",
                         "Procédure négociée restreinte", "Procédure non négociée restreinte")
SOURCES_2019 = {"data.gouv.fr_aife": 0.45, "data.gouv.fr_pes": 0.15, "marches-publics.info": 0.12,
                "e-marchespublics": 0.10, "megalis-bretagne": 0.05, "ternum-bfc": 0.04,
                "atexo-maximilien": 0.04, "grandlyon": 0.02, "marches-securises.fr": 0.03}
NOTIFICATION_YEARS = {"decp-2019": (2018, 2023), "decp-v2": (2024, 2025),
                      "tabular-csv": (2019, 2025), "tabular-parquet": (2019, 2025)}

TABULAR_COLUMNS = (
    "uid", "id", "nature", "acheteur_id", "acheteur_nom", "titulaire_id",
    "titulaire_typeIdentifiant", "titulaire_nom", "objet", "montant", "type", "codeCPV",
    "procedure", "techniques", "dureeMois", "dureeRestanteMois", "offresRecues",
    "dateNotification", "datePublicationDonnees", "formePrix", "typesPrix", "attributionAvance",
    "tauxAvance", "marcheInnovant", "modalitesExecution", "considerationsSociales",
    "considerationsEnvironnementales", "ccag", "sousTraitanceDeclaree", "typeGroupementOperateurs",
    "origineUE", "origineFrance", "lieuExecution_code", "lieuExecution_typeCode", "idAccordCadre",
    "titulaire_distance", "acheteur_categorie", "acheteur_commune_code", "acheteur_commune_nom",
    "acheteur_departement_code", "acheteur_departement_nom", "acheteur_region_code",
    "acheteur_region_nom", "acheteur_latitude", "acheteur_longitude", "titulaire_categorie",
    "titulaire_commune_code", "titulaire_commune_nom", "titulaire_departement_code",
    "titulaire_departement_nom", "titulaire_region_code", "titulaire_region_nom",
    "titulaire_latitude", "titulaire_longitude", "modification_id", "donneesActuelles",
    "sourceDataset", "sourceFile")
# Identifiers and codes stay text (leading zeros, Corsica); dates are day numbers until written.
_FLOAT_COLUMNS = {"montant", "dureeRestanteMois", "tauxAvance", "origineUE", "origineFrance",
                  "acheteur_latitude", "acheteur_longitude", "titulaire_latitude",
                  "titulaire_longitude"}
_INT_COLUMNS = {"dureeMois", "offresRecues", "titulaire_distance", "modification_id"}
_BOOL_COLUMNS = {"attributionAvance", "marcheInnovant", "sousTraitanceDeclaree", "donneesActuelles"}
_DATE_COLUMNS = {"dateNotification", "datePublicationDonnees"}
TABULAR_SCHEMA = pa.schema([
    (name, pa.float64() if name in _FLOAT_COLUMNS else pa.int64() if name in _INT_COLUMNS
     else pa.bool_() if name in _BOOL_COLUMNS else pa.date32() if name in _DATE_COLUMNS
     else pa.string()) for name in TABULAR_COLUMNS])
TABULAR_BATCH_ROWS = 10_000
_SOURCE_COLUMN = TABULAR_COLUMNS.index("sourceDataset")  # followed by sourceFile
_OBJET_COLUMN = TABULAR_COLUMNS.index("objet")

_EPOCH = date(1970, 1, 1).toordinal()
_REFERENCE = REFERENCE_DATE.toordinal()
_V2_START = date(2024, 1, 1).toordinal()  # the v2 format is mandatory from this date
_YEAR_1900 = date(1900, 1, 1).toordinal()
_ID_STYLES = ("{y}{s:06d}", "{y}-{s:06d}", "{y}MA{s:06d}", "{yy:02d}F{s:07d}", "{y}/{s:06d}",
              "{y}.{s:05d}")


class Weighted:
    """Fast repeated draws from a fixed weighted set of values."""

    def __init__(self, weights: dict):
        self.values = list(weights)
        total, self.cumulative = 0.0, []
        for weight in weights.values():
            total += weight
            self.cumulative.append(total)

    def draw(self, rng: random.Random):
        return rng.choices(self.values, cum_weights=self.cumulative)[0]


@dataclass(slots=True)
class Modification:
    notified: int  # day numbers (date.toordinal)
    published: int
    amount: float | None  # None: unchanged
    duration: int | None
    titulaires: list[Supplier] | None


@dataclass(slots=True)
class Contract:
    """One contract as generated, with the quirks already applied to its values."""
    kind: str  # "marche" or "contrat-concession"
    id: str
    buyer: Buyer
    hdf: bool
    source: str
    source_url: str
    objet: str
    nature: str
    procedure: str
    place_code: str
    place_type: str  # as written, maybe a variant
    place_name: str
    duration: int | str | None
    notified: int | None  # None: missing
    published: int
    tz_suffix: str  # "" or "+02:00"
    amount: float | int | str
    clean_amount: float
    titulaires: list[Supplier]
    modifications: list[Modification]
    tags: dict[str, str]  # quirk group -> quirk name, for record-level quirks
    cpv: Cpv | None = None
    cpv_code: str = ""
    forme_prix: str = ""
    type_identifiant_variant: str | None = None
    v2: dict | None = None  # v2-era fields (techniques, clauses, offers...)


@dataclass
class Item:
    """A contract as written: its payload and what it counts for in the summary."""
    payload: object  # dict (JSON layouts) or list of row lists (tabular)
    quirks: dict[str, int]
    kind: str
    hdf: bool
    modifications: int
    titulaires: int
    rows: int = 1
    hdf_rows: int = 0


@dataclass
class Summary:
    path: str
    layout: str
    seed: int
    quirk_scale: float = 1.0
    records: int = 0
    rows: int = 0
    bytes: int = 0
    marches: int = 0
    concessions: int = 0
    duplicates: int = 0
    duplicates_with_differences: int = 0
    hdf_records: int = 0
    hdf_marches: int = 0
    hdf_rows: int = 0
    hdf_share: float = 0.0
    hdf_share_band: tuple = HDF_SHARE_BAND
    records_with_modifications: int = 0
    modifications: int = 0
    records_with_several_titulaires: int = 0
    buyers_in_pool: int = 0
    suppliers_in_pool: int = 0
    reference_date: str = REFERENCE_DATE.isoformat()
    quirks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QUIRKS, 0))

    def add(self, item: Item) -> None:
        self.records += 1
        self.rows += item.rows
        self.hdf_rows += item.hdf_rows
        if item.kind == "marche":
            self.marches += 1
            self.hdf_marches += item.hdf
        else:
            self.concessions += 1
        self.hdf_records += item.hdf
        self.records_with_modifications += item.modifications > 0
        self.modifications += item.modifications
        self.records_with_several_titulaires += item.titulaires > 1
        for name, count in item.quirks.items():
            self.quirks[name] += count


def generate(path: str | Path, records: int = DEFAULT_RECORDS, layout: str = "decp-2019",
             seed: int = 0, reference_dir: str | Path = DEFAULT_REFERENCE_DIR,
             quirk_scale: float = 1.0) -> dict:
    """Write ``records`` synthetic contracts to ``path`` in ``layout``; return the summary, also
    saved as ``<path>.summary.json``. ``quirk_scale`` multiplies every quirk rate."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    if records < 1:
        raise ValueError(f"records must be at least 1, got {records}")
    if quirk_scale < 0:
        raise ValueError(f"quirk_scale must not be negative, got {quirk_scale}")
    path = Path(path)
    generator = _Generator(records, layout, seed, Path(reference_dir), quirk_scale)
    summary = Summary(str(path), layout, seed, quirk_scale=quirk_scale,
                      buyers_in_pool=generator.buyer_count,
                      suppliers_in_pool=len(generator.suppliers))
    concessions = 0 if layout.startswith("tabular") else round(records * CONCESSION_SHARE)
    sections = (("marche", records - concessions), ("contrat-concession", concessions))
    try:
        with _open_writer(path, layout) as writer:
            for kind, count in sections:
                writer.start_section(kind)
                for item in generator.items(kind, count, summary):
                    writer.write(item.payload)
                    summary.add(item)
    except BaseException:
        path.unlink(missing_ok=True)  # no partial file left behind
        raise
    summary.bytes = path.stat().st_size
    summary.hdf_share = round(summary.hdf_records / summary.records, 6)
    text = orjson.dumps(asdict(summary), option=orjson.OPT_INDENT_2)
    Path(f"{path}.summary.json").write_bytes(text)
    return orjson.loads(text)  # exactly what the summary file says


class _Generator:
    def __init__(self, records: int, layout: str, seed: int, reference_dir: Path,
                 quirk_scale: float):
        self.rng = rng = random.Random(seed)
        self.layout = layout
        self.tabular = layout.startswith("tabular")
        enabled = self._enabled_quirks()
        self.enabled = enabled

        def group(rates: dict[str, float]) -> dict[str, float]:
            scaled = {name: rate * quirk_scale for name, rate in rates.items() if name in enabled}
            excess = sum(scaled.values()) / MAX_SCALED_RATE
            return {name: rate / max(1.0, excess) for name, rate in scaled.items()}

        self.date_quirks = cumulative(group(DATE_QUIRK_RATES))
        self.amount_quirks = cumulative(group(AMOUNT_QUIRK_RATES))
        self.duration_quirks = cumulative(group(DURATION_QUIRK_RATES))
        self.cpv_quirks = cumulative(group(CPV_QUIRK_RATES))
        self.rates = {name: min(MAX_SCALED_RATE, rate * quirk_scale) if name in enabled else 0.0
                      for name, rate in SINGLE_QUIRK_RATES.items()}

        places = pools.load_places(reference_dir)
        self.places_by_departement: dict[str, list] = {}
        for place in places:
            self.places_by_departement.setdefault(place.departement_code, []).append(place)
        self.cpv_by_type = {kind: list(codes)
                            for kind, codes in pools.load_cpv(reference_dir).items()}
        for codes in self.cpv_by_type.values():
            rng.shuffle(codes)  # which codes are frequent depends on the seed
        self.platforms = pools.load_platforms(reference_dir)
        self.buyer_count = pools.scaled(pools.NATIONAL_BUYERS, records, pools.MIN_BUYERS)
        self.hdf_buyers, self.other_buyers = pools.make_buyers(
            rng, places, self.buyer_count, max(3, round(self.buyer_count * HDF_SHARE)),
            self.rates["buyer_siret_luhn_invalid"])
        self.suppliers = pools.make_suppliers(
            rng, places, pools.scaled(pools.NATIONAL_SUPPLIERS, records, pools.MIN_SUPPLIERS),
            group(SUPPLIER_SIRET_QUIRK_RATES))
        self.suppliers_by_region: dict[str, list[Supplier]] = {}
        for supplier in self.suppliers:
            if supplier.place:
                self.suppliers_by_region.setdefault(supplier.place.region_code, []).append(supplier)

        first, last = NOTIFICATION_YEARS[layout]
        self.first_day = date(first, 1, 1).toordinal()
        self.last_day = date(last, 12, 31).toordinal()
        self.cpv_types = Weighted(pools.CPV_TYPE_WEIGHTS)
        self.durations = Weighted(DURATIONS)
        self.natures_2019, self.natures_v2 = Weighted(NATURES_2019), Weighted(NATURES_V2)
        self.procedures, self.place_types = Weighted(PROCEDURES), Weighted(PLACE_TYPES)
        self.titulaire_counts = Weighted(TITULAIRE_COUNT_WEIGHTS)
        self.formes_2019, self.formes_v2 = Weighted(FORMES_PRIX_2019), Weighted(FORMES_PRIX_V2)
        self.types_prix, self.techniques = Weighted(TYPES_PRIX), Weighted(TECHNIQUES)
        self.modalites = Weighted(MODALITES)
        self.sociales = Weighted(CONSIDERATIONS_SOCIALES)
        self.environnementales = Weighted(CONSIDERATIONS_ENVIRONNEMENTALES)
        self.offres = Weighted(OFFRES_RECUES)
        self.ccag = {kind: Weighted(weights) for kind, weights in CCAG_BY_TYPE.items()}
        self.sources_2019 = Weighted(SOURCES_2019)
        self.sequence = 0

    def _enabled_quirks(self) -> set[str]:
        enabled = set(QUIRKS) - set().union(*LAYOUT_ONLY_QUIRKS.values())
        enabled |= LAYOUT_ONLY_QUIRKS.get(self.layout, set())
        return enabled - JSON_ONLY_QUIRKS if self.tabular else enabled

    def _on(self, quirk: str) -> bool:
        return self.rng.random() < self.rates[quirk]

    # -- the stream of items ------------------------------------------------------------------

    def items(self, kind: str, count: int, summary: Summary):
        """``count`` items of ``kind``: new contracts and now and then a copy of a recent one."""
        rng, window = self.rng, []
        render = {"decp-2019": self._render_2019, "decp-v2": self._render_v2}.get(
            self.layout, self._render_tabular)
        for _ in range(count):
            if window and rng.random() < DUPLICATE_RATE:
                slot = rng.randrange(len(window))
                original = window[slot]
                window[slot] = window[-1]
                window.pop()  # a contract is duplicated once, so every copy has another source
                summary.duplicates += 1
                differs = rng.random() < DUPLICATE_DIFFERENCE_RATE
                summary.duplicates_with_differences += differs
                yield self._duplicate(original, differs)
                continue
            item = render(self._new_contract(kind))
            if len(window) < DUPLICATE_WINDOW:
                window.append(item)
            else:
                window[rng.randrange(DUPLICATE_WINDOW)] = item
            yield item

    def _duplicate(self, original: Item, differs: bool) -> Item:
        """The same contract as published by another platform, sometimes slightly different.

        Differences never touch a value a quirk is counted on, so the copy counts as the original.
        """
        rng = self.rng
        if self.tabular:
            platform = self._other_platform(original.payload[0][_SOURCE_COLUMN])
            rows = [list(row) for row in original.payload]
            for row in rows:
                row[_SOURCE_COLUMN], row[_SOURCE_COLUMN + 1] = platform.code, platform.url
                if differs:
                    row[_OBJET_COLUMN] = row[_OBJET_COLUMN].upper()
            return Item(rows, original.quirks, original.kind, original.hdf, original.modifications,
                        original.titulaires, original.rows, original.hdf_rows)
        record = orjson.loads(orjson.dumps(original.payload))
        record["source"] = self._other_source(record["source"])
        amount_key = "montant" if "montant" in record else "valeurGlobale"
        if differs:
            changes = ["objet", "id"] + (["amount"] if type(record.get(amount_key)) is int else [])
            change = rng.choice(changes)
            if change == "objet":
                record["objet"] = record["objet"].upper()
            elif change == "id":  # the usual contract key strips spaces, dots and slashes
                contract_id = record["id"]
                record["id"] = (contract_id.replace("/", "").replace(".", "")
                                if "/" in contract_id or "." in contract_id
                                else f"{contract_id[:4]} {contract_id[4:]}")
            else:
                record[amount_key] = float(record[amount_key])
        return Item(record, original.quirks, original.kind, original.hdf, original.modifications,
                    original.titulaires)

    def _other_source(self, source: str) -> str:
        while True:
            other = (self.sources_2019.draw(self.rng) if self.layout == "decp-2019"
                     else self.rng.choice(self.platforms).code)
            if other != source:
                return other

    def _other_platform(self, code: str) -> pools.Platform:
        while True:
            platform = self.rng.choice(self.platforms)
            if platform.code != code:
                return platform

    # -- contracts ----------------------------------------------------------------------------

    def _new_contract(self, kind: str) -> Contract:
        rng = self.rng
        self.sequence += 1
        hdf = rng.random() < HDF_SHARE
        buyer = skewed_pick(rng, self.hdf_buyers if hdf else self.other_buyers)
        tags: dict[str, str] = {}
        if not buyer.siret_valid:  # counted on every contract of the buyer
            tags["buyer"] = "buyer_siret_luhn_invalid"
        notified = rng.randint(self.first_day, self.last_day)
        year = date.fromordinal(notified).year
        style = _ID_STYLES[int(buyer.siret[-4:]) % len(_ID_STYLES)]
        if self.layout == "decp-2019":
            source, source_url = self.sources_2019.draw(rng), ""
        else:
            platform = rng.choice(self.platforms)
            source, source_url = platform.code, platform.url
        place_code, place_type, place_name = self._place(buyer, tags, variants=kind == "marche")
        contract = Contract(
            kind=kind, id=style.format(y=year, yy=year % 100, s=self.sequence), buyer=buyer,
            hdf=hdf, source=source, source_url=source_url, objet="", nature="", procedure="",
            place_code=place_code, place_type=place_type, place_name=place_name, duration=None,
            notified=notified, published=notified + int(rng.expovariate(1 / 12)), tz_suffix="",
            amount=0, clean_amount=0.0, titulaires=[], modifications=[], tags=tags)
        if kind == "marche":
            self._fill_marche(contract)
        else:
            self._fill_concession(contract)
        return contract

    def _fill_marche(self, c: Contract) -> None:
        rng, tags = self.rng, c.tags
        notified = c.notified  # before any date quirk
        v2_era = self.layout == "decp-v2" or (self.tabular and notified >= _V2_START)
        c.cpv = cpv = skewed_pick(rng, self.cpv_by_type[self.cpv_types.draw(rng)])
        c.cpv_code = self._cpv_code(cpv.code, tags)
        c.objet = self._objet(cpv, c, tags)
        c.nature = self._with_variant((self.natures_v2 if v2_era else self.natures_2019).draw(rng),
                                      "nature_variant", NATURE_VARIANTS, tags)
        c.procedure = self._with_variant(self.procedures.draw(rng), "procedure_variant",
                                         PROCEDURE_VARIANTS, tags)
        c.duration = self._duration(tags)
        self._dates(c)
        c.amount, c.clean_amount = self._amount(tags)
        c.forme_prix = (self.formes_v2 if v2_era else self.formes_2019).draw(rng)
        c.titulaires = self._titulaires(c)
        if not c.titulaires:
            tags["titulaires"] = "no_titulaire"
        if self._on("type_identifiant_variant"):
            c.type_identifiant_variant = rng.choice(("Siret", "siret", ""))
        if self._on("key_trailing_space"):
            tags["keys"] = "key_trailing_space"
        if self._on("flat_dotted_key"):
            tags["flat"] = "flat_dotted_key"
        if rng.random() < MODIFICATION_RATE:
            c.modifications = self._modifications(c, notified)
        if v2_era:
            c.v2 = self._v2_terms(c)

    def _fill_concession(self, c: Contract) -> None:
        rng = self.rng
        cpv = skewed_pick(rng, self.cpv_by_type["Services"])
        c.objet = f"Concession : {cpv.label}"
        c.nature = rng.choice(CONCESSION_NATURES)
        c.procedure = rng.choice(CONCESSION_PROCEDURES)
        c.duration = rng.choice((60, 84, 120, 144, 240, 360))
        c.clean_amount = c.amount = round(math.exp(rng.gauss(14, 1.5)), 2)
        c.titulaires = [self._supplier(c.buyer)]

    def _place(self, buyer: Buyer, tags: dict, variants: bool) -> tuple[str, str, str]:
        """The place of execution: the buyer's town or another place of its département."""
        rng = self.rng
        place = buyer.place
        if rng.random() < OTHER_PLACE_RATE:
            place = rng.choice(self.places_by_departement[place.departement_code])
        place_type = self.place_types.draw(rng)
        code, name = {
            "Code postal": (place.postal_code, place.name),
            "Code commune": (place.commune_code, place.name),
            "Code département": (place.departement_code,
                                 f"({place.departement_code}) {place.departement_name}"),
            "Code région": (place.region_code, place.region_name),
        }[place_type]
        if variants and self._on("type_code_variant"):
            tags["typeCode"] = "type_code_variant"
            place_type = rng.choice(TYPE_CODE_VARIANTS[place_type])
        return code, place_type, name

    def _with_variant(self, value: str, quirk: str, variants: tuple, tags: dict) -> str:
        if self._on(quirk):
            tags[quirk] = quirk
            return self.rng.choice(variants)
        return value

    def _cpv_code(self, code: str, tags: dict) -> str:
        quirk = draw_from(self.cpv_quirks, self.rng.random())
        if quirk is None:
            return code
        tags["cpv"] = quirk
        if quirk == "cpv_trailing_space":
            return code + " "
        if quirk == "cpv_7_digits":
            return code[1:8] if code[0] == "0" else code[:7]
        return code[:8]

    def _objet(self, cpv: Cpv, c: Contract, tags: dict) -> str:
        rng = self.rng
        template = rng.randrange(4)
        label = cpv.label
        objet = (label if template == 0 else f"{label} - Lot n°{rng.randint(1, 12)}"
                 if template == 1 else f"{label} - {c.buyer.place.name}" if template == 2
                 else f"Marché de {label[0].lower()}{label[1:]}")
        if self._on("objet_mojibake"):
            tags["objet"] = "objet_mojibake"
            if "é" not in objet:
                objet += " - équipements"
            objet = objet.replace("é", rng.choice(("Ã©", "\ufffd")))
        return objet

    def _duration(self, tags: dict) -> int | str | None:
        duration = self.durations.draw(self.rng)
        quirk = draw_from(self.duration_quirks, self.rng.random())
        if quirk is None:
            return duration
        tags["duration"] = quirk
        return {"duration_missing": None, "duration_nc": "NC"}.get(quirk, str(duration))

    def _dates(self, c: Contract) -> None:
        rng = self.rng
        quirk = draw_from(self.date_quirks, rng.random())
        if quirk is None:
            return
        c.tags["dates"] = quirk
        day = date.fromordinal(c.notified)
        if quirk == "date_missing":
            c.notified = None
        elif quirk == "date_tz_suffix":
            c.tz_suffix = "+02:00" if 4 <= day.month <= 10 else "+01:00"
        elif quirk == "date_impossible_year":
            digits = str(day.year)
            c.notified = day.replace(year=int(digits[1] + digits[0] + digits[2:])).toordinal()
        elif quirk == "date_future":
            c.notified = date(REFERENCE_DATE.year + rng.randint(1, 5), day.month,
                              min(day.day, 28)).toordinal()
        else:  # published before notified
            c.published = c.notified - rng.randint(1, 60)

    def _amount(self, tags: dict) -> tuple[float | int | str, float]:
        rng = self.rng
        value = math.exp(rng.gauss(AMOUNT_LOG_MEAN, AMOUNT_LOG_SIGMA))
        value = min(AMOUNT_MAX, max(AMOUNT_MIN, value))
        shape = rng.random()  # many amounts are round numbers, some have cents
        amount = _clean_amount(max(1000, int(round(value, -3))) if shape < 0.3
                               else int(value) if shape < 0.7 else round(value, 2))
        quirk = draw_from(self.amount_quirks, rng.random())
        if quirk is None:
            return amount, float(amount)
        tags["amount"] = quirk
        if quirk == "amount_zero":
            return 0, float(amount)
        if quirk == "amount_placeholder_999999999":
            return 999999999, float(amount)
        if quirk == "amount_as_string":
            return f"{amount:.2f}", float(amount)
        if quirk == "amount_repeated_digits":
            return int(str(rng.randint(1, 8)) * rng.randint(6, 9)), float(amount)
        return rng.choice((1e17, float(rng.randint(3_000_000_001, 90_000_000_000)))), float(amount)

    def _supplier(self, buyer: Buyer) -> Supplier:
        rng = self.rng
        if rng.random() < LOCAL_SUPPLIER_RATE:
            local = self.suppliers_by_region.get(buyer.place.region_code)
            if local:
                return skewed_pick(rng, local)
        return skewed_pick(rng, self.suppliers)

    def _titulaires(self, c: Contract) -> list[Supplier]:
        if self._on("no_titulaire"):
            return []
        chosen: list[Supplier] = []
        wanted = self.titulaire_counts.draw(self.rng)
        while len(chosen) < wanted:
            supplier = self._supplier(c.buyer)
            if supplier not in chosen:
                chosen.append(supplier)
        return chosen

    def _modifications(self, c: Contract, notified: int) -> list[Modification]:
        """1-3 amendments after the clean notification date, never after REFERENCE_DATE."""
        rng = self.rng
        count = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
        amount, duration, day, result = c.clean_amount, c.duration, notified, []
        for _ in range(count):
            day = min(day + rng.randint(20, 400), _REFERENCE)
            new_amount = new_duration = new_titulaires = None
            if rng.random() < 0.7:
                amount = new_amount = _clean_amount(round(amount * rng.uniform(1.02, 1.3), 2))
            if rng.random() < 0.3:
                known = duration if isinstance(duration, int) else 12
                duration = new_duration = known + rng.randint(1, 12)
            if rng.random() < 0.1:
                new_titulaires = [self._supplier(c.buyer)]
            result.append(Modification(day, day + rng.randint(0, 30), new_amount, new_duration,
                                       new_titulaires))
        return result

    def _v2_terms(self, c: Contract) -> dict:
        rng = self.rng
        cpv = c.cpv
        advance = rng.random() < 0.25
        subcontracting = rng.random() < 0.12
        origin = cpv.code[:2] in ORIGIN_CPV_DIVISIONS and rng.random() < 0.6
        origine_ue = round(rng.uniform(0.3, 1), 2) if origin else 0.0
        terms = {
            "techniques": self.techniques.draw(rng),
            "modalitesExecution": self.modalites.draw(rng),
            "idAccordCadre": (f"AC{c.id[:4]}{rng.randrange(10**6):06d}" if rng.random() < 0.05
                              else None),
            "marcheInnovant": rng.random() < 0.01,
            "ccag": self.ccag[cpv.type].draw(rng),
            "offresRecues": self.offres.draw(rng),
            "attributionAvance": advance,
            "tauxAvance": round(rng.choice((0.05, 0.1, 0.2, 0.3)), 2) if advance else 0.0,
            "typeGroupementOperateurs": ("Pas de groupement" if len(c.titulaires) < 2
                                         else rng.choice(("Conjoint", "Conjoint", "Solidaire"))),
            "sousTraitanceDeclaree": subcontracting,
            "sousTraitant": (self._supplier(c.buyer) if subcontracting and rng.random() < 0.4
                             else None),
            "typesPrix": (self.types_prix.draw(rng),),
            "origineUE": origine_ue,
            "origineFrance": round(origine_ue * rng.uniform(0.2, 1), 2) if origin else 0.0,
            "considerationsSociales": self.sociales.draw(rng),
            "considerationsEnvironnementales": self.environnementales.draw(rng),
        }
        if self._on("boolean_as_string"):
            c.tags["boolean"] = "boolean_as_string"
            terms["marcheInnovant"] = "oui" if terms["marcheInnovant"] else "non"
        if self._on("type_prix_unwrapped"):
            c.tags["typePrix"] = "type_prix_unwrapped"
        return terms

    # -- JSON layouts -------------------------------------------------------------------------

    def _date_text(self, day: int, c: Contract) -> str:
        return date.fromordinal(day).isoformat() + c.tz_suffix

    def _record_quirks(self, c: Contract) -> dict[str, int]:
        quirks: dict[str, int] = {}
        for name in c.tags.values():
            quirks[name] = quirks.get(name, 0) + 1
        return quirks

    def _count_titulaire(self, supplier: Supplier, c: Contract, quirks: dict) -> str:
        """The typeIdentifiant to write, counting the entry's quirks."""
        if supplier.siret_quirk:
            quirks[supplier.siret_quirk] = quirks.get(supplier.siret_quirk, 0) + 1
        if c.type_identifiant_variant is not None and supplier.type_identifiant == "SIRET":
            quirks["type_identifiant_variant"] = quirks.get("type_identifiant_variant", 0) + 1
            return c.type_identifiant_variant
        return supplier.type_identifiant

    def _render_2019(self, c: Contract) -> Item:
        quirks = self._record_quirks(c)

        def titulaire(supplier: Supplier) -> dict:
            return {"typeIdentifiant": self._count_titulaire(supplier, c, quirks),
                    "id": supplier.identifier, "denominationSociale": supplier.name}

        record: dict = {"id": c.id}
        if "flat" in c.tags:
            record["acheteur.id"], record["acheteur.nom"] = c.buyer.siret, c.buyer.name
        else:
            record["acheteur"] = {"id": c.buyer.siret, "nom": c.buyer.name}
        if c.kind == "contrat-concession":
            record["autoriteConcedante"] = record.pop("acheteur")
        record["nature"], record["objet"] = c.nature, c.objet
        if c.kind == "marche":
            record["codeCPV"] = c.cpv_code
        record["procedure"] = c.procedure
        name_key = "nom " if "keys" in c.tags else "nom"
        record["lieuExecution"] = {"code": c.place_code, "typeCode": c.place_type,
                                   name_key: c.place_name}
        if c.duration is not None:
            record["dureeMois"] = c.duration
        if c.kind == "contrat-concession":
            return self._concession_2019(c, record, titulaire, quirks)
        if c.notified is not None:
            record["dateNotification"] = self._date_text(c.notified, c)
        record["datePublicationDonnees"] = self._date_text(c.published, c)
        record["montant"] = c.amount
        record["formePrix"] = c.forme_prix
        record["titulaires"] = [titulaire(s) for s in c.titulaires]
        modifications = []
        for number, modification in enumerate(c.modifications, 1):
            entry: dict = {"objetModification": f"Avenant n°{number}",
                           "dateNotificationModification": _iso(modification.notified),
                           "datePublicationDonneesModification": _iso(modification.published)}
            if modification.duration is not None:
                entry["dureeMois"] = modification.duration
            if modification.amount is not None:
                entry["montant"] = modification.amount
            if modification.titulaires is not None:
                entries = [titulaire(s) for s in modification.titulaires]
                if self._on("titulaires_nested_lists"):
                    quirks["titulaires_nested_lists"] = quirks.get("titulaires_nested_lists", 0) + 1
                    entries = [entries]
                entry["titulaires"] = entries
            modifications.append(entry)
        record["modifications"] = modifications
        record["_type"] = "Marché"
        record["source"] = c.source
        return Item(record, quirks, c.kind, c.hdf, len(c.modifications), len(c.titulaires))

    def _concession_2019(self, c: Contract, record: dict, titulaire, quirks: dict) -> Item:
        record["dateSignature"] = _iso(c.notified)
        record["datePublicationDonnees"] = _iso(c.published)
        record["dateDebutExecution"] = _iso(c.notified + 30)
        record["valeurGlobale"] = c.amount
        record["montantSubventionPublique"] = 0
        record["concessionnaires"] = [titulaire(s) for s in c.titulaires]
        record["donneesExecution"] = []
        record["modifications"] = []
        record["_type"] = "Contrat de concession"
        record["source"] = c.source
        return Item(record, quirks, c.kind, c.hdf, 0, len(c.titulaires))

    def _render_v2(self, c: Contract) -> Item:
        quirks = self._record_quirks(c)

        def titulaire(supplier: Supplier, wrapper: str = "titulaire") -> dict:
            return {wrapper: {"typeIdentifiant": self._count_titulaire(supplier, c, quirks),
                              "id": supplier.identifier}}

        if c.kind == "contrat-concession":
            return self._concession_v2(c, titulaire, quirks)
        t = c.v2
        record: dict = {"id": c.id, "acheteur": {"id": c.buyer.siret}, "nature": c.nature,
                        "objet": c.objet, "codeCPV": c.cpv_code,
                        "techniques": {"technique": list(t["techniques"])},
                        "modalitesExecution": {"modaliteExecution": list(t["modalitesExecution"])}}
        if t["idAccordCadre"]:
            record["idAccordCadre"] = t["idAccordCadre"]
        for key in ("marcheInnovant", "ccag", "offresRecues", "attributionAvance", "tauxAvance",
                    "typeGroupementOperateurs", "sousTraitanceDeclaree"):
            record[key] = t[key]
        if t["sousTraitant"]:
            record["actesSousTraitance"] = [{"acteSousTraitance": {
                "id": 1, "sousTraitant": {"id": t["sousTraitant"].identifier,
                                          "typeIdentifiant": t["sousTraitant"].type_identifiant},
                "dureeMois": 12, "dateNotification": self._date_text(c.published, c),
                "montant": round(c.clean_amount * 0.2, 2), "variationPrix": "Révisable",
                "datePublicationDonnees": self._date_text(c.published, c)}}]
        record["procedure"] = c.procedure
        record["lieuExecution"] = {"code": c.place_code, "typeCode": c.place_type}
        if c.duration is not None:
            record["dureeMois"] = c.duration
        if c.notified is not None:
            record["dateNotification"] = self._date_text(c.notified, c)
        record["datePublicationDonnees"] = self._date_text(c.published, c)
        record["montant"] = c.amount
        if "typePrix" in c.tags:
            record["typePrix"] = t["typesPrix"][0]
        else:
            record["typesPrix"] = {"typePrix": list(t["typesPrix"])}
        record["formePrix"] = c.forme_prix
        record["origineUE"], record["origineFrance"] = t["origineUE"], t["origineFrance"]
        record["titulaires"] = [titulaire(s) for s in c.titulaires]
        record["considerationsSociales"] = {
            "considerationSociale": list(t["considerationsSociales"])}
        record["considerationsEnvironnementales"] = {
            "considerationEnvironnementale": list(t["considerationsEnvironnementales"])}
        modifications = []
        for number, modification in enumerate(c.modifications, 1):
            entry: dict = {"id": number}
            if modification.duration is not None:
                entry["dureeMois"] = modification.duration
            if modification.amount is not None:
                entry["montant"] = modification.amount
            if modification.titulaires is not None:
                entry["titulaires"] = [titulaire(s) for s in modification.titulaires]
            entry["dateNotificationModification"] = _iso(modification.notified)
            entry["datePublicationDonneesModification"] = _iso(modification.published)
            modifications.append({"modification": entry})
        record["modifications"] = modifications
        record["source"] = c.source
        return Item(record, quirks, c.kind, c.hdf, len(c.modifications), len(c.titulaires))

    def _concession_v2(self, c: Contract, titulaire, quirks: dict) -> Item:
        record = {
            "id": c.id, "autoriteConcedante": {"id": c.buyer.siret}, "nature": c.nature,
            "objet": c.objet, "procedure": c.procedure, "dureeMois": c.duration,
            "dateSignature": _iso(c.notified),
            "datePublicationDonnees": _iso(c.published),
            "dateDebutExecution": _iso(c.notified + 30),
            "valeurGlobale": c.amount, "montantSubventionPublique": 0.0, "donneesExecution": [],
            "concessionnaires": [titulaire(s, "concessionnaire") for s in c.titulaires],
            "considerationsSociales": {"considerationSociale": ["Pas de considération sociale"]},
            "considerationsEnvironnementales": {
                "considerationEnvironnementale": ["Pas de considération environnementale"]},
            "modifications": [], "source": c.source}
        return Item(record, quirks, c.kind, c.hdf, 0, len(c.titulaires))

    # -- tabular layout -----------------------------------------------------------------------

    def _render_tabular(self, c: Contract) -> Item:
        """One row per version (initial, then each modification) and per titulaire of it."""
        buyer, place = c.buyer, c.buyer.place
        t = c.v2 or {}
        common = {
            "uid": buyer.siret + c.id, "id": c.id, "nature": c.nature, "acheteur_id": buyer.siret,
            "acheteur_nom": buyer.name, "objet": c.objet, "type": c.cpv.type,
            "codeCPV": c.cpv_code, "procedure": c.procedure,
            "techniques": _joined(t.get("techniques")), "offresRecues": t.get("offresRecues"),
            "formePrix": c.forme_prix, "typesPrix": _joined(t.get("typesPrix")),
            "attributionAvance": t.get("attributionAvance"), "tauxAvance": t.get("tauxAvance"),
            "marcheInnovant": t.get("marcheInnovant"),
            "modalitesExecution": _joined(t.get("modalitesExecution")),
            "considerationsSociales": _joined(t.get("considerationsSociales")),
            "considerationsEnvironnementales": _joined(t.get("considerationsEnvironnementales")),
            "ccag": _none_if(t.get("ccag"), "Pas de CCAG"),
            "sousTraitanceDeclaree": t.get("sousTraitanceDeclaree"),
            "typeGroupementOperateurs": _none_if(t.get("typeGroupementOperateurs"),
                                                 "Pas de groupement"),
            "origineUE": t.get("origineUE"), "origineFrance": t.get("origineFrance"),
            "lieuExecution_code": c.place_code, "lieuExecution_typeCode": c.place_type,
            "idAccordCadre": t.get("idAccordCadre"), "acheteur_categorie": buyer.category or None,
            "acheteur_commune_code": place.commune_code, "acheteur_commune_nom": place.name,
            "acheteur_departement_code": place.departement_code,
            "acheteur_departement_nom": place.departement_name,
            "acheteur_region_code": place.region_code, "acheteur_region_nom": place.region_name,
            "acheteur_latitude": place.latitude, "acheteur_longitude": place.longitude,
            "sourceDataset": c.source, "sourceFile": c.source_url,
        }
        versions = [(0, c.notified, c.published, c.amount, c.duration, c.titulaires, set())]
        amount, duration, titulaires, overridden = c.amount, c.duration, c.titulaires, {"dates"}
        for number, modification in enumerate(c.modifications, 1):
            if modification.amount is not None:
                amount = modification.amount
                overridden = overridden | {"amount"}
            if modification.duration is not None:
                duration = modification.duration
                overridden = overridden | {"duration"}
            if modification.titulaires is not None:
                titulaires = modification.titulaires
                overridden = overridden | {"titulaires"}
            versions.append((number, modification.notified, modification.published, amount,
                             duration, titulaires, overridden))
        rows, quirks = [], {}
        for number, notified, published, amount, duration, titulaires, skip in versions:
            values = dict(common, montant=float(amount), dureeMois=duration,
                          dureeRestanteMois=_remaining_months(notified, duration),
                          dateNotification=notified, datePublicationDonnees=published,
                          modification_id=number, donneesActuelles=number == len(c.modifications))
            row_quirks = [name for group, name in c.tags.items() if group not in skip]
            for supplier in titulaires or [None]:
                row = values | _titulaire_columns(supplier, place)
                rows.append([row[name] for name in TABULAR_COLUMNS])
                for name in row_quirks:
                    quirks[name] = quirks.get(name, 0) + 1
                if supplier is not None and supplier.siret_quirk:
                    quirks[supplier.siret_quirk] = quirks.get(supplier.siret_quirk, 0) + 1
        return Item(rows, quirks, c.kind, c.hdf, len(c.modifications), len(c.titulaires),
                    rows=len(rows), hdf_rows=len(rows) if c.hdf else 0)


def _iso(day: int) -> str:
    return date.fromordinal(day).isoformat()


def _none_if(value, meaning_none: str):
    return None if value == meaning_none else value


def _clean_amount(amount: float) -> float:
    """Keep generated amounts clear of the repeated-digit placeholders (111111)."""
    return round(amount + 1, 2) if len(set(str(int(amount)))) == 1 else amount


def _joined(values) -> str | None:
    """List values as decp.info writes them; "Sans objet" / "Pas de ..." mean none."""
    if not values:
        return None
    kept = [value for value in values if value != "Sans objet" and not value.startswith("Pas de ")]
    return ", ".join(kept) or None


def _remaining_months(notified: int | None, duration) -> float | None:
    if notified is None or not isinstance(duration, int) or notified < _YEAR_1900:
        return None
    remaining = round((notified + duration * 30.5 - _REFERENCE) / 30, 1)
    return float(min(max(remaining, 0.0), duration))


_NO_TITULAIRE = dict.fromkeys(name for name in TABULAR_COLUMNS if name.startswith("titulaire_"))


def _titulaire_columns(supplier: Supplier | None, buyer_place) -> dict:
    if supplier is None:
        return _NO_TITULAIRE
    columns = dict(_NO_TITULAIRE, titulaire_id=supplier.identifier,
                   titulaire_typeIdentifiant=supplier.type_identifiant, titulaire_nom=supplier.name,
                   titulaire_categorie=supplier.size or None)
    place = supplier.place
    if place is not None:  # foreign suppliers have no French place
        columns.update(
            titulaire_distance=_distance_km(buyer_place, place),
            titulaire_commune_code=place.commune_code, titulaire_commune_nom=place.name,
            titulaire_departement_code=place.departement_code,
            titulaire_departement_nom=place.departement_name,
            titulaire_region_code=place.region_code, titulaire_region_nom=place.region_name,
            titulaire_latitude=place.latitude, titulaire_longitude=place.longitude)
    return columns


def _distance_km(a, b) -> int:
    """Great-circle distance between two places, in whole kilometres."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return round(2 * 6371 * math.asin(min(1.0, math.sqrt(h))))


# -- writers ------------------------------------------------------------------------------------

def _open_writer(path: Path, layout: str):
    if layout == "decp-2019":
        return _JsonWriter(path, b'{"marches": [\n', {}, b"\n]}\n")
    if layout == "decp-v2":
        sections = {"marche": b'"marche": [\n',
                    "contrat-concession": b'\n],\n"contrat-concession": [\n'}
        return _JsonWriter(path, b'{"marches": {', sections, b"\n]}}\n")
    return _TabularWriter(path, parquet=layout == "tabular-parquet")


class _JsonWriter:
    """Items written one by one between an opening and a closing, never held in memory."""

    def __init__(self, path: Path, opening: bytes, section_openings: dict, closing: bytes):
        self.path, self.opening, self.closing = path, opening, closing
        self.sections = section_openings

    def __enter__(self):
        self.stream = self.path.open("wb", buffering=1 << 20)
        self.stream.write(self.opening)
        self.first = True
        return self

    def start_section(self, kind: str) -> None:
        if kind in self.sections:  # a new list; else the single list goes on
            self.stream.write(self.sections[kind])
            self.first = True

    def write(self, record: dict) -> None:
        if not self.first:
            self.stream.write(b",\n")
        self.first = False
        self.stream.write(orjson.dumps(record, option=orjson.OPT_INDENT_2))

    def __exit__(self, *exc_info):
        try:
            if exc_info[0] is None:
                self.stream.write(self.closing)
        finally:
            self.stream.close()


class _TabularWriter:
    """Rows gathered in Arrow batches of TABULAR_BATCH_ROWS, then written as Parquet or CSV."""

    def __init__(self, path: Path, parquet: bool):
        self.path, self.parquet, self.rows = path, parquet, []

    def __enter__(self):
        if self.parquet:
            self.sink = pq.ParquetWriter(self.path, TABULAR_SCHEMA, compression="zstd")
        else:
            self.sink = pa_csv.CSVWriter(self.path, TABULAR_SCHEMA,
                                         write_options=pa_csv.WriteOptions(quoting_style="needed"))
        return self

    def start_section(self, kind: str) -> None:
        pass

    def write(self, rows: list) -> None:
        self.rows.extend(rows)
        if len(self.rows) >= TABULAR_BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self.rows:
            return
        columns = []
        for name, values in zip(TABULAR_COLUMNS, zip(*self.rows)):
            if name in _DATE_COLUMNS:
                values = [None if day is None else day - _EPOCH for day in values]
            columns.append(pa.array(values, type=TABULAR_SCHEMA.field(name).type))
        self.sink.write_table(pa.Table.from_arrays(columns, schema=TABULAR_SCHEMA))
        self.rows = []

    def __exit__(self, *exc_info):
        try:
            if exc_info[0] is None:
                self._flush()
        finally:
            self.sink.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS,
                        help="contract items to write, duplicates included (default 1,000,000)")
    parser.add_argument("--layout", choices=LAYOUTS, default="decp-2019")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, type=Path, help="file to write")
    parser.add_argument("--quirk-scale", type=float, default=1.0,
                        help="multiply every quirk rate (default 1: the real-file rates)")
    parser.add_argument("--reference-dir", type=Path,
                        default=Path(os.environ.get("ORCP_REFERENCE_DIR", DEFAULT_REFERENCE_DIR)),
                        help="folder of the COG, La Poste, CPV and source-dataset reference files")
    args = parser.parse_args(argv)
    try:
        summary = generate(args.out, args.records, args.layout, args.seed, args.reference_dir,
                           args.quirk_scale)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
