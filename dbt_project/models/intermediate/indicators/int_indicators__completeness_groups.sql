-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_indicators__batch_buyers') }}
{%- set incremental = indicator_groups_model() is not none %}
{%- set key_fields = completeness_key_fields() %}
-- Every contract (concessions included) by buyer x year (notification year, else year of data publication; null
-- when neither), for data_completeness: contracts, those missing each key field and any of them, those with a
-- publication date, and the latest publication date.

with contracts as (
    select
        c.buyer_key,
        coalesce(c.notification_year, extract(year from c.publication_date)::int) as year,
        c.publication_date,
        {%- for name, condition, _ in key_fields %}
        coalesce({{ condition }}, false) as missing_{{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('fct_contracts') }} as c
    {%- if incremental %}
    where c.buyer_key = any(array(select buyer_key from {{ ref('int_indicators__batch_buyers') }}))
    {%- endif %}
)

select
    buyer_key,
    year,
    count(*) as contracts,
    {%- for name, _, _ in key_fields %}
    count(*) filter (where missing_{{ name }}) as missing_{{ name }},
    {%- endfor %}
    count(*) filter (where {% for name, _, _ in key_fields %}missing_{{ name }}{{ ' or ' if not loop.last }}{% endfor %})
        as missing_any,
    count(publication_date) as with_publication_date,
    max(publication_date) as last_publication_date
from contracts
group by buyer_key, year
