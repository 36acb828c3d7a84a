-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_indicators__batch_buyers') }}
{%- set incremental = indicator_groups_model() is not none %}
-- The contracts of located buyers by buyer x notification year x where their suppliers are, relative to the buyer
-- (same département, rest of the region, rest of France, abroad, unknown), for local_retention: contracts won
-- (a contract counts once for each location among its suppliers) and the amount attributed to suppliers of that
-- location (the contract's amount split equally between its co-contractors).

with contracts as (
    select
        contracts.contract_sk, contracts.buyer_key, contracts.notification_year as year,
        buyers.departement_code as buyer_departement_code, buyers.region_code as buyer_region_code
    from {{ ref('fct_contracts') }} as contracts
    inner join {{ ref('dim_buyer') }} as buyers on buyers.buyer_key = contracts.buyer_key
    where contracts.record_kind = 'marche' and contracts.notification_year is not null
      and buyers.departement_code is not null
    {%- if incremental %}
      and contracts.buyer_key = any(array(select buyer_key from {{ ref('int_indicators__batch_buyers') }}))
    {%- endif %}
),

contract_locations as (
    select
        contracts.buyer_key, contracts.year, contracts.contract_sk,
        case
            when suppliers.is_abroad then 'abroad'
            when suppliers.departement_code is null then 'unknown'
            when suppliers.departement_code = contracts.buyer_departement_code then 'same_departement'
            when suppliers.region_code = contracts.buyer_region_code then 'same_region'
            else 'rest_of_france'
        end as supplier_location,
        sum(contract_suppliers.initial_amount_share_eur) as amount_won_eur
    from contracts
    inner join {{ ref('fct_contract_suppliers') }} as contract_suppliers
        on contract_suppliers.contract_sk = contracts.contract_sk
    inner join {{ ref('dim_supplier') }} as suppliers on suppliers.supplier_key = contract_suppliers.supplier_key
    group by 1, 2, 3, 4
)

select
    buyer_key, year, supplier_location,
    count(*) as contracts_won,
    sum(amount_won_eur) as amount_won_eur
from contract_locations
group by buyer_key, year, supplier_location
