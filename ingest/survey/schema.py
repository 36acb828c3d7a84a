"""The intake format of the CERC public-works survey: sheets, columns and accepted values.

Everything a CERC user reads (sheet names, headers, help, list labels) is French; keys are English.
The template, the tolerant reader and the validation all read these definitions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

TEMPLATE_VERSION = "1"
LAYOUT = f"cerc-survey-v{TEMPLATE_VERSION}"
SOURCE = "cerc_survey"
RAW_TABLE = "raw.cerc_survey_rows"

RESPONDENT = "respondent"
PROJECT = "project"

RESPONDENTS_SHEET = "Répondants"
PROJECTS_SHEET = "Projets"
INSTRUCTIONS_SHEET = "Mode d'emploi"
LISTS_SHEET = "Listes"
SHEET_NAMES = {RESPONDENT: RESPONDENTS_SHEET, PROJECT: PROJECTS_SHEET}

ERROR = "erreur"  # the row is kept in raw but not loaded into the marts
WARNING = "avertissement"  # the row is loaded; the value concerned is ignored

_STOPWORDS = {"de", "du", "des", "la", "le", "les", "l", "d", "en", "et", "a", "au", "aux", "par",
              "pour", "eur", "ht", "e", "ou"}


def normalise(text: object) -> str:
    """Lower case, no accents, punctuation as spaces, single spaces: how labels are compared."""
    decomposed = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", decomposed.lower()).split())


def words(text: object) -> list[str]:
    return [word for word in normalise(text).split() if word not in _STOPWORDS]


@dataclass(frozen=True)
class Choice:
    code: str  # stored in the warehouse
    label: str  # shown to the CERC (template lists, report)
    synonyms: tuple[str, ...] = ()  # other ways people write it


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # French header of the template
    help: str  # French help, shown as a header comment and in the instructions sheet
    example: str
    required: bool = False
    # Sets of header words that identify the column in a workbook that does not use the
    # template's exact headers; the column goes to the field with the largest matching set.
    keywords: tuple[tuple[str, ...], ...] = ()
    choices: tuple[Choice, ...] = ()
    width: int = 18

    def match_score(self, header: object) -> int:
        tokens = words(header)
        if not tokens:
            return 0
        if " ".join(tokens) == " ".join(words(self.header)):
            return 100
        return max((len(keys) for keys in self.keywords if all(_has(tokens, key) for key in keys)),
                   default=0)


def _has(tokens: list[str], key: str) -> bool:
    # Short keys must match a whole word ("n", "id"); longer ones also match a word's start
    # ("projet" matches "projets", "environnement" matches "environnementale").
    return any(token == key or (len(key) >= 4 and token.startswith(key)) for token in tokens)


def choice_lookup(choices: tuple[Choice, ...]) -> dict[str, Choice]:
    """Normalised label, code and synonyms -> choice."""
    table = {}
    for choice in choices:
        for text in (choice.label, choice.code, *choice.synonyms):
            table[normalise(text)] = choice
    return table


OWNER_TYPES = (
    Choice("commune", "Commune", ("mairie", "ville", "commune nouvelle", "commune deleguee")),
    Choice("epci", "EPCI (intercommunalité)", (
        "epci", "intercommunalite", "communaute de communes", "communaute d agglomeration",
        "communaute urbaine", "metropole", "cc", "ca", "cu", "syndicat intercommunal", "sivu",
        "sivom", "syndicat mixte", "pole metropolitain")),
    Choice("departement", "Département", ("conseil departemental", "cd", "departement")),
    Choice("region", "Région", ("conseil regional", "region")),
    Choice("etat", "État", ("etat", "services de l etat", "prefecture", "ministere", "dreal", "ddt",
                            "ddtm")),
    Choice("bailleur_social", "Bailleur social", (
        "bailleur", "logement social", "oph", "office public de l habitat", "esh", "sa d hlm", "hlm",
        "office public de l habitat oph")),
    Choice("hopital", "Hôpital", ("hopital", "centre hospitalier", "chu", "chr", "ch",
                                  "etablissement de sante", "ght", "ehpad public")),
    Choice("autre", "Autre", ("autres",)),
)

SEGMENTS = (
    Choice("batiment_neuf", "Bâtiment neuf", (
        "batiment construction neuve", "construction neuve", "batiment neuf", "neuf",
        "batiment", "construction")),
    Choice("batiment_renovation", "Rénovation de bâtiment", (
        "renovation", "rehabilitation", "renovation de batiment", "batiment renovation",
        "renovation batiment", "rehabilitation de batiment", "renovation energetique",
        "batiment rehabilitation", "entretien de batiment", "extension rehabilitation")),
    Choice("voirie", "Voirie et routes", (
        "voirie", "routes", "route", "voirie routes", "chaussee", "voirie et reseaux divers", "vrd",
        "travaux routiers")),
    Choice("reseaux_eau", "Réseaux d'eau et d'assainissement", (
        "eau", "assainissement", "eau et assainissement", "reseaux d eau", "reseaux eau",
        "eau potable", "aep", "reseaux humides", "eaux pluviales")),
    Choice("ouvrages_art", "Ouvrages d'art", ("ouvrage d art", "ouvrages d art", "pont", "ponts",
                                             "oa")),
    Choice("energie", "Énergie", ("energie", "reseaux secs", "eclairage public", "reseau de chaleur",
                                  "photovoltaique", "electricite")),
    Choice("amenagement_urbain", "Aménagement urbain", (
        "amenagement", "amenagement urbain", "amenagements urbains", "espaces publics",
        "espace public", "urbanisme", "amenagement d espaces publics")),
    Choice("autre", "Autre", ("autres",)),
)

STATUSES = (
    Choice("etude", "Études", ("etude", "en etude", "etudes prealables", "etudes", "esquisse",
                               "avant projet", "faisabilite")),
    Choice("programme", "Programmé", ("programme", "inscrit au budget", "vote", "budgete",
                                      "programmation")),
    Choice("consultation", "En consultation", ("consultation", "appel d offres", "ao en cours",
                                               "appel d offres en cours", "en cours de consultation",
                                               "lance")),
    Choice("attribue", "Attribué", ("attribue", "notifie", "marche attribue", "marche notifie")),
)

POPULATION_BANDS = (
    Choice("moins_1000", "Moins de 1 000 habitants", ("< 1 000", "moins de 1000", "0 999")),
    Choice("1000_4999", "De 1 000 à 4 999 habitants", ("1 000 a 4 999", "1000 4999", "1000 a 4999")),
    Choice("5000_19999", "De 5 000 à 19 999 habitants", ("5 000 a 19 999", "5000 19999",
                                                         "5000 a 19999")),
    Choice("20000_99999", "De 20 000 à 99 999 habitants", ("20 000 a 99 999", "20000 99999",
                                                           "20000 a 99999")),
    Choice("100000_plus", "100 000 habitants ou plus", ("plus de 100 000", "100000 et plus",
                                                       "100 000 et plus", "> 100 000")),
)
# Band upper bounds (inclusive) for a population written as a number; None = no bound.
POPULATION_BAND_LIMITS = (("moins_1000", 999), ("1000_4999", 4999), ("5000_19999", 19999),
                          ("20000_99999", 99999), ("100000_plus", None))
UNDER_5000_BANDS = {"moins_1000", "1000_4999"}

YES_NO = (
    Choice("oui", "Oui", ("o", "x", "yes", "y", "vrai", "true", "1", "prevue", "prevu")),
    Choice("non", "Non", ("n", "no", "faux", "false", "0", "aucune", "aucun")),
    Choice("nsp", "Ne sait pas", ("nsp", "ne sais pas", "?", "inconnu", "a definir", "non defini")),
)

QUARTERS = tuple(Choice(str(q), f"T{q}") for q in range(1, 5))

HAUTS_DE_FRANCE = "32"
HDF_DEPARTEMENTS = (("02", "Aisne"), ("59", "Nord"), ("60", "Oise"), ("62", "Pas-de-Calais"),
                    ("80", "Somme"))

_RESPONDENT_ID = Column(
    "respondent_id", "Identifiant répondant",
    "Identifiant unique de la réponse dans le classeur (une réponse = un maître d'ouvrage pour une"
    " vague). Il relie chaque projet à son répondant.", "R001", required=True,
    keywords=(("identifiant", "repondant"), ("id", "repondant"), ("n", "repondant"),
              ("numero", "repondant"), ("code", "repondant"), ("repondant",), ("ref", "repondant")),
    width=14)

RESPONDENT_COLUMNS = (
    _RESPONDENT_ID,
    Column("survey_wave", "Vague d'enquête",
           "Vague (campagne) de l'enquête, par exemple 2026. Un même maître d'ouvrage répond une fois"
           " par vague.", "2026", required=True,
           keywords=(("vague",), ("campagne",), ("millesime",), ("annee", "enquete")), width=12),
    Column("owner_name", "Nom du maître d'ouvrage", "Nom de la collectivité ou de l'organisme.",
           "Commune d'Abbeville", required=True,
           keywords=(("nom", "maitre", "ouvrage"), ("maitre", "ouvrage"), ("nom", "repondant"),
                     ("raison", "sociale"), ("denomination",), ("nom", "organisme"),
                     ("nom", "collectivite"), ("nom", "structure")), width=34),
    Column("siret", "SIRET", "SIRET à 14 chiffres (facultatif mais recommandé).", "21800001400017",
           keywords=(("siret",),), width=17),
    Column("owner_type", "Type de maître d'ouvrage", "Choisir dans la liste.", "Commune",
           required=True, choices=OWNER_TYPES,
           keywords=(("type", "maitre", "ouvrage"), ("type", "repondant"), ("categorie",),
                     ("type", "structure"), ("type", "organisme"), ("type",)), width=24),
    Column("departement", "Département",
           "Code du département du maître d'ouvrage (02, 59, 60, 62, 80). Peut être omis si le code"
           " INSEE de la commune est renseigné.", "80",
           keywords=(("departement",), ("dept",), ("dpt",)), width=16),
    Column("commune_code", "Code INSEE de la commune",
           "Code INSEE (COG 2025) à 5 caractères de la commune du maître d'ouvrage, obligatoire pour"
           " une commune (ce n'est pas le code postal).", "80001",
           keywords=(("code", "insee"), ("insee",), ("code", "commune"), ("commune",)), width=14),
    Column("population_band", "Tranche de population",
           "Pour une commune : tranche de population (choisir dans la liste, ou indiquer le nombre"
           " d'habitants).", "De 20 000 à 99 999 habitants",
           choices=POPULATION_BANDS,
           keywords=(("tranche", "population"), ("population",), ("habitants",), ("strate",)),
           width=28),
    Column("no_project", "Aucun projet prévu",
           "« Oui » si le maître d'ouvrage n'a aucun projet de travaux à déclarer pour cette vague.",
           "Non", choices=YES_NO,
           keywords=(("aucun", "projet"), ("pas", "projet"), ("sans", "projet")), width=12),
)

PROJECT_COLUMNS = (
    _RESPONDENT_ID,
    Column("label", "Intitulé du projet", "Intitulé court du projet.",
           "Réhabilitation de l'école Jules Ferry", required=True,
           keywords=(("intitule",), ("libelle",), ("nom", "projet"), ("objet",), ("designation",),
                     ("projet",)), width=40),
    Column("commune_code", "Code INSEE de la commune des travaux",
           "Code INSEE (COG 2025) de la commune où ont lieu les travaux. Vide : commune du répondant.",
           "80001", keywords=(("code", "insee"), ("insee",), ("code", "commune"), ("commune",),
                              ("lieu",), ("localisation",)), width=14),
    Column("segment", "Segment", "Segment de travaux : choisir dans la liste.", "Rénovation de bâtiment",
           required=True, choices=SEGMENTS,
           keywords=(("segment",), ("secteur",), ("domaine",), ("type", "ouvrage"), ("categorie",)),
           width=30),
    Column("nature", "Nature des travaux", "Description libre (construction, extension, mise aux"
           " normes, ...).", "Isolation et chauffage", keywords=(("nature",), ("description",)),
           width=30),
    Column("amount_eur", "Montant estimé HT (€)",
           "Montant prévisionnel hors taxes. Formes acceptées : 1 200 000 ; 1,2 M€ ; 850 k€ ; 1.2e6.",
           "1 200 000", keywords=(("montant",), ("cout",), ("budget",), ("estimation",),
                                  ("enveloppe",)), width=16),
    Column("tender_year", "Année prévisionnelle de consultation",
           "Année de lancement de la consultation (2026), ou un trimestre (T3 2026), ou une date.",
           "2026", keywords=(("annee", "consultation"), ("date", "consultation"),
                             ("annee", "lancement"), ("annee", "appel"), ("consultation",),
                             ("annee",)), width=14),
    Column("tender_quarter", "Trimestre prévisionnel de consultation",
           "Trimestre de lancement de la consultation des entreprises : T1, T2, T3 ou T4.", "T3",
           choices=QUARTERS, keywords=(("trimestre", "consultation"), ("trimestre",)), width=14),
    Column("works_start", "Début prévisionnel des travaux",
           "Année, trimestre (T1 2027), mois (03/2027) ou date de démarrage des travaux.", "T1 2027",
           keywords=(("debut", "travaux"), ("demarrage",), ("commencement",), ("date", "travaux"),
                     ("debut",)), width=16),
    Column("duration_months", "Durée des travaux (mois)", "Durée prévisionnelle en mois (ou « 2 ans »).",
           "18", keywords=(("duree",),), width=12),
    Column("status", "Statut", "Avancement : choisir dans la liste.", "Programmé", choices=STATUSES,
           keywords=(("statut",), ("avancement",), ("stade",), ("etat", "projet")), width=16),
    Column("social_clause", "Clause sociale prévue",
           "Une clause sociale (insertion) est-elle prévue ? Oui / Non / Ne sait pas.", "Oui",
           choices=YES_NO, keywords=(("clause", "sociale"), ("insertion",), ("social",)), width=12),
    Column("environmental_criterion", "Critère environnemental",
           "Un critère ou une clause environnementale est-il prévu ? Oui / Non / Ne sait pas.", "Oui",
           choices=YES_NO, keywords=(("environnement",), ("critere", "environnement"),
                                     ("clause", "environnement")), width=12),
    Column("funding", "Financement", "Financements prévus (autofinancement, DETR, DSIL, Région,"
           " FEDER, ...).", "Autofinancement, DETR", keywords=(("financement",), ("financeur",),
                                                            ("subvention",)), width=28),
)

COLUMNS = {RESPONDENT: RESPONDENT_COLUMNS, PROJECT: PROJECT_COLUMNS}
# Sheets of the template that hold no answers: never read, never reported.
TEMPLATE_ONLY_SHEETS = {normalise(INSTRUCTIONS_SHEET), normalise(LISTS_SHEET)}


@dataclass
class Problem:
    """One line of the report: where, what was written, what is wrong."""

    sheet: str
    row: int | None
    column: str  # letter, "" for a whole row or sheet
    header: str
    value: str
    message: str
    severity: str = ERROR

    def as_payload(self) -> dict:
        return {"column": self.column, "header": self.header, "value": self.value,
                "problem": self.message, "severity": self.severity}
