"""Read the values people type in a survey spreadsheet: amounts, periods, durations, yes/no, SIRET.

Every parser takes the cell as it came (text, number, date or None), returns the typed value
(None for an empty or explicitly unknown cell) and raises ``Unreadable`` with a French message
for anything it cannot read with confidence. Parsing never guesses beyond the documented forms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from ingest.survey.schema import Choice, choice_lookup, normalise

MIN_YEAR, MAX_YEAR = 2000, 2100
EXCEL_EPOCH = date(1899, 12, 30)
# Serial day numbers Excel shows when a date cell lost its format (1954 to 2118).
EXCEL_SERIALS = range(20_000, 80_000)

# "I don't know" written in words: an unknown value, not an unreadable one.
UNKNOWN_MARKERS = {"", "nc", "n c", "non connu", "non communique", "inconnu", "a definir", "ad",
                   "nd", "n d", "non defini", "sans objet", "so", "ne sait pas", "nsp"}


class Unreadable(ValueError):
    """A value that cannot be read; the message (French) goes into the report."""


def cell_text(value: object) -> str:
    """The cell as the user sees it, for the report."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y") if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def is_unknown(value: object) -> bool:
    return is_blank(value) or (isinstance(value, str) and normalise(value) in UNKNOWN_MARKERS
                               or str(value).strip() in {"?", "-", "–"})


# --- amounts -----------------------------------------------------------------------------

_MULTIPLIERS = {"k": 1_000, "keur": 1_000, "millier": 1_000, "milliers": 1_000,
                "m": 1_000_000, "meur": 1_000_000, "mio": 1_000_000, "million": 1_000_000,
                "millions": 1_000_000, "md": 1_000_000_000, "mds": 1_000_000_000,
                "milliard": 1_000_000_000, "milliards": 1_000_000_000}
_AMOUNT = re.compile(
    r"^(?P<number>\d[\d\s.,']*?)\s*(?:e(?P<exponent>[+-]?\d{1,2}))?\s*(?P<unit>[a-z]+)?$")
_TAX_SUFFIX = re.compile(r"\s*(hors\s+taxes?|h\.?\s?t\.?)\s*$")
AMOUNT_FORMS = "1 200 000 ; 1,2 M€ ; 850 k€ ; 1.2e6"


def parse_amount(value: object) -> Decimal | None:
    """EUR amount from 1200000, '1 200 000', '1,2 M€', '850 k€', '1.2e6', '1.200.000 € HT'."""
    if isinstance(value, bool):
        raise Unreadable(f"montant illisible (formes acceptées : {AMOUNT_FORMS})")
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if is_unknown(value):
        return None
    text = str(value).lower().replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " ")
    if "ttc" in text:
        raise Unreadable("montant TTC : indiquer le montant hors taxes (HT)")
    text = re.sub(r"€|\beuros?\b|\beur\b", " ", text).strip()
    text = _TAX_SUFFIX.sub("", text).strip()
    match = _AMOUNT.match(text)
    unit = match and match.group("unit")
    if not match or (unit and unit not in _MULTIPLIERS):
        raise Unreadable(f"montant illisible (formes acceptées : {AMOUNT_FORMS})")
    scaled = bool(unit or match.group("exponent"))
    number = _decimal(match.group("number"), scaled)
    if match.group("exponent"):
        number = number.scaleb(int(match.group("exponent")))
    return number * _MULTIPLIERS.get(unit, 1)


def _decimal(text: str, scaled: bool) -> Decimal:
    """A number with French or English separators.

    Spaces and apostrophes group thousands. With both ',' and '.', the last one is the decimal
    mark. A single ',' or '.' followed by exactly three digits groups thousands ('850.000')
    unless a unit or exponent follows ('1.200 M€' is 1.2 million); otherwise it is the decimal mark.
    """
    digits = re.sub(r"[\s']", "", text)
    commas, dots = digits.count(","), digits.count(".")
    if commas and dots:
        decimal_mark = "," if digits.rfind(",") > digits.rfind(".") else "."
        digits = digits.replace("." if decimal_mark == "," else ",", "").replace(",", ".")
    elif commas > 1 or dots > 1:
        digits = digits.replace(",", "").replace(".", "")
    elif commas or dots:
        whole, fraction = re.split(r"[.,]", digits)
        digits = f"{whole}{fraction}" if len(fraction) == 3 and not scaled else f"{whole}.{fraction}"
    try:
        return Decimal(digits)
    except InvalidOperation:
        raise Unreadable(f"montant illisible (formes acceptées : {AMOUNT_FORMS})") from None


# --- periods (years, quarters, months, dates) -----------------------------------------------

@dataclass(frozen=True)
class Period:
    year: int
    quarter: int | None = None
    month: int | None = None
    day: int | None = None
    precision: str = "annee"  # annee / semestre / trimestre / mois / jour

    @property
    def first_day(self) -> date:
        month = self.month or (3 * (self.quarter - 1) + 1 if self.quarter else 1)
        return date(self.year, month, self.day or 1)


_MONTHS = {"janvier": 1, "janv": 1, "jan": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3,
           "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8,
           "septembre": 9, "sept": 9, "sep": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11,
           "decembre": 12, "dec": 12}
_ORDINAL = r"([1-4])\s*(?:er|ere|e|eme|nd|nde)?"
_QUARTER_PATTERNS = (
    re.compile(r"^(?:t|q|trim|trimestre)\s*([1-4])\s*(\d{4})$"),  # T3 2026, trimestre 3 2026
    re.compile(rf"^{_ORDINAL}\s*(?:t|trim|trimestre)\s*(\d{{4}})$"),  # 3T2026, 3e trimestre 2026
    re.compile(r"^(\d{4})\s*(?:t|q|trim|trimestre)\s*([1-4])$"),  # 2026-T3, 2026 Q3
)
_SEMESTER_PATTERNS = (
    re.compile(r"^(?:s|sem|semestre)\s*([12])\s*(\d{4})$"),
    re.compile(r"^([12])\s*(?:er|e|eme|nd)?\s*(?:s|sem|semestre)\s*(\d{4})$"),
    re.compile(r"^(\d{4})\s*(?:s|sem|semestre)\s*([12])$"),
)
PERIOD_FORMS = "2026 ; T3 2026 ; 09/2026 ; 15/09/2026"


def parse_period(value: object) -> Period | None:
    """A planned period from a year, a quarter ('T3 2026'), a half-year, a month or a date."""
    if is_unknown(value):
        return None
    if isinstance(value, datetime):
        return _checked(Period(value.year, _quarter_of(value.month), value.month, value.day, "jour"))
    if isinstance(value, date):
        return _checked(Period(value.year, _quarter_of(value.month), value.month, value.day, "jour"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _period_from_number(value)
    period = _period_from_text(normalise(value))
    if period is None:
        raise Unreadable(f"date illisible (formes acceptées : {PERIOD_FORMS})")
    return _checked(period)


def _period_from_number(value: float) -> Period:
    if float(value).is_integer() and MIN_YEAR <= value <= MAX_YEAR:
        return Period(int(value))
    if float(value).is_integer() and int(value) in EXCEL_SERIALS:
        day = EXCEL_EPOCH + timedelta(days=int(value))
        return _checked(Period(day.year, _quarter_of(day.month), day.month, day.day, "jour"))
    raise Unreadable(f"date illisible (formes acceptées : {PERIOD_FORMS})")


def _period_from_text(text: str) -> Period | None:
    if re.fullmatch(r"\d{4}", text):
        return Period(int(text))
    for pattern in _QUARTER_PATTERNS:
        if match := pattern.match(text):
            year, quarter = _year_and_index(match.groups())
            return Period(year, quarter, precision="trimestre")
    for pattern in _SEMESTER_PATTERNS:
        if match := pattern.match(text):
            year, half = _year_and_index(match.groups())
            return Period(year, 2 * half - 1, precision="semestre")
    if match := re.fullmatch(r"(debut|fin)\s*(?:d\s*)?(?:annee\s*)?(\d{4})", text):
        return Period(int(match.group(2)), 1 if match.group(1) == "debut" else 4, precision="trimestre")
    if match := re.fullmatch(r"(\d{1,2})\s(\d{1,2})\s(\d{4})(?:\s.*)?", text):  # 15/09/2026
        return _day(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    if match := re.fullmatch(r"(\d{4})\s(\d{1,2})\s(\d{1,2})(?:\s.*)?", text):  # 2026-09-15
        return _day(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if match := re.fullmatch(r"(\d{1,2})\s(\d{4})", text):  # 09/2026
        return _month(int(match.group(2)), int(match.group(1)))
    if match := re.fullmatch(r"(\d{4})\s(\d{1,2})", text):  # 2026-09
        return _month(int(match.group(1)), int(match.group(2)))
    if match := re.fullmatch(r"([a-z]+)\s(\d{4})", text):  # septembre 2026, sept. 2026
        month = _MONTHS.get(match.group(1))
        return _month(int(match.group(2)), month) if month else None
    return None


def _year_and_index(groups: tuple[str, str]) -> tuple[int, int]:
    first, second = groups
    return (int(first), int(second)) if len(first) == 4 else (int(second), int(first))


def _month(year: int, month: int) -> Period | None:
    return Period(year, _quarter_of(month), month, precision="mois") if 1 <= month <= 12 else None


def _day(year: int, month: int, day: int) -> Period | None:
    try:
        date(year, month, day)
    except ValueError:
        return None
    return Period(year, _quarter_of(month), month, day, "jour")


def _quarter_of(month: int) -> int:
    return (month - 1) // 3 + 1


def _checked(period: Period) -> Period:
    if not MIN_YEAR <= period.year <= MAX_YEAR:
        raise Unreadable(f"année invraisemblable ({period.year})")
    return period


def parse_quarter(value: object) -> int | Period | None:
    """A quarter alone ('T3', '3', 'Q3', '3e trimestre'), or a full period written in the quarter column."""
    if is_unknown(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (1, 2, 3, 4):
        return int(value)
    text = normalise(value)
    if match := re.fullmatch(rf"(?:t|q|trim|trimestre)\s*([1-4])|{_ORDINAL}\s*(?:t|trim|trimestre)?",
                             text):
        return int(match.group(1) or match.group(2))
    try:
        return parse_period(value)
    except Unreadable:
        raise Unreadable("trimestre illisible (T1, T2, T3 ou T4)") from None


# --- other values ---------------------------------------------------------------------------

_DURATION = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(mois|m|ans?|annees?|semaines?|sem|jours?|j)?$")
_MONTHS_PER_UNIT = {"mois": 1, "m": 1, "an": 12, "ans": 12, "annee": 12, "annees": 12,
                    "semaine": 7 / 30.4375, "semaines": 7 / 30.4375, "sem": 7 / 30.4375,
                    "jour": 1 / 30.4375, "jours": 1 / 30.4375, "j": 1 / 30.4375}


def parse_duration(value: object) -> float | None:
    """Duration in months from 18, '18 mois', '2 ans', '1,5 an', '6 semaines'."""
    if is_unknown(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        months = float(value)
    else:
        text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
        match = _DURATION.match(" ".join(text.lower().replace(",", ".").split()))
        if not match:
            raise Unreadable("durée illisible (nombre de mois attendu, ex. 18 ou « 2 ans »)")
        months = float(match.group(1)) * _MONTHS_PER_UNIT[match.group(2) or "mois"]
    if not 0 < months <= 240:
        raise Unreadable("durée invraisemblable (entre 1 et 240 mois attendue)")
    return round(months, 1)


def parse_choice(value: object, choices: tuple[Choice, ...]) -> Choice | None:
    """The list value a cell names (label, code or a common synonym, any case or accents)."""
    if is_blank(value):
        return None
    found = choice_lookup(choices).get(normalise(value))
    if found is None:
        accepted = " / ".join(choice.label for choice in choices)
        raise Unreadable(f"valeur hors liste (valeurs acceptées : {accepted})")
    return found


def parse_yes_no(value: object, choices: tuple[Choice, ...]) -> bool | None:
    choice = parse_choice(value, choices) if not is_unknown(value) else None
    return None if choice is None or choice.code == "nsp" else choice.code == "oui"


def parse_population(value: object, bands: tuple[Choice, ...], limits) -> str | None:
    """A population band code from the band label or from a number of inhabitants."""
    if is_unknown(value):
        return None
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if number is None and re.fullmatch(r"\d[\d\s\u00a0\u202f.]*", str(value).strip()):
        number = int(re.sub(r"\D", "", str(value)))
    if number is None:
        return parse_choice(value, bands).code
    for code, upper in limits:
        if upper is None or number <= upper:
            return code
    raise AssertionError("the last band has no upper bound")


def parse_siret(value: object) -> str | None:
    """A SIRET of 14 digits passing the Luhn check (spaces and dots allowed)."""
    if is_blank(value):
        return None
    text = str(int(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else re.sub(r"[\s.\u00a0\u202f-]", "", str(value))
    if not re.fullmatch(r"\d{14}", text) or not _siret_checksum_ok(text):
        raise Unreadable("SIRET invalide (14 chiffres avec clé de contrôle attendus) : ignoré")
    return text


def _siret_checksum_ok(siret: str) -> bool:
    if siret.startswith("356000000"):  # La Poste: one SIREN, establishments checked by digit sum
        return sum(int(d) for d in siret) % 5 == 0
    total = 0
    for index, digit in enumerate(reversed(siret)):
        doubled = int(digit) * (2 if index % 2 else 1)
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def plain_text(value: object) -> str | None:
    """Free text, trimmed, whitespace collapsed; numbers as written (2026, not 2026.0)."""
    if is_blank(value):
        return None
    return " ".join(cell_text(value).split())
