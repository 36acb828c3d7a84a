-- Indicator sme_access: do micro-firms and SMEs get their share? By notification year x territory x buyer
-- category x company size (TPE, PME, ETI, GE, unknown, and TPE_PME = TPE or PME). Measures:
--   contract_share   contracts won by at least one supplier of the size / contracts. A contract counts once
--                    for each size among its suppliers: a PME + GE grouping counts for PME and for GE, so the
--                    shares of the sizes can add up to more than 1.
--   value_share      initial amount attributed to suppliers of the size / initial amount of the contracts,
--                    the amount of a contract split equally between its co-contractors (shares add up to 1).
--   mean_amount_eur  amount attributed to the size / contracts it won (usable amounts only): the mean amount
--                    of a contract to a company of that size; size 'all' = mean initial amount of a contract.
-- Every size appears in every year x territory x category cell that has contracts (a 0 share is a value).
{% set sizes = {'TPE': 'Très petites entreprises', 'PME': 'Petites et moyennes entreprises',
                'ETI': 'Entreprises de taille intermédiaire', 'GE': 'Grandes entreprises',
                'unknown': 'Taille inconnue', 'TPE_PME': 'TPE et PME'} %}

with cell_totals as (
    {{ decp_cell_totals(decp_buyer_groups('int_indicators__contract_groups'),
                        summed(['contracts', 'contracts_with_amount', 'amount_eur'])) }}
),

size_totals as (
    {{ decp_cell_totals(decp_buyer_groups('int_indicators__supplier_size_groups'),
                        summed(['contracts_won', 'contracts_won_with_amount', 'amount_won_eur']), by=['company_size']) }}
),

size_labels (company_size, company_size_label_fr) as (
    {{ values_from(sizes) }}
),

grid as (
    {{ decp_breakdown_grid('company_size', 'size_labels', 'size_totals',
                           ['contracts_won', 'contracts_won_with_amount', 'amount_won_eur']) }}
)

select
    {{ decp_indicator_head('sme_access', "'contract_share'", "'Part des marchés remportés'") }},
    company_size,
    company_size_label_fr,
    {{ decp_indicator_fields(value='round(contracts_won::numeric / contracts, 4)', numerator='contracts_won',
                             denominator='contracts', n='contracts',
                             unknown_share='unknown_contracts::numeric / contracts', coverage='1') }}
from grid

union all

select
    {{ decp_indicator_head('sme_access', "'value_share'", "'Part du montant remporté'") }},
    company_size,
    company_size_label_fr,
    {{ decp_indicator_fields(value='round(amount_won_eur / nullif(amount_eur, 0), 4)', numerator='amount_won_eur',
                             denominator='amount_eur', n='contracts_with_amount',
                             unknown_share='unknown_amount_eur / nullif(amount_eur, 0)',
                             coverage='contracts_with_amount::numeric / contracts') }}
from grid

union all

select
    {{ decp_indicator_head('sme_access', "'mean_amount_eur'", "'Montant moyen par marché remporté (€ HT)'") }},
    company_size,
    company_size_label_fr,
    {{ decp_indicator_fields(value='round(amount_won_eur / nullif(contracts_won_with_amount, 0), 2)',
                             numerator='amount_won_eur', denominator='contracts_won_with_amount',
                             n='contracts_won_with_amount',
                             unknown_share='unknown_amount_eur / nullif(amount_eur, 0)',
                             coverage='contracts_won_with_amount::numeric / nullif(contracts_won, 0)') }}
from grid

union all

select
    {{ decp_indicator_head('sme_access', "'mean_amount_eur'", "'Montant moyen par marché remporté (€ HT)'") }},
    'all',
    'Toutes tailles',
    {{ decp_indicator_fields(value='round(amount_eur / nullif(contracts_with_amount, 0), 2)',
                             numerator='amount_eur', denominator='contracts_with_amount', n='contracts_with_amount',
                             unknown_share='unknown_amount_eur / nullif(amount_eur, 0)',
                             coverage='contracts_with_amount::numeric / contracts') }}
from grid
where company_size = 'unknown'  -- one row per cell
