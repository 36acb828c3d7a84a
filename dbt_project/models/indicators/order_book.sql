-- Indicator order_book: how much does the region buy, from whom, for what? Count and sum of the initial
-- contracts by notification year x territory x nature (works / supplies / services / unknown, and 'all')
-- x buyer category (and 'all'). Two measures:
--   contracts   number of contracts (n = contracts)
--   amount_eur  sum of the usable initial amounts, EUR excl. VAT (n = contracts with a usable amount)
-- Both are totals, not ratios: no numerator or denominator. Only cells with at least one contract appear.
with by_type as (
    {{ decp_cell_totals(decp_buyer_groups('int_indicators__contract_mix_groups'), summed(['contracts', 'contracts_with_amount', 'amount_eur']) + [
        ('unknown_contracts',
         "coalesce(sum(contracts) filter (where contract_type = 'unknown' or category_of_buyer = 'unknown'), 0)")],
        by=['contract_type']) }}
),

aggregates as (
    select
        year, territory_level, territory_code, buyer_category, buyer_category_label_fr, nature.nature,
        sum(contracts) as contracts,
        sum(contracts_with_amount) as contracts_with_amount,
        sum(amount_eur) as amount_eur
    from by_type
    cross join lateral (values (by_type.contract_type), ('all')) as nature (nature)
    group by year, territory_level, territory_code, buyer_category, buyer_category_label_fr, nature.nature
),

-- Share of the year's contracts of the territory that no breakdown cell can hold: nature or buyer
-- category unknown (the same on every row of that year and territory).
unknown_shares as (
    select year, territory_code, sum(unknown_contracts)::numeric / sum(contracts) as unknown_share
    from by_type
    where buyer_category = 'all'
    group by year, territory_code
),

cells as (
    select
        aggregates.*,
        unknown_shares.unknown_share,
        case aggregates.nature
            when 'works' then 'Travaux' when 'supplies' then 'Fournitures' when 'services' then 'Services'
            when 'unknown' then 'Nature inconnue' else 'Toutes natures'
        end as nature_label_fr
    from aggregates
    inner join unknown_shares using (year, territory_code)
)

select
    {{ decp_indicator_head('order_book', "'contracts'", "'Nombre de marchés notifiés'") }},
    nature,
    nature_label_fr,
    {{ decp_indicator_fields(value='contracts', numerator='null', denominator='null', n='contracts',
                             unknown_share='unknown_share', coverage='1') }}
from cells

union all

select
    {{ decp_indicator_head('order_book', "'amount_eur'", "'Montant initial notifié (€ HT)'") }},
    nature,
    nature_label_fr,
    {{ decp_indicator_fields(value='amount_eur', numerator='null', denominator='null',
                             n='contracts_with_amount', unknown_share='unknown_share',
                             coverage='contracts_with_amount::numeric / contracts') }}
from cells
