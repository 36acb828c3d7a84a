"""What tells the two DECP layouts apart, record by record, and how their lists are shaped.

Taken from the official schemas (tests check these tables against the XSDs):
- 2019 = schema v1.5 (``marches.xsd``, ``marches-dgfip.xsd``, ``marches.json``);
- v2 = schema 2.0.x (``schema_decp_v2.0.2.xsd``, ``schema_decp_v2.0.3.json``).
"""

from __future__ import annotations

LAYOUT_2019 = "decp-2019"
LAYOUT_V2 = "decp-v2"
MARCHE = "marche"
CONCESSION = "contrat-concession"
KINDS = (MARCHE, CONCESSION)

# Children of <marche> / <contrat-concession> that exist in the v2 schema only.
V2_ONLY_FIELDS = frozenset({
    "actesSousTraitance", "attributionAvance", "ccag", "considerationsEnvironnementales",
    "considerationsSociales", "idAccordCadre", "marcheInnovant", "modalitesExecution",
    "modificationsActesSousTraitance", "offresRecues", "origineFrance", "origineUE",
    "sousTraitanceDeclaree", "tauxAvance", "techniques", "typeGroupementOperateurs", "typesPrix",
})

# List wrappers: element -> the element it repeats (maxOccurs > 1 in the XSDs). In JSON, 2019 writes
# the wrapper as a plain list of objects; v2 as a list of {child: object}.
WRAPPED_OBJECTS = {
    "titulaires": "titulaire",
    "modifications": "modification",
    "concessionnaires": "concessionnaire",
    "donneesExecution": "donneesAnnuelles",
    "tarifs": "tarif",
    "actesSousTraitance": "acteSousTraitance",
    "modificationsActesSousTraitance": "modificationActesSousTraitance",
}
# v2 lists of plain values, written in JSON as {child: [values]}.
WRAPPED_VALUES = {
    "considerationsSociales": "considerationSociale",
    "considerationsEnvironnementales": "considerationEnvironnementale",
    "techniques": "technique",
    "modalitesExecution": "modaliteExecution",
    "typesPrix": "typePrix",
}
# The v2 JSON examples spell this one without the "s" (the XSD: "modificationActesSousTraitance").
WRAPPER_ALIASES = {"modificationsActesSousTraitance": ("modificationActeSousTraitance",)}

# JSON lists whose items show the layout: {"titulaire": {...}} items are v2, bare objects 2019.
_SHAPE_TELLING_LISTS = (("titulaires", "titulaire"), ("modifications", "modification"),
                        ("concessionnaires", "concessionnaire"))
# Keys that make a JSON object a contract rather than any other object.
CONTRACT_FIELDS = frozenset({
    "acheteur", "acheteur.id", "autoriteConcedante", "autoriteConcedante.id", "objet", "codeCPV",
    "titulaires", "concessionnaires", "montant", "valeurGlobale", "dateNotification",
    "dateSignature", "procedure", "nature", "lieuExecution",
})
_CONCESSION_FIELDS = frozenset({"autoriteConcedante", "autoriteConcedante.id", "concessionnaires"})


def json_record_layout(record: dict, default: str) -> str:
    """The layout of one JSON record, whatever the container it came in.

    v2-only fields decide first, then the shape of the lists; a record that shows neither (or only a
    2019 ``_type``) takes ``default``, the layout of its container.
    """
    if not V2_ONLY_FIELDS.isdisjoint(record):
        return LAYOUT_V2
    for key, child in _SHAPE_TELLING_LISTS:
        items = record.get(key)
        if items and type(items) is list and type(items[0]) is dict:
            return LAYOUT_V2 if child in items[0] else LAYOUT_2019
    return LAYOUT_2019 if "_type" in record else default


def kind_2019(record: dict) -> str:
    """'marche' or 'contrat-concession' for an item of a 2019 ``marches`` array or a bare array."""
    declared = record.get("_type")
    if type(declared) is str:
        return CONCESSION if "concession" in declared.lower() else MARCHE
    return MARCHE if _CONCESSION_FIELDS.isdisjoint(record) else CONCESSION


def xml_record_layout(child_names: set[str]) -> str:
    return LAYOUT_2019 if V2_ONLY_FIELDS.isdisjoint(child_names) else LAYOUT_V2


def looks_like_contract(keys: set[str]) -> bool:
    return "id" in keys and not CONTRACT_FIELDS.isdisjoint(keys)
