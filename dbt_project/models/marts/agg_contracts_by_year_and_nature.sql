-- Count and amount of contracts by year of notification and nature (the observatory's first table).
select
    extract(year from notification_date)::int as notification_year,
    coalesce(nature_raw, 'Inconnue') as nature,
    count(*) as contracts,
    sum(amount_eur) as amount_eur
from {{ ref('stg_decp__contracts') }}
group by 1, 2
