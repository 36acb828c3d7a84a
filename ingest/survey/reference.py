"""COG 2025 communes and départements, to check the codes survey respondents write.

The file is the dbt reference seed (the repository's one copy of COG 2025), else the shared
reference folder of a development checkout.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ingest.survey.schema import normalise
from orcp.settings import PROJECT_ROOT

SEED_COG = PROJECT_ROOT / "dbt_project" / "seeds" / "reference" / "ref_cog_communes.csv"
SHARED_COG = PROJECT_ROOT.parent / "shared" / "data" / "reference" / "cog_2025_communes_dep_reg.csv"
REQUIRED_COLUMNS = {"commune_code", "commune_nom", "departement_code", "departement_nom",
                    "region_code"}


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    departement_code: str
    region_code: str


@dataclass(frozen=True)
class Departement:
    code: str
    name: str
    region_code: str


class Cog:
    """Lookups on COG 2025: communes by code or name, départements by code or name."""

    def __init__(self, rows: list[dict[str, str]]):
        self.communes: dict[str, Commune] = {}
        self.departements: dict[str, Departement] = {}
        self._by_name: dict[str, list[Commune]] = {}
        for row in rows:
            commune = Commune(row["commune_code"], row["commune_nom"], row["departement_code"],
                              row["region_code"])
            self.communes[commune.code] = commune
            self._by_name.setdefault(normalise(commune.name), []).append(commune)
            self.departements.setdefault(commune.departement_code, Departement(
                commune.departement_code, row["departement_nom"], commune.region_code))
        self._departements_by_name = {normalise(d.name): d for d in self.departements.values()}

    def communes_named(self, name: str, departement_code: str | None = None) -> list[Commune]:
        found = self._by_name.get(normalise(name), [])
        return [c for c in found if departement_code in (None, c.departement_code)]

    def departement_named(self, name: str) -> Departement | None:
        return self._departements_by_name.get(normalise(name))


def cog_path() -> Path:
    """The COG communes file: the dbt seed if present, else the shared reference file."""
    for candidate in (SEED_COG, SHARED_COG):
        if candidate.is_file() and REQUIRED_COLUMNS <= set(_header(candidate)):
            return candidate
    raise FileNotFoundError(f"COG 2025 communes file not found: expected {SEED_COG} or {SHARED_COG},"
                            f" with columns {sorted(REQUIRED_COLUMNS)}")


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return next(csv.reader(stream), [])


@lru_cache(maxsize=1)
def load_cog() -> Cog:
    with cog_path().open(encoding="utf-8-sig", newline="") as stream:
        return Cog(list(csv.DictReader(stream)))
