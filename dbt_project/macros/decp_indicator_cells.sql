{# Building blocks shared by the DECP indicators (order_book, sme_access, local_retention,
   environmental_clauses, social_clauses, innovation, competition): which contracts are in scope, and the
   year x territory x buyer-category cells each contract counts in. #}

{# DECP-based series are computed at the DECP publication threshold (DATA.md: the 90k -> 40k break). #}
{% macro decp_threshold_eur() -%} 40000 {%- endmacro %}

{# As-of date of the DECP data: the end of the latest DECP load, null before any. Publication dates would say
   less: the decp.info tabular dataset has none. Read from meta.loads, not from rpt_decp_load_reconciliation
   (which lists the same loads), so that the indicators need not wait for the reconciliation. #}
{% macro decp_as_of_date() -%}
    (select max(loads.finished_at)::date from {{ source('orcp_meta', 'loads') }} as loads
     where loads.status = 'loaded' and {{ is_decp_load_format('loads.format') }})
{%- endmacro %}

{# Whether a meta.loads format is a DECP one (every layout of ingest/formats: decp-*, minef-*). #}
{% macro is_decp_load_format(column) -%}
    {{ column }} ~ '^(decp|minef)'
{%- endmacro %}

{# Each row of `relation` (a decp_buyer_groups() shape, macros/indicator_groups.sql) once per cell it counts in: its buyer's
   département (Hauts-de-France only), the region total '32' (Hauts-de-France buyers), France 'FR' (every
   buyer, located or not); each time in its buyer's category and in 'all'. #}
{% macro decp_in_cells(relation) %}
    select
        scoped.*,
        place.territory_level,
        place.territory_code,
        category.buyer_category,
        category.buyer_category_label_fr
    from {{ relation }} as scoped
    cross join lateral (values
        ('departement', case when scoped.is_hauts_de_france then scoped.buyer_departement_code end),
        ('region', case when scoped.is_hauts_de_france then '32' end),
        ('national', 'FR')
    ) as place (territory_level, territory_code)
    cross join lateral (values
        (scoped.category_of_buyer, scoped.category_of_buyer_fr),
        ('all', 'Toutes catégories d''acheteurs')
    ) as category (buyer_category, buyer_category_label_fr)
    where place.territory_code is not null
{% endmacro %}

{# Totals by year x territory x buyer category (the cells of decp_in_cells) of additive measures. The contracts
   are grouped first by what places them in cells (year, buyer's département and category) and by `by`; the cells
   then multiply a few thousand groups instead of a million contracts. measures: [(name, aggregate)] where each
   aggregate is a count or a sum over `relation` (a decp_buyer_groups() shape with the columns of `by`),
   summed again over the groups. #}
{% macro decp_cell_totals(relation, measures, by=[]) %}
    {%- set placing = ['year', 'is_hauts_de_france', 'buyer_departement_code', 'category_of_buyer',
                       'category_of_buyer_fr'] + by %}
    {%- set groups -%}
        (select {{ placing | join(', ') }}
            {%- for name, aggregate in measures %}, {{ aggregate }} as {{ name }}{% endfor %}
         from {{ relation }} as contracts
         group by {{ placing | join(', ') }})
    {%- endset %}
    select
        year, territory_level, territory_code, buyer_category, buyer_category_label_fr
        {%- for column in by %}, {{ column }}{% endfor %}
        {%- for name, aggregate in measures %}, sum({{ name }}) as {{ name }}{% endfor %}
    from ({{ decp_in_cells(groups) }}) as cells
    group by year, territory_level, territory_code, buyer_category, buyer_category_label_fr
        {%- for column in by %}, {{ column }}{% endfor %}
{% endmacro %}

{# Every cell of the CTE cell_totals once per value of a supplier breakdown (labels: a CTE of (breakdown,
   breakdown_label_fr)), with the `measures` of `totals` (a decp_cell_totals() by the breakdown) for that value, 0
   when it has none, and unknown_contracts / unknown_amount_eur: the cell's contracts_won / amount_won_eur of
   suppliers whose breakdown value is 'unknown'. #}
{% macro decp_breakdown_grid(breakdown, labels, totals, measures, where='true') %}
    select
        cell_totals.*,
        {{ labels }}.{{ breakdown }},
        {{ labels }}.{{ breakdown }}_label_fr,
        {%- for measure in measures %}
        coalesce({{ totals }}.{{ measure }}, 0) as {{ measure }},
        {%- endfor %}
        coalesce(unknowns.contracts_won, 0) as unknown_contracts,
        coalesce(unknowns.amount_won_eur, 0) as unknown_amount_eur
    from cell_totals
    cross join {{ labels }}
    {%- for alias, value in [(totals, labels ~ '.' ~ breakdown), ('unknowns', "'unknown'")] %}
    left join {{ totals }}{{ ' as unknowns' if alias == 'unknowns' }}
        on {{ alias }}.year = cell_totals.year
        and {{ alias }}.territory_code = cell_totals.territory_code
        and {{ alias }}.buyer_category = cell_totals.buyer_category
        and {{ alias }}.{{ breakdown }} = {{ value }}
    {%- endfor %}
    where {{ where }}
{% endmacro %}

{# French name of an indicator territory. #}
{% macro decp_territory_name(level, code) -%}
    case {{ level }}
        when 'national' then 'France'
        when 'region' then 'Hauts-de-France'
        else case {{ code }} when '02' then 'Aisne' when '59' then 'Nord' when '60' then 'Oise'
                             when '62' then 'Pas-de-Calais' when '80' then 'Somme' end
    end
{%- endmacro %}

{# The grain columns every DECP indicator row starts with. #}
{% macro decp_indicator_head(indicator_id, measure, measure_label_fr) -%}
    '{{ indicator_id }}'::text as indicator_id,
    {{ measure }}::text as measure,
    {{ measure_label_fr }}::text as measure_label_fr,
    year,
    territory_level,
    territory_code,
    {{ decp_territory_name('territory_level', 'territory_code') }} as territory_name,
    buyer_category,
    buyer_category_label_fr
{%- endmacro %}

{# indicator_fields with the DECP series' threshold and as-of date. #}
{% macro decp_indicator_fields(value, numerator, denominator, n, unknown_share, coverage, available='true') -%}
    {{ indicator_fields(value=value, numerator=numerator, denominator=denominator, n=n,
                        unknown_share=unknown_share, coverage=coverage, threshold_eur=decp_threshold_eur(),
                        as_of=decp_as_of_date(), available=available) }}
{%- endmacro %}

{# The whole of an indicator on considerations (environmental_clauses, social_clauses): by year x territory x
   buyer category, the share of the contracts (count and usable initial amount) with at least one such
   consideration, among the contracts whose record has the field. flag: the fct_contracts boolean column,
   null where the record has no such field (2019 format): those contracts are left out of the shares; a
   cell where none has the field is 'not available', never 0. #}
{% macro decp_consideration_indicator(indicator_id, flag, count_label_fr, value_label_fr) %}
with aggregates as (
    {{ decp_cell_totals(decp_buyer_groups('int_indicators__contract_groups'), [
        ('contracts', 'sum(contracts)'),
        ('known', 'sum(' ~ flag ~ '_known)'),
        ('with_consideration', 'sum(' ~ flag ~ '_contracts)'),
        ('known_with_amount', 'sum(' ~ flag ~ '_known_with_amount)'),
        ('known_amount_eur', 'sum(' ~ flag ~ '_known_amount_eur)'),
        ('amount_with_consideration_eur', 'sum(' ~ flag ~ '_amount_eur)')]) }}
)

select
    {{ decp_indicator_head(indicator_id, "'contract_share'", "'" ~ count_label_fr ~ "'") }},
    {{ decp_indicator_fields(value='round(with_consideration::numeric / nullif(known, 0), 4)',
                             numerator='with_consideration', denominator='known', n='known',
                             unknown_share='(contracts - known)::numeric / contracts',
                             coverage='known::numeric / contracts', available='known > 0') }}
from aggregates

union all

select
    {{ decp_indicator_head(indicator_id, "'value_share'", "'" ~ value_label_fr ~ "'") }},
    {{ decp_indicator_fields(value='round(amount_with_consideration_eur / nullif(known_amount_eur, 0), 4)',
                             numerator='amount_with_consideration_eur', denominator='known_amount_eur',
                             n='known_with_amount',
                             unknown_share='(contracts - known)::numeric / contracts',
                             coverage='known_with_amount::numeric / contracts', available='known > 0') }}
from aggregates
{% endmacro %}
