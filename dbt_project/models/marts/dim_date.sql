{{ config(pre_hook='set local jit = off', post_hook='analyze {{ this }}') }}

-- One row per calendar day from date_min_year to date_max_year (the years a contract date may have),
-- plus the 'unknown' member for facts without a (valid) date.
with days as (
    select day::date as calendar_date
    from generate_series(make_date({{ var('date_min_year') }}, 1, 1),
                         make_date({{ var('date_max_year') }}, 12, 31), interval '1 day') as day
)

select
    {{ surrogate_key('date', 'calendar_date::text') }} as date_key,
    calendar_date,
    extract(year from calendar_date)::int as year,
    extract(quarter from calendar_date)::int as quarter,
    extract(month from calendar_date)::int as month,
    (array['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre',
           'novembre', 'décembre'])[extract(month from calendar_date)::int] as month_name_fr,
    to_char(calendar_date, 'YYYY-MM') as year_month,
    extract(day from calendar_date)::int as day_of_month,
    extract(isodow from calendar_date)::int as iso_day_of_week,
    extract(week from calendar_date)::int as iso_week,
    extract(isodow from calendar_date) >= 6 as is_weekend
from days

union all

select {{ unknown_key() }}, null, null, null, null, 'inconnu', null, null, null, null, null
