-- Indicator innovation: is innovation bought from SMEs? By notification year x territory x buyer category,
-- over the contracts whose record says whether the purchase is innovative (is_innovative, v2 format only):
--   innovative_value_share        amount of innovative contracts / amount of the contracts
--   innovative_sme_value_share    amount of innovative contracts attributed to SMEs (TPE or PME) / amount of
--                                 the contracts: the figure the State's 2 % target is about
--   sme_share_of_innovative_value amount of innovative contracts attributed to SMEs / amount of innovative
--                                 contracts
-- Amounts are usable initial amounts; a contract's amount is split equally between its co-contractors when
-- attributed to suppliers. A cell where no record has the field is 'not available', never 0.
with contracts as (
    {{ decp_scope_contracts() }}
),

-- Amount of each innovative contract attributed to SMEs and to suppliers of unknown size.
innovative_sizes as (
    select
        contract_suppliers.contract_sk,
        sum(contract_suppliers.initial_amount_share_eur) filter (where suppliers.company_size in ('TPE', 'PME'))
            as sme_amount_eur,
        sum(contract_suppliers.initial_amount_share_eur) filter (where suppliers.company_size = 'unknown')
            as unknown_size_amount_eur
    from contracts
    inner join {{ ref('fct_contract_suppliers') }} as contract_suppliers
        on contract_suppliers.contract_sk = contracts.contract_sk
    inner join {{ ref('dim_supplier') }} as suppliers on suppliers.supplier_key = contract_suppliers.supplier_key
    where contracts.is_innovative
    group by contract_suppliers.contract_sk
),

aggregates as (
    {{ decp_cell_totals('(select contracts.*, innovative_sizes.sme_amount_eur, innovative_sizes.unknown_size_amount_eur
                          from contracts
                          left join innovative_sizes on innovative_sizes.contract_sk = contracts.contract_sk)', [
        ('contracts', 'count(*)'),
        ('known', 'count(is_innovative)'),
        ('known_with_amount', 'count(amount_eur) filter (where is_innovative is not null)'),
        ('known_amount_eur', 'sum(amount_eur) filter (where is_innovative is not null)'),
        ('innovative', 'count(*) filter (where is_innovative)'),
        ('innovative_with_amount', 'count(amount_eur) filter (where is_innovative)'),
        ('innovative_amount_eur', 'coalesce(sum(amount_eur) filter (where is_innovative), 0)'),
        ('innovative_sme_amount_eur', 'coalesce(sum(sme_amount_eur), 0)'),
        ('innovative_unknown_size_amount_eur', 'coalesce(sum(unknown_size_amount_eur), 0)')]) }}
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
