-- Indicator social_clauses: are social (insertion) clauses used? Share of the contracts, by count and by
-- usable initial amount, with at least one social consideration (clause, award criterion or reserved
-- contract), by notification year x territory x buyer category, among the contracts whose record has the field
-- (v2 format); 2019-format records have none: such contracts are out of the shares and a cell with no record
-- having the field is 'not available', never 0. The logic is shared with environmental_clauses
-- (decp_consideration_indicator).
{{ decp_consideration_indicator(
    'social_clauses', 'has_social_consideration',
    'Part des marchés avec au moins une considération sociale',
    'Part du montant des marchés avec au moins une considération sociale') }}
