-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_indicators__batch_buyers') }}
{%- set incremental = indicator_groups_model() is not none %}
-- The contracts won by companies of each size group (TPE, PME, ETI, GE, unknown, and TPE_PME = TPE or PME) by
-- buyer x notification year, for sme_access: contracts won, those with a usable amount, and the amount attributed
-- to the size group (the contract's amount split equally between its co-contractors). A contract counts once for
-- each size group among its suppliers; fct_contract_suppliers gives a contract without supplier one 'unknown' row.

with contracts as (
    {{- indicator_group_contracts(incremental) }}
),

contract_sizes as (
    select
        contracts.buyer_key, contracts.year, contracts.contract_sk, size_group.company_size,
        sum(contract_suppliers.initial_amount_share_eur) as amount_won_eur
    from contracts
    inner join {{ ref('fct_contract_suppliers') }} as contract_suppliers
        on contract_suppliers.contract_sk = contracts.contract_sk
    inner join {{ ref('dim_supplier') }} as suppliers on suppliers.supplier_key = contract_suppliers.supplier_key
    cross join lateral (values
        (suppliers.company_size),
        (case when suppliers.company_size in ('TPE', 'PME') then 'TPE_PME' end)
    ) as size_group (company_size)
    where size_group.company_size is not null
    group by contracts.buyer_key, contracts.year, contracts.contract_sk, size_group.company_size
)

select
    buyer_key, year, company_size,
    count(*) as contracts_won,
    count(amount_won_eur) as contracts_won_with_amount,
    sum(amount_won_eur) as amount_won_eur
from contract_sizes
group by buyer_key, year, company_size
