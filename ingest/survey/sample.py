"""A small filled survey workbook for the demo: fictitious answers, real COG 2025 communes.

The answers are invented (no CERC survey data is public); they are written the way people fill
the template, with amounts in several forms, two waves and a few mistakes the report lists.
Regenerate with ``python -m ingest.survey.sample [PATH]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from openpyxl import load_workbook

from ingest.survey.schema import PROJECTS_SHEET, RESPONDENTS_SHEET
from ingest.survey.template import csv_twin_paths, write_template
from orcp.settings import SAMPLE_DATA_DIR

SAMPLE_PATH = SAMPLE_DATA_DIR / "survey" / "enquete_cerc_travaux_publics_exemple.xlsx"

# Identifiant, vague, nom, SIRET, type, département, commune, tranche, aucun projet
RESPONDENTS = [
    ("R001", 2026, "Commune d'Amiens", None, "Commune", "80 - Somme", "80021",
     "100 000 habitants ou plus", "Non"),
    ("R002", 2026, "Commune de Beauvais", None, "Commune", "60 - Oise", "60057",
     "De 20 000 à 99 999 habitants", "Non"),
    ("R003", 2026, "Commune d'Achiet-le-Grand", "21620005500012", "Commune", "62 - Pas-de-Calais",
     "62005", "De 1 000 à 4 999 habitants", "Oui"),
    ("R004", 2026, "Communauté d'agglomération des 2 Baies en Montreuillois", "20006902900037",
     "EPCI (intercommunalité)", "62 - Pas-de-Calais", None, None, "Non"),
    ("R005", 2026, "Département de l'Aisne", None, "Département", "02 - Aisne", None, None, "Non"),
    ("R006", 2026, "Commune de Laon", None, "Commune", "02 - Aisne", 2408,
     "De 20 000 à 99 999 habitants", "Non"),
    ("R007", 2026, "Commune de Villers-Bretonneux", None, "Commune", "80 - Somme", "80799",
     "De 1 000 à 4 999 habitants", "Oui"),
    ("R008", 2026, "Commune de Crèvecœur-le-Grand", None, "Commune", "60 - Oise", "60178",
     "De 1 000 à 4 999 habitants", "Non"),
    ("R009", 2026, "Office public de l'habitat de la Somme", None, "Bailleur social", "80 - Somme",
     None, None, "Non"),
    ("R010", 2026, "Centre hospitalier de Douai", None, "Hôpital", "59 - Nord", "59178", None, "Non"),
    ("R011", 2026, "Région Hauts-de-France", None, "Région", "59 - Nord", None, None, "Non"),
    ("R012", 2026, "Commune de Lille", None, "Commune", "59 - Nord", "59350",
     "100 000 habitants ou plus", "Non"),
    ("R013", 2026, "Commune d'Albert", None, "Commune", "80", "80016", "De 5 000 à 19 999 habitants",
     "Oui"),
    ("R014", 2026, "Commune de Péronne", None, "Commune", "80", "80000", 7400, ""),
    ("R101", 2025, "Commune d'Amiens", None, "Commune", "80", "80021", "100 000 habitants ou plus",
     "Non"),
    ("R102", 2025, "Commune d'Arras", None, "Commune", "62", "62041", "De 20 000 à 99 999 habitants",
     "Non"),
    ("R103", 2025, "Commune de Chauny", None, "Commune", "02", "02173", "De 5 000 à 19 999 habitants",
     "Oui"),
]

# Répondant, intitulé, commune, segment, nature, montant, année, trimestre, début, durée, statut,
# clause sociale, critère environnemental, financement
PROJECTS = [
    ("R001", "Rénovation énergétique du groupe scolaire Édouard Herriot", None,
     "Rénovation de bâtiment", "Isolation, menuiseries, chauffage", "2,4 M€", 2026, "T2", "T4 2026",
     14, "Programmé", "Oui", "Oui", "Autofinancement, DSIL"),
    ("R001", "Requalification du boulevard d'Alsace-Lorraine", None, "Voirie et routes",
     "Chaussée, trottoirs, pistes cyclables", "3 800 000", 2027, "T1", "2027", 24, "Études", "Oui",
     "Oui", "Autofinancement, Région"),
    ("R002", "Construction d'une salle de sports", None, "Bâtiment neuf", "Gymnase de type C",
     "5.2e6", 2026, "T3", "01/2027", "18 mois", "Programmé", "Oui", "Oui", "DETR, Département"),
    ("R002", "Renouvellement des réseaux d'assainissement rue de Calais", None,
     "Réseaux d'eau et d'assainissement", "Remplacement de collecteurs", "850 k€", "T4 2026", None,
     "2027", 8, "En consultation", "Non", "Oui", "Agence de l'eau"),
    ("R004", "Station d'épuration de Berck-sur-Mer : extension", "62108",
     "Réseaux d'eau et d'assainissement", "Extension de capacité", "12 500 000 €", 2027, "T2",
     "S2 2027", "2 ans", "Études", "Oui", "Oui", "Agence de l'eau, FEDER"),
    ("R004", "Aménagement du front de mer de Berck", "62108", "Aménagement urbain",
     "Espaces publics, promenade", "1,2 ou 1,5 M€", 2027, None, None, None, "Études", "Ne sait pas",
     "Oui", "Autofinancement"),
    ("R005", "Reconstruction du pont de la RD 1044", None, "Ouvrages d'art", "Pont en béton",
     "2 100 000", 2026, "T4", "2027", 10, "Programmé", "Oui", "Non", "Département"),
    ("R005", "Renforcement de chaussée RD 967", None, "Voirie et routes", "Enrobés", "1.1 M€",
     "3e trimestre 2026", None, "T1 2027", 4, "Programmé", "Non", "Oui", "Département"),
    ("R006", "Réhabilitation de l'Hôtel de ville", None, "Rénovation de bâtiment",
     "Clos et couvert", "1 650 000", 2026, "T3", "T1 2027", 12, "En consultation", "Oui", "Oui",
     "DSIL"),
    ("R008", "Extension de l'école maternelle", None, "Bâtiment neuf", "Deux classes", "640 000",
     2026, "T2", "09/2026", 10, "Attribué", "Non", "Oui", "DETR"),
    ("R009", "Réhabilitation de 120 logements quartier Étouvie", "80021",
     "Rénovation de bâtiment", "Rénovation thermique", "6,3 M€", 2026, "T4", "T2 2027", 20,
     "Programmé", "Oui", "Oui", "Fonds propres, éco-prêt"),
    ("R010", "Construction d'un bâtiment de soins de suite", None, "Bâtiment neuf", "40 lits",
     "18 M€", 2027, "T3", "2028", 30, "Études", "Oui", "Oui", "ARS, emprunt"),
    ("R011", "Chaufferie biomasse du lycée Henri Wallon", "59606", "Énergie", "Chaufferie bois",
     "2 900 000", 2026, "T4", "T2 2027", 9, "Programmé", "Oui", "Oui", "Région"),
    ("R012", "Rénovation de la piscine Marx Dormoy", None, "Rénovation de bâtiment",
     "Mise aux normes", "9,8 M€", 2027, "T1", "2027", 24, "Études", "Oui", "Oui", "Autofinancement"),
    ("R012", "Réseau de chaleur : extension secteur Fives", None, "Énergie", "Canalisations",
     "4 M€", 2026, "T2", "T4 2026", 18, "Programmé", "Oui", "Oui", "ADEME"),
    ("R015", "Réfection de la place de l'église", None, "Aménagement urbain", None, "320 000", 2026,
     "T2", None, None, "Programmé", "Non", "Non", None),
    ("R101", "Rénovation énergétique du groupe scolaire Édouard Herriot", None,
     "Rénovation de bâtiment", None, "2,1 M€", 2026, None, None, None, "Études", "Oui", "Oui", None),
    ("R102", "Aménagement de la place des Héros", None, "Aménagement urbain", "Pavage", "1 500 000",
     2025, "T4", "2026", 12, "Programmé", "Oui", "Oui", "Autofinancement"),
]


def write_sample_workbook(path: Path = SAMPLE_PATH) -> Path:
    """The template filled with the sample answers above."""
    write_template(path)
    for csv_twin in csv_twin_paths(path).values():
        csv_twin.unlink()  # the demo ships the workbook only
    workbook = load_workbook(path)
    for sheet_name, rows in ((RESPONDENTS_SHEET, RESPONDENTS), (PROJECTS_SHEET, PROJECTS)):
        sheet = workbook[sheet_name]
        for row_number, values in enumerate(rows, start=2):
            for column, value in enumerate(values, start=1):
                sheet.cell(row_number, column, value)
    workbook.save(path)
    return path


if __name__ == "__main__":
    print(write_sample_workbook(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_PATH))
