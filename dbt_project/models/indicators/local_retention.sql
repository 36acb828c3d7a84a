-- Indicator local_retention: does the money stay in the territory? By notification year x territory x buyer
-- category x supplier location relative to the buyer (same_departement, same_region = another département
-- of the buyer's region, rest_of_france, abroad, unknown). Measures:
--   value_share     initial amount attributed to suppliers of that location / initial amount of the contracts,
--                   a contract's amount split equally between its co-contractors (shares add up to 1)
--   contract_share  contracts with at least one supplier of that location / contracts (a contract counts
--                   once per location among its suppliers, so these shares can add up to more than 1)
-- The comparison needs the buyer's département: contracts of a buyer of unknown location are out of scope
-- (they only lower the coverage of the national rows). Every location appears in every cell with contracts.
{% set locations = {'same_departement': "Même département que l''acheteur",
                    'same_region': "Autre département de la région de l''acheteur",
                    'rest_of_france': 'Reste de la France', 'abroad': 'Étranger',
                    'unknown': 'Localisation inconnue'} %}

with contracts as (
    {{ decp_scope_contracts() }}
),

located_suppliers as (
    select
        contracts.contract_sk,
        contracts.year,
        contracts.is_hauts_de_france,
        contracts.buyer_departement_code,
        contracts.category_of_buyer,
        contracts.category_of_buyer_fr,
        case
            when suppliers.is_abroad then 'abroad'
            when suppliers.departement_code is null then 'unknown'
            when suppliers.departement_code = contracts.buyer_departement_code then 'same_departement'
            when suppliers.region_code = contracts.buyer_region_code then 'same_region'
            else 'rest_of_france'
        end as supplier_location,
        contract_suppliers.initial_amount_share_eur
    from contracts
    inner join {{ ref('fct_contract_suppliers') }} as contract_suppliers
        on contract_suppliers.contract_sk = contracts.contract_sk
    inner join {{ ref('dim_supplier') }} as suppliers on suppliers.supplier_key = contract_suppliers.supplier_key
    where contracts.buyer_departement_code is not null
),

-- one row per contract and supplier location, with what places the contract in cells (no second join with the
-- contracts: a million rows less to hash)
contract_locations as (
    select
        year, is_hauts_de_france, buyer_departement_code, category_of_buyer, category_of_buyer_fr, supplier_location,
        sum(initial_amount_share_eur) as amount_won_eur
    from located_suppliers
    group by contract_sk, year, is_hauts_de_france, buyer_departement_code, category_of_buyer, category_of_buyer_fr,
             supplier_location
),

cell_totals as (
    {{ decp_cell_totals('contracts', [
        ('contracts', 'count(*)'),
        ('located_contracts', 'count(*) filter (where buyer_departement_code is not null)'),
        ('located_contracts_with_amount', 'count(amount_eur) filter (where buyer_departement_code is not null)'),
        ('located_amount_eur', 'sum(amount_eur) filter (where buyer_departement_code is not null)')]) }}
),

location_totals as (
    {{ decp_cell_totals('contract_locations', [('contracts_won', 'count(*)'), ('amount_won_eur', 'sum(amount_won_eur)')],
                        by=['supplier_location']) }}
),

location_labels (supplier_location, supplier_location_label_fr) as (
    {{ values_from(locations) }}
),

grid as (
    {{ decp_breakdown_grid('supplier_location', 'location_labels', 'location_totals', ['contracts_won', 'amount_won_eur'],
                         where='cell_totals.located_contracts > 0') }}
)

select
    {{ decp_indicator_head('local_retention', "'value_share'", "'Part du montant remporté'") }},
    supplier_location,
    supplier_location_label_fr,
    {{ decp_indicator_fields(value='round(amount_won_eur / nullif(located_amount_eur, 0), 4)',
                             numerator='amount_won_eur', denominator='located_amount_eur',
                             n='located_contracts_with_amount',
                             unknown_share='unknown_amount_eur / nullif(located_amount_eur, 0)',
                             coverage='located_contracts_with_amount::numeric / contracts') }}
from grid

union all

select
    {{ decp_indicator_head('local_retention', "'contract_share'", "'Part des marchés remportés'") }},
    supplier_location,
    supplier_location_label_fr,
    {{ decp_indicator_fields(value='round(contracts_won::numeric / located_contracts, 4)',
                             numerator='contracts_won', denominator='located_contracts', n='located_contracts',
                             unknown_share='unknown_contracts::numeric / located_contracts',
                             coverage='located_contracts::numeric / contracts') }}
from grid
