{# The columns every published indicator row carries (INDICATORS.md), from per-group aggregates.
   Use as the last select of an indicator model:

     select <grain columns>,
            {{ indicator_fields(value='numerator_eur / nullif(denominator_eur, 0)',
                                numerator='numerator_eur', denominator='denominator_eur', n='n_contracts',
                                unknown_share='unknown_n::numeric / nullif(n_contracts, 0)',
                                coverage='used_n::numeric / nullif(scope_n, 0)', threshold_eur='40000') }}
     from aggregates

   Below var('min_records') records the value is null and the status says "insufficient data":
   such a row is never published as a number. available='<condition>' marks the rows where the data
   cannot answer at all (condition false, e.g. a field the 2019 format does not have): the value is
   null and the status "not available", never 0. #}
{% macro indicator_fields(value, numerator, denominator, n, unknown_share='null', coverage='null',
                          threshold_eur='null', as_of='null', available='true') -%}
    case when ({{ available }}) and {{ n }} >= {{ var('min_records') }} then ({{ value }})::numeric end as value,
    ({{ numerator }})::numeric as numerator,
    ({{ denominator }})::numeric as denominator,
    ({{ n }})::bigint as n,
    round(({{ unknown_share }})::numeric, 4) as unknown_share,
    round(({{ coverage }})::numeric, 4) as coverage,
    ({{ threshold_eur }})::numeric as threshold_eur,
    '{{ var("method_version") }}'::text as method_version,
    coalesce(({{ as_of }})::date, current_date) as as_of_date,
    case when not ({{ available }}) then 'not available'
         when {{ n }} >= {{ var('min_records') }} then 'ok' else 'insufficient data' end as status
{%- endmacro %}
