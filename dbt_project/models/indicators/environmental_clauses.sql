-- Indicator environmental_clauses: are environmental clauses used? Share of the contracts, by count and by
-- usable initial amount, with at least one environmental consideration (clause or award criterion), by
-- notification year x territory x buyer category, among the contracts whose record has the field (v2 format);
-- 2019-format records have none: such contracts are out of the shares and a cell with no record having the
-- field is 'not available', never 0. The logic is shared with social_clauses (decp_consideration_indicator).
{{ decp_consideration_indicator(
    'environmental_clauses', 'has_environmental_consideration',
    'Part des marchés avec au moins une considération environnementale',
    'Part du montant des marchés avec au moins une considération environnementale') }}
