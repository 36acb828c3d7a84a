-- Indicator competition: is there real competition? By notification year x territory x buyer category:
--   single_bid_share            contracts with exactly one offer / contracts with a known number of offers,
--                               on procedures open to competition (dim_procedure.is_open_to_competition)
--   mean_offers                 mean number of offers received per contract (every procedure), over the
--                               contracts with a known number of offers
--   procedure_mix_count_share   contracts of each procedure family / contracts          } by procedure_family
--   procedure_mix_value_share   usable initial amount of each family / usable amount    } (every family shown)
-- The 2019 format has no number of offers: a cell where no contract has one is 'not available' for the first
-- two measures, never 0. procedure_family is 'all' on those two.
{% set families = {'open': 'Ouverte', 'restricted': 'Restreinte', 'negotiated': 'Négociée',
                   'adapted': 'Procédure adaptée',
                   'without_publicity': 'Sans publicité ni mise en concurrence', 'unknown': 'Inconnue'} %}

with cell_totals as (
    {{ decp_cell_totals(decp_buyer_groups('int_indicators__contract_groups'),
                        summed(['contracts', 'contracts_with_amount', 'amount_eur', 'unknown_procedure',
                                'unknown_procedure_amount_eur', 'known_offers', 'offers', 'open_contracts',
                                'open_known_offers', 'open_single_bids'])) }}
),

family_totals as (
    {{ decp_cell_totals(decp_buyer_groups('int_indicators__contract_mix_groups'), summed(['contracts', 'amount_eur']),
                        by=['procedure_family']) }}
),

family_labels (procedure_family, procedure_family_label_fr) as (
    {{ values_from(families) }}
),

mix as (
    select
        cell_totals.*,
        family_labels.procedure_family,
        family_labels.procedure_family_label_fr,
        coalesce(family_totals.contracts, 0) as family_contracts,
        coalesce(family_totals.amount_eur, 0) as family_amount_eur
    from cell_totals
    cross join family_labels
    left join family_totals
        on family_totals.year = cell_totals.year
        and family_totals.territory_code = cell_totals.territory_code
        and family_totals.buyer_category = cell_totals.buyer_category
        and family_totals.procedure_family = family_labels.procedure_family
)

select
    {{ decp_indicator_head('competition', "'single_bid_share'",
                           "'Part des marchés à offre unique (procédures ouvertes à la concurrence)'") }},
    'all' as procedure_family,
    'Toutes procédures' as procedure_family_label_fr,
    {{ decp_indicator_fields(value='round(open_single_bids::numeric / nullif(open_known_offers, 0), 4)',
                             numerator='open_single_bids', denominator='open_known_offers', n='open_known_offers',
                             unknown_share='unknown_procedure::numeric / contracts',
                             coverage='open_known_offers::numeric / nullif(open_contracts, 0)',
                             available='known_offers > 0') }}
from cell_totals

union all

select
    {{ decp_indicator_head('competition', "'mean_offers'", "'Nombre moyen d''offres reçues par marché'") }},
    'all',
    'Toutes procédures',
    {{ decp_indicator_fields(value='round(offers::numeric / nullif(known_offers, 0), 2)',
                             numerator='offers', denominator='known_offers', n='known_offers',
                             unknown_share='(contracts - known_offers)::numeric / contracts',
                             coverage='known_offers::numeric / contracts', available='known_offers > 0') }}
from cell_totals

union all

select
    {{ decp_indicator_head('competition', "'procedure_mix_count_share'",
                           "'Répartition des marchés par famille de procédure'") }},
    procedure_family,
    procedure_family_label_fr,
    {{ decp_indicator_fields(value='round(family_contracts::numeric / contracts, 4)',
                             numerator='family_contracts', denominator='contracts', n='contracts',
                             unknown_share='unknown_procedure::numeric / contracts', coverage='1') }}
from mix

union all

select
    {{ decp_indicator_head('competition', "'procedure_mix_value_share'",
                           "'Répartition du montant des marchés par famille de procédure'") }},
    procedure_family,
    procedure_family_label_fr,
    {{ decp_indicator_fields(value='round(family_amount_eur / nullif(amount_eur, 0), 4)',
                             numerator='family_amount_eur', denominator='amount_eur', n='contracts_with_amount',
                             unknown_share='unknown_procedure_amount_eur / nullif(amount_eur, 0)',
                             coverage='contracts_with_amount::numeric / contracts') }}
from mix
