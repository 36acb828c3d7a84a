-- Indicator innovation: is innovation bought from SMEs? By notification year x territory x buyer category,
-- over the contracts whose record says whether the purchase is innovative (is_innovative, v2 format only):
--   innovative_value_share        amount of innovative contracts / amount of the contracts
--   innovative_sme_value_share    amount of innovative contracts attributed to SMEs (TPE or PME) / amount of
--                                 the contracts: the figure the State's 2 % target is about
--   sme_share_of_innovative_value amount of innovative contracts attributed to SMEs / amount of innovative
--                                 contracts
-- Amounts are usable initial amounts; a contract's amount is split equally between its co-contractors when
-- attributed to suppliers. A cell where no record has the field is 'not available', never 0.
with aggregates as (
    {{ decp_cell_totals(decp_buyer_groups('int_indicators__contract_groups'), [
        ('contracts', 'sum(contracts)'),
        ('known', 'sum(is_innovative_known)'),
        ('known_with_amount', 'sum(is_innovative_known_with_amount)'),
        ('known_amount_eur', 'sum(is_innovative_known_amount_eur)'),
        ('innovative', 'sum(is_innovative_contracts)'),
        ('innovative_with_amount', 'sum(is_innovative_with_amount)'),
        ('innovative_amount_eur', 'sum(is_innovative_amount_eur)'),
        ('innovative_sme_amount_eur', 'sum(innovative_sme_amount_eur)'),
        ('innovative_unknown_size_amount_eur', 'sum(innovative_unknown_size_amount_eur)')]) }}
)

select
    {{ decp_indicator_head('innovation', "'innovative_value_share'",
                           "'Part du montant des marchés consacrée aux achats innovants'") }},
    {{ decp_indicator_fields(value='round(innovative_amount_eur / nullif(known_amount_eur, 0), 4)',
                             numerator='innovative_amount_eur', denominator='known_amount_eur', n='known_with_amount',
                             unknown_share='(contracts - known)::numeric / contracts',
                             coverage='known_with_amount::numeric / contracts', available='known > 0') }}
from aggregates

union all

select
    {{ decp_indicator_head('innovation', "'innovative_sme_value_share'",
                           "'Part du montant des marchés consacrée aux achats innovants auprès de PME'") }},
    {{ decp_indicator_fields(value='round(innovative_sme_amount_eur / nullif(known_amount_eur, 0), 4)',
                             numerator='innovative_sme_amount_eur', denominator='known_amount_eur',
                             n='known_with_amount',
                             unknown_share='innovative_unknown_size_amount_eur / nullif(innovative_amount_eur, 0)',
                             coverage='known_with_amount::numeric / contracts', available='known > 0') }}
from aggregates

union all

select
    {{ decp_indicator_head('innovation', "'sme_share_of_innovative_value'",
                           "'Part des PME dans le montant des achats innovants'") }},
    {{ decp_indicator_fields(value='round(innovative_sme_amount_eur / nullif(innovative_amount_eur, 0), 4)',
                             numerator='innovative_sme_amount_eur', denominator='innovative_amount_eur',
                             n='innovative_with_amount',
                             unknown_share='innovative_unknown_size_amount_eur / nullif(innovative_amount_eur, 0)',
                             coverage='innovative_with_amount::numeric / nullif(innovative, 0)',
                             available='known > 0') }}
from aggregates
