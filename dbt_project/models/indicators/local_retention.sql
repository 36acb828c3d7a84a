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

with cell_totals as (
    {{ decp_cell_totals(decp_buyer_groups('int_indicators__contract_groups'), [
        ('contracts', 'sum(contracts)'),
        ('located_contracts', 'coalesce(sum(contracts) filter (where buyer_departement_code is not null), 0)'),
        ('located_contracts_with_amount',
         'coalesce(sum(contracts_with_amount) filter (where buyer_departement_code is not null), 0)'),
        ('located_amount_eur', 'sum(amount_eur) filter (where buyer_departement_code is not null)')]) }}
),

location_totals as (
    {{ decp_cell_totals(decp_buyer_groups('int_indicators__supplier_location_groups'),
                        summed(['contracts_won', 'amount_won_eur']), by=['supplier_location']) }}
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
