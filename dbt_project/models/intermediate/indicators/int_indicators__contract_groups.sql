-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_indicators__batch_buyers') }}
{%- set incremental = indicator_groups_model() is not none %}
-- The contracts in the scope of the DECP indicators by buyer x notification year, with the additive measures of
-- competition, innovation, sme_access, local_retention, social_clauses and environmental_clauses
-- (macros/indicator_groups.sql). By nature and procedure family: int_indicators__contract_mix_groups.
{%- set measures = [('contracts', 'count(*)'), ('contracts_with_amount', 'count(amount_eur)'),
                    ('amount_eur', 'sum(amount_eur)'),
                    ('known_offers', 'count(offers_received)'), ('offers', 'sum(offers_received)'),
                    ('open_contracts', 'count(*) filter (where is_open_to_competition)'),
                    ('open_known_offers', 'count(offers_received) filter (where is_open_to_competition)'),
                    ('open_single_bids', 'count(*) filter (where is_open_to_competition and offers_received = 1)'),
                    ('unknown_procedure', "count(*) filter (where procedure_family = 'unknown')"),
                    ('unknown_procedure_amount_eur',
                     "coalesce(sum(amount_eur) filter (where procedure_family = 'unknown'), 0)")]
                   + indicator_flag_measures('is_innovative')
                   + indicator_flag_measures('has_social_consideration')
                   + indicator_flag_measures('has_environmental_consideration')
                   + [('innovative_sme_amount_eur', 'coalesce(sum(sme_amount_eur), 0)'),
                      ('innovative_unknown_size_amount_eur', 'coalesce(sum(unknown_size_amount_eur), 0)')] %}

with contracts as (
    {{- indicator_group_contracts(incremental) }}
),

-- the amounts of innovative contracts won by SMEs (TPE or PME) and by companies of unknown size
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
)

select
    contracts.buyer_key, contracts.year
    {%- for name, aggregate in measures %},
    {{ aggregate }} as {{ name }}
    {%- endfor %}
from contracts
left join innovative_sizes on innovative_sizes.contract_sk = contracts.contract_sk
group by contracts.buyer_key, contracts.year
