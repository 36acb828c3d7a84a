-- One row per published census figure of the latest load containing its year (a corrected file replaces
-- the years it contains, like the payment delays). The loader validated every value; this only types them.
with source as (
    select * from {{ source('census', 'census_rows') }}
),

latest as (
    select
        *,
        max(load_id) over (partition by record ->> 'year') as latest_load_of_year
    from source
)

select
    (record ->> 'year')::int as year,
    record ->> 'territory_level' as territory_level,
    record ->> 'territory_code' as territory_code,
    record ->> 'territory_name' as territory_name,
    record ->> 'buyer_category' as buyer_category,
    record ->> 'nature' as nature,
    record ->> 'company_size' as company_size,
    record ->> 'measure' as measure,
    (record ->> 'value')::numeric as value,
    record ->> 'precision' as precision,
    (record ->> 'threshold_eur')::int as threshold_eur,
    record ->> 'source_reference' as source_reference,
    nullif(record ->> 'source_url', '') as source_url,
    nullif(record ->> 'note', '') as note,
    load_id,
    record_number
from latest
where load_id = latest_load_of_year
