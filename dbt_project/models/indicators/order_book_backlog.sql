-- Indicator order_book_backlog (INDICATORS.md): what remains to be executed, month by month (the
-- "carnet de commandes"). A contract is live from its notification month for duration_months months and
-- is executed in equal monthly parts: at the start of its k-th live month (k = 0 for the notification
-- month) its remaining value is amount x (duration - k) / duration (current usable amount and duration).
-- Grain: month x territory of the buyer (each Hauts-de-France département, the region 32, France FR)
-- x nature (works / supplies / services / unknown, 'all') x CPV division ('all' within each nature).
-- Two measures: backlog_eur (remaining value) and live_contracts.
--
-- Bounded months: from the earliest notification month of the contracts to the as-of month
-- + var('backlog_horizon_months'). Contracts sharing notification month, duration and cell are summed
-- before their months are generated (the remaining value is linear in the amount), so the work is at
-- most (groups x months live within the window): linear in the number of contracts, never
-- contracts x all months. Months where no contract is live are omitted.
{% set horizon_months = var('backlog_horizon_months') %}
{% set natures = {'all': 'Tous types', 'works': 'Travaux', 'supplies': 'Fournitures', 'services': 'Services',
                  'unknown': 'Type inconnu'} %}

with as_of as (
    -- the data are as of the end of the latest DECP load
    select coalesce({{ decp_as_of_date() }}, current_date) as as_of_date
),

bounds as (
    select
        as_of_date,
        (date_trunc('month', as_of_date) + interval '{{ horizon_months }} months')::date as last_month
    from as_of
),

-- Public contracts (marchés) notified by the as-of date (a later date is an error, flagged
-- notification_date_in_future); a contract without notification date cannot be placed in time and stays
-- out, and so do concessions (their value is the concessionaire's expected revenue, not a purchase).
contracts as (
    select
        date_trunc('month', contracts.notification_date)::date as start_month,
        contracts.duration_months,
        contracts.amount_usable_eur,
        contracts.contract_type as nature,
        coalesce(cpv.division_code, 'unknown') as cpv_division,
        case when buyers.is_hauts_de_france then buyers.departement_code end as departement_code
    from {{ ref('fct_contracts') }} as contracts
    inner join {{ ref('dim_buyer') }} as buyers on buyers.buyer_key = contracts.buyer_key
    inner join {{ ref('dim_cpv') }} as cpv on cpv.cpv_key = contracts.cpv_key
    cross join bounds
    where contracts.record_kind = 'marche' and contracts.notification_date <= bounds.as_of_date
),

contract_groups as (
    select
        start_month, duration_months, departement_code, nature, cpv_division,
        count(*) as contracts,
        count(amount_usable_eur) as with_amount,
        sum(amount_usable_eur) as amount_eur
    from contracts
    group by start_month, duration_months, departement_code, nature, cpv_division
),

-- One row per group and live month within the window. A group without duration cannot be spread:
-- it is in scope in its notification month only (coverage), with no live contract and no value.
live_months as (
    select
        groups.departement_code,
        groups.nature,
        groups.cpv_division,
        (groups.start_month + elapsed * interval '1 month')::date as month,
        groups.contracts as in_scope,
        case when groups.duration_months is not null then groups.contracts else 0 end as live,
        case when groups.duration_months is not null then groups.with_amount else 0 end as used,
        groups.amount_eur * (groups.duration_months - elapsed) / groups.duration_months as remaining_eur
    from contract_groups as groups
    cross join bounds
    cross join lateral generate_series(
        0,
        least(coalesce(groups.duration_months, 1),
              (extract(year from bounds.last_month) - extract(year from groups.start_month))::int * 12
              + (extract(month from bounds.last_month) - extract(month from groups.start_month))::int + 1) - 1
    ) as elapsed
    where groups.start_month <= bounds.last_month
),

-- The groups' months summed by month and breakdown before they are placed in territories: a few hundred
-- thousand rows to place instead of millions.
monthly as (
    select
        departement_code, nature, cpv_division, month,
        sum(in_scope) as in_scope, sum(live) as live, sum(used) as used, sum(remaining_eur) as remaining_eur
    from live_months
    group by departement_code, nature, cpv_division, month
),

placed as (
    select 'departement' as territory_level, departement_code as territory_code, monthly.*
    from monthly where departement_code is not null
    union all
    select 'region', '32', monthly.* from monthly where departement_code is not null
    union all
    select 'national', 'FR', monthly.* from monthly
),

cells as (
    select
        month, territory_level, territory_code,
        coalesce(nature, 'all') as nature,
        coalesce(cpv_division, 'all') as cpv_division,
        sum(in_scope) as in_scope,
        sum(live) as live,
        sum(used) as used,
        sum(remaining_eur) as backlog_eur
    from placed
    group by grouping sets (
        (month, territory_level, territory_code, nature, cpv_division),
        (month, territory_level, territory_code, nature),
        (month, territory_level, territory_code)
    )
),

-- Share of the month's contracts in scope in the territory whose CPV division is unknown (same on every
-- breakdown row of that month and territory).
unknown_shares as (
    select
        month, territory_code,
        coalesce(sum(in_scope) filter (where cpv_division = 'unknown'), 0)::numeric / nullif(sum(in_scope), 0)
            as unknown_share
    from placed
    group by month, territory_code
),

territories (territory_code, territory_name) as (
    {{ indicator_territories() }}
),

nature_labels (nature, nature_label_fr) as (
    {{ values_from(natures) }}
),

division_labels as (
    select distinct division_code as cpv_division, division_label as cpv_division_label_fr
    from {{ ref('dim_cpv') }}
    where division_code is not null
    union all
    select 'unknown', 'Division CPV inconnue'
    union all
    select 'all', 'Toutes divisions'
),

described as (
    select
        cells.*,
        territories.territory_name,
        nature_labels.nature_label_fr,
        division_labels.cpv_division_label_fr,
        unknown_shares.unknown_share
    from cells
    left join territories on territories.territory_code = cells.territory_code
    left join nature_labels on nature_labels.nature = cells.nature
    left join division_labels on division_labels.cpv_division = cells.cpv_division
    left join unknown_shares
        on unknown_shares.month = cells.month and unknown_shares.territory_code = cells.territory_code
),

measures as (
    select
        'backlog_eur' as measure,
        'Reste à exécuter des marchés en cours (€ HT)' as measure_label_fr,
        described.*,
        round(backlog_eur, 2) as measure_value,
        used as measure_n,
        used::numeric / nullif(in_scope, 0) as measure_coverage
    from described
    union all
    select
        'live_contracts',
        'Marchés en cours d''exécution',
        described.*,
        live,
        live,
        live::numeric / nullif(in_scope, 0)
    from described
)

select
    'order_book_backlog' as indicator_id,
    measures.measure,
    measures.measure_label_fr,
    extract(year from measures.month)::int as year,
    measures.territory_level,
    measures.territory_code,
    measures.territory_name,
    measures.month,
    measures.nature,
    measures.nature_label_fr,
    measures.cpv_division,
    measures.cpv_division_label_fr,
    {{ indicator_fields(value='measures.measure_value', numerator='measures.measure_value', denominator='null',
                        n='measures.measure_n', unknown_share='measures.unknown_share',
                        coverage='measures.measure_coverage', threshold_eur='40000',
                        as_of='bounds.as_of_date') }}
from measures
cross join bounds
