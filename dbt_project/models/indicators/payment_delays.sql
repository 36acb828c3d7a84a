-- Indicator payment_delays: are suppliers paid on time? By year x territory (each Hauts-de-France
-- département, the region, France) x entity category ('all' and each category), four measures:
--   mean_delay_days         unweighted mean DGP of the budgets (value = numerator / denominator)
--   median_delay_days       median DGP of the budgets
--   share_above_ceiling     budgets above their legal ceiling / budgets with a known delay
--   mean_delay_change_days  mean of the year minus mean of the year before (same territory and category)
-- Unweighted: the file has no payment count or amount per budget, so a small budget weighs as much as a
-- large one. Every year x territory x category appears: where fewer than var('min_records') budgets have a
-- known delay, the value is null and the status 'insufficient data'.
{% set departments = hdf_departments() %}
{% set categories = {'all': 'Toutes catégories', 'commune': 'Communes', 'epci': 'EPCI (intercommunalités)',
                     'departement': 'Départements', 'region': 'Régions', 'health': 'Établissements de santé',
                     'social_housing': 'Logement social', 'other': 'Autres entités', 'unknown': 'Catégorie inconnue'} %}
{% set min_records = var('min_records') %}

with budgets as (
    select * from {{ ref('fct_payment_delays') }}
),

-- Each budget counts in its département (Hauts-de-France only), in the region total and in France.
placed as (
    select budgets.*, 'departement' as territory_level, department_code as territory_code
    from budgets where is_hauts_de_france
    union all
    select budgets.*, 'region', '32' from budgets where is_hauts_de_france
    union all
    select budgets.*, 'national', 'FR' from budgets
),

-- ... and in its category and in 'all'.
categorised as (
    select placed.*, entity_category as category from placed
    union all
    select placed.*, 'all' from placed
),

territories (territory_level, territory_code, territory_name) as (
    values
    {%- for code, name in departments.items() %}
        ('departement', '{{ code }}', '{{ name }}'),
    {%- endfor %}
        ('region', '32', 'Hauts-de-France'),
        ('national', 'FR', 'France')
),

category_labels (category, category_label_fr) as (
    {{ values_from(categories) }}
),

years as (
    select year, max(loaded_on) as as_of_date from budgets group by year
),

grid as (
    select * from years cross join territories cross join category_labels
),

cells as (
    select
        year, territory_code, category,
        count(*) as budgets,
        count(payment_delay_days) as n,
        sum(payment_delay_days) as delay_sum,
        avg(payment_delay_days) as mean_delay,
        percentile_cont(0.5) within group (order by payment_delay_days) as median_delay,
        count(*) filter (where is_above_ceiling) as above_ceiling
    from categorised
    group by year, territory_code, category
),

-- Share of the budgets of a year and territory whose category is unknown (same for every category row).
unknown_shares as (
    select year, territory_code, avg((entity_category = 'unknown')::int) as unknown_share
    from placed
    group by year, territory_code
),

filled as (
    select
        grid.*,
        coalesce(cells.budgets, 0) as budgets,
        coalesce(cells.n, 0) as n,
        cells.delay_sum,
        cells.mean_delay,
        cells.median_delay,
        coalesce(cells.above_ceiling, 0) as above_ceiling,
        unknown_shares.unknown_share,
        cells.n::numeric / nullif(cells.budgets, 0) as coverage
    from grid
    left join cells using (year, territory_code, category)
    left join unknown_shares using (year, territory_code)
),

with_previous as (
    select
        filled.*,
        previous.n as previous_n,
        previous.mean_delay as previous_mean_delay
    from filled
    left join filled as previous
        on previous.year = filled.year - 1
        and previous.territory_code = filled.territory_code
        and previous.category = filled.category
),

measures as (
    select *, 'mean_delay_days' as measure, 'Délai global de paiement moyen (jours)' as measure_label_fr,
        round(mean_delay, 2) as raw_value, delay_sum as numerator, n::numeric as denominator,
        n >= {{ min_records }} as enough
    from with_previous
    union all
    select *, 'median_delay_days', 'Délai global de paiement médian (jours)',
        round(median_delay::numeric, 2), null, null, n >= {{ min_records }}
    from with_previous
    union all
    select *, 'share_above_ceiling', 'Part des budgets au-delà du délai légal',
        round(above_ceiling::numeric / nullif(n, 0), 4), above_ceiling::numeric, n::numeric,
        n >= {{ min_records }}
    from with_previous
    union all
    select *, 'mean_delay_change_days', 'Évolution du délai moyen sur un an (jours)',
        round(mean_delay - previous_mean_delay, 2), null, null,
        n >= {{ min_records }} and previous_n >= {{ min_records }}
    from with_previous
)

select
    'payment_delays' as indicator_id,
    measure,
    measure_label_fr,
    year,
    territory_level,
    territory_code,
    territory_name,
    category as entity_category,
    category_label_fr as entity_category_label_fr,
    case when enough then raw_value end as value,
    case when enough then numerator end as numerator,
    case when enough then denominator end as denominator,
    n,
    budgets as records_in_scope,
    round(unknown_share, 4) as unknown_share,
    round(coverage, 4) as coverage,
    'n/a' as threshold,
    '{{ var("method_version") }}' as method_version,
    as_of_date,
    case
        when measure = 'mean_delay_change_days' and previous_n is null then 'not available'
        when enough then 'ok'
        else 'insufficient data'
    end as status
from measures
