"""Pools the synthetic DECP generator draws from: places, buyers, suppliers, CPV codes, platforms.

Places come from the real reference tables (La Poste postal codes joined to COG 2025 communes),
CPV codes from the CPV 2008 table and platform codes from the decp.info source list, so that
generated files look like the national ones. Every pool is built once from ``random.Random`` and
is bounded by the national sizes, so memory does not grow with the number of records.
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

HDF_REGION = "32"

# Contract and party counts of the national consolidated data (DATA.md, January 2026): pools are
# scaled to the number of records asked for, between a floor and these national sizes.
NATIONAL_CONTRACTS = 1_539_892
NATIONAL_BUYERS = 26_773
NATIONAL_SUPPLIERS = 193_799
MIN_BUYERS = 60
MIN_SUPPLIERS = 400

# Shares of buyer categories (acheteur_categorie of the decp.info table schema; "" = outside its
# list, e.g. schools, fire services, social action centres).
BUYER_CATEGORY_WEIGHTS = {
    "Commune": 0.44, "Groupement de communes": 0.10, "Département": 0.02, "Région": 0.005,
    "État": 0.08, "Établissement hospitalier": 0.06, "EPIC": 0.07, "Syndicat mixte": 0.06,
    "": 0.165,
}
SUPPLIER_SIZE_WEIGHTS = {"PME": 0.82, "ETI": 0.11, "GE": 0.07}
# Share of suppliers identified by a foreign VAT number or as outside the EU.
FOREIGN_TVA_RATE = 0.008
FOREIGN_HORS_UE_RATE = 0.002
# Share of works / supplies / services among contracts (OECP census orders of magnitude).
CPV_TYPE_WEIGHTS = {"Travaux": 0.30, "Fournitures": 0.28, "Services": 0.42}
# Activity is concentrated: a party is drawn at index int(size * random() ** SKEW).
ACTIVITY_SKEW = 2.2

_SURNAMES = (
    "MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY",
    "MOREAU", "SIMON", "LAURENT", "LEFEBVRE", "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX",
    "VINCENT", "FOURNIER", "MOREL", "GIRARD", "ANDRE", "LEFEVRE", "MERCIER", "DUPONT", "LAMBERT",
    "BONNET", "FRANCOIS", "MARTINEZ", "LEGRAND", "GARNIER", "FAURE", "ROUSSEAU", "BLANC", "GUERIN",
    "MULLER", "HENRY", "ROUSSEL", "NICOLAS", "PERRIN", "MORIN", "MATHIEU", "CLEMENT", "GAUTHIER",
    "DUMONT", "LOPEZ", "FONTAINE", "CHEVALIER", "ROBIN", "MASSON", "SANCHEZ", "GERARD", "NGUYEN",
    "BOYER", "DENIS", "LEMAIRE", "DUVAL", "JOLY", "GAUTIER", "ROGER", "ROCHE", "ROY", "NOEL",
    "MEYER", "LUCAS", "MEUNIER", "JEAN", "PEREZ", "MARCHAND", "DUFOUR", "BLANCHARD", "MARIE",
    "BARBIER", "BRUN", "DUMAS", "BRUNET", "SCHMITT", "LEROUX", "COLIN", "FERNANDEZ", "PIERRE",
    "RENARD", "ARNAUD", "ROLLAND", "CARON", "AUBERT", "GIRAUD", "LECLERC"
)
_TRADES = (
    "BTP", "CONSTRUCTION", "BATIMENT", "TRAVAUX PUBLICS", "ELECTRICITE", "PLOMBERIE", "CHAUFFAGE",
    "MENUISERIE", "CHARPENTE", "COUVERTURE", "PEINTURE", "MACONNERIE", "TERRASSEMENT", "PAYSAGE",
    "ESPACES VERTS", "VOIRIE", "INFORMATIQUE", "NUMERIQUE", "CONSEIL", "INGENIERIE", "ARCHITECTES",
    "ETUDES", "NETTOYAGE", "PROPRETE", "RESTAURATION", "TRANSPORTS", "FOURNITURES", "BUREAUTIQUE",
    "MOBILIER", "SECURITE", "ASCENSEURS", "ENERGIE", "ENVIRONNEMENT", "SIGNALISATION",
    "IMPRIMERIE", "FORMATION", "MEDICAL", "AUTOMOBILES", "EQUIPEMENTS"
)
_LEGAL_FORMS = ("SAS", "SARL", "SA", "EURL", "SASU", "SCOP", "")
_FOREIGN_VAT_PREFIXES = ("BE0", "DE", "ES", "IT", "LU", "NL")


@dataclass(frozen=True, slots=True)
class Place:
    commune_code: str
    postal_code: str
    name: str
    departement_code: str
    departement_name: str
    region_code: str
    region_name: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Buyer:
    siret: str
    name: str
    category: str
    place: Place
    siret_valid: bool  # False: a buyer whose published SIRET fails the Luhn check


@dataclass(frozen=True, slots=True)
class Supplier:
    identifier: str
    type_identifiant: str  # "SIRET", "TVA" or "HORS-UE"
    name: str
    size: str  # PME / ETI / GE, "" for foreign suppliers
    place: Place | None  # None for foreign suppliers
    siret_quirk: str | None  # name of the malformed-SIRET quirk this supplier carries


@dataclass(frozen=True, slots=True)
class Cpv:
    code: str  # with check digit, e.g. "45000000-7"
    label: str
    type: str  # Travaux / Fournitures / Services


@dataclass(frozen=True, slots=True)
class Platform:
    code: str
    url: str


def luhn_complete(body: str) -> str:
    """``body`` followed by the digit that makes the whole string pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:  # doubled once the check digit is appended on the right
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return body + str(-total % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_complete(number[:-1]) == number


def skewed_pick(rng: random.Random, items: list):
    """One item, the first ones far more often (a few parties make most contracts)."""
    return items[int(len(items) * rng.random() ** ACTIVITY_SKEW)]


def scaled(national: int, records: int, floor: int) -> int:
    return min(national, max(floor, math.ceil(national * records / NATIONAL_CONTRACTS)))


@lru_cache(maxsize=4)  # reference tables are read once per process
def load_places(reference_dir: Path) -> tuple[Place, ...]:
    """Postal code x commune pairs of France (regions with a two-digit code), with coordinates.

    Pairs whose postal code does not start with the commune's département are left out, so a
    postal code always tells the département and the region of the place.
    """
    with (reference_dir / "cog_2025_communes_dep_reg.csv").open(encoding="utf-8", newline="") as f:
        communes = {row["commune_code"]: row for row in csv.DictReader(f)}
    places: dict[tuple[str, str], Place] = {}
    path = reference_dir / "laposte_hexasmal_2020.csv"
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            commune = communes.get(row["Code_commune_INSEE"])
            gps = row["coordonnees_gps"]
            if not commune or not gps or len(commune["region_code"]) != 2:
                continue
            postal, dep = row["Code_postal"], commune["departement_code"]
            if not postal.startswith("20" if dep in ("2A", "2B") else dep):
                continue
            latitude, longitude = (float(part) for part in gps.split(","))
            places[(commune["commune_code"], postal)] = Place(
                commune["commune_code"], postal, commune["commune_nom"], dep,
                commune["departement_nom"], commune["region_code"], commune["region_nom"],
                latitude, longitude)
    if not places:
        raise ValueError(f"{path}: no usable postal code (is the reference folder right?)")
    return tuple(places.values())


@lru_cache(maxsize=4)
def load_cpv(reference_dir: Path) -> dict[str, tuple[Cpv, ...]]:
    """CPV 2008 codes by type: division 45 works, 01-44 and 48 supplies, the others services."""
    by_type: dict[str, list[Cpv]] = {kind: [] for kind in CPV_TYPE_WEIGHTS}
    with (reference_dir / "cpv_2008_fr.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            division = int(row["CODE"][:2])
            kind = ("Travaux" if division == 45 else
                    "Fournitures" if division < 45 or division == 48 else "Services")
            by_type[kind].append(Cpv(row["CODE"], row["FR"].strip(), kind))
    return {kind: tuple(codes) for kind, codes in by_type.items()}


@lru_cache(maxsize=4)
def load_platforms(reference_dir: Path) -> tuple[Platform, ...]:
    """The data.gouv.fr datasets consolidated by decp.info: code and dataset address."""
    datasets = json.loads((reference_dir / "decp_processing_source_datasets.json").read_bytes())
    return tuple(Platform(item["code"], f"https://www.data.gouv.fr/datasets/{item['id']}/")
                 for item in datasets)


def make_buyers(rng: random.Random, places: tuple[Place, ...], count: int,
                hdf_count: int, invalid_rate: float) -> tuple[list[Buyer], list[Buyer]]:
    """(buyers located in Hauts-de-France, buyers elsewhere), SIRETs unique.

    Exactly ``round(count * invalid_rate)`` buyers, drawn at random, publish a SIRET failing the
    Luhn check: a small pool still gets its share."""
    hdf_places = [place for place in places if place.region_code == HDF_REGION]
    other_places = [place for place in places if place.region_code != HDF_REGION]
    categories, weights = zip(*BUYER_CATEGORY_WEIGHTS.items())
    invalid = set(rng.sample(range(count), round(count * invalid_rate)))
    seen: set[str] = set()

    def one(number: int, place_pool: list[Place]) -> Buyer:
        place = rng.choice(place_pool)
        category = rng.choices(categories, weights)[0]
        valid = number not in invalid
        siret = _unique(seen, lambda: _buyer_siret(rng, category, place, valid))
        return Buyer(siret, _buyer_name(rng, category, place), category, place, valid)

    hdf = [one(number, hdf_places) for number in range(hdf_count)]
    others = [one(number, other_places) for number in range(hdf_count, count)]
    return hdf, others


def make_suppliers(rng: random.Random, places: tuple[Place, ...], count: int,
                   siret_quirk_rates: dict[str, float]) -> list[Supplier]:
    """Suppliers, mostly French SMEs with valid SIRETs; some foreign, some with malformed SIRETs."""
    sizes, size_weights = zip(*SUPPLIER_SIZE_WEIGHTS.items())
    quirk_table = cumulative(siret_quirk_rates)
    seen: set[str] = set()
    suppliers = []
    for _ in range(count):
        name = _supplier_name(rng)
        draw = rng.random()
        if draw < FOREIGN_TVA_RATE:
            vat = _unique(seen, lambda: rng.choice(_FOREIGN_VAT_PREFIXES) + _digits(rng, 9))
            suppliers.append(Supplier(vat, "TVA", name, "", None, None))
            continue
        if draw < FOREIGN_TVA_RATE + FOREIGN_HORS_UE_RATE:
            code = _unique(seen, lambda: "CHE" + _digits(rng, 9))
            suppliers.append(Supplier(code, "HORS-UE", name, "", None, None))
            continue
        quirk = draw_from(quirk_table, rng.random())
        identifier = _unique(seen, lambda q=quirk: _malformed_siret(_company_siret(rng), q))
        suppliers.append(Supplier(identifier, "SIRET", name, rng.choices(sizes, size_weights)[0],
                                  rng.choice(places), quirk))
    return suppliers


def cumulative(rates: dict[str, float]) -> tuple[tuple[float, str], ...]:
    """Cumulative thresholds for drawing at most one of mutually exclusive outcomes."""
    table, total = [], 0.0
    for name, rate in rates.items():
        if rate > 0:
            total += rate
            table.append((total, name))
    if total > 1:
        raise ValueError(f"rates add up to more than 1: {rates}")
    return tuple(table)


def draw_from(table: tuple[tuple[float, str], ...], draw: float) -> str | None:
    for threshold, name in table:
        if draw < threshold:
            return name
    return None


def _unique(seen: set[str], make) -> str:
    while True:
        value = make()
        if value not in seen:
            seen.add(value)
            return value


def _digits(rng: random.Random, count: int) -> str:
    return str(rng.randrange(10**count)).zfill(count)


def _company_siret(rng: random.Random) -> str:
    siren = luhn_complete(str(rng.randint(3, 9)) + _digits(rng, 7))
    return luhn_complete(siren + str(rng.choice((1, 1, 1, 2, 3, 4, 5, 12, 25, 48))).zfill(4))


def _buyer_siret(rng: random.Random, category: str, place: Place, valid: bool) -> str:
    """SIRET with the SIREN prefix INSEE uses for the category (21: communes, 22: départements...);
    when not ``valid``, its last digit is off by one so that the Luhn check fails."""
    dep = place.departement_code.replace("2A", "20").replace("2B", "20")[:2]
    commune = place.commune_code[-3:].replace("A", "0").replace("B", "0")
    body = {
        "Commune": "21" + dep + "0" + commune,
        "Département": "22" + dep + "00" + _digits(rng, 2),
        "Région": "23" + _digits(rng, 6),
        "Groupement de communes": "200" + _digits(rng, 5),
        "État": "1" + _digits(rng, 7),
        "Établissement hospitalier": "26" + dep + _digits(rng, 4),
        "EPIC": rng.choice(("27", "77", "38")) + _digits(rng, 6),
        "Syndicat mixte": "25" + dep + _digits(rng, 4),
    }.get(category, rng.choice(("19", "26", "28")) + dep + _digits(rng, 4))
    siret = luhn_complete(luhn_complete(body) + _digits(rng, 4))
    return siret if valid else _malformed_siret(siret, "siret_luhn_invalid")


def _malformed_siret(siret: str, quirk: str | None) -> str:
    """The malformed shapes seen in real files: bad check digit, SIREN only, lost or extra digit,
    SIRET written with spaces (17 characters)."""
    if quirk is None:
        return siret
    if quirk == "siret_luhn_invalid":
        return siret[:-1] + str((int(siret[-1]) + 1) % 10)
    if quirk == "siret_9_chars":
        return siret[:9]
    if quirk == "siret_13_chars":
        return siret[:13]
    if quirk == "siret_15_chars":
        return "0" + siret
    if quirk == "siret_17_chars":
        return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    raise ValueError(f"unknown SIRET quirk {quirk!r}")


def _buyer_name(rng: random.Random, category: str, place: Place) -> str:
    town, dep = place.name, place.departement_name
    if category == "Commune":
        return rng.choice((f"COMMUNE DE {town.upper()}", f"Ville de {town}",
                           f"MAIRIE DE {town.upper()}"))
    if category == "Groupement de communes":
        return rng.choice((f"COMMUNAUTE DE COMMUNES DE {town.upper()}",
                           f"Communauté d'agglomération de {town}"))
    if category == "Département":
        return f"DEPARTEMENT {dep.upper()}"
    if category == "Région":
        return f"REGION {place.region_name.upper()}"
    if category == "État":
        return rng.choice((f"PREFECTURE {dep.upper()}",
                           f"DIRECTION DEPARTEMENTALE DES TERRITOIRES {dep.upper()}",
                           f"Université de {town}"))
    if category == "Établissement hospitalier":
        return f"CENTRE HOSPITALIER DE {town.upper()}"
    if category == "EPIC":
        return rng.choice((f"OFFICE PUBLIC DE L'HABITAT {dep.upper()}",
                           f"Régie des eaux de {town}"))
    if category == "Syndicat mixte":
        return f"SYNDICAT MIXTE {town.upper()}"
    return rng.choice((f"COLLEGE {rng.choice(_SURNAMES)} {town.upper()}", f"SDIS {dep.upper()}",
                       f"CCAS DE {town.upper()}"))


def _supplier_name(rng: random.Random) -> str:
    form = rng.choice(_LEGAL_FORMS)
    stem = rng.choice((rng.choice(_SURNAMES), f"{rng.choice(_SURNAMES)} {rng.choice(_TRADES)}",
                       f"{rng.choice(_TRADES)} {rng.choice(_SURNAMES)}",
                       f"{rng.choice(_SURNAMES)} ET FILS"))
    return f"{form} {stem}" if form else stem
