{# on-run-start: drop the tables of models the project no longer has (dbt never drops them by itself), so that an
   upgraded warehouse does not keep stale copies beside the live models. Something that still depends on such a
   table (an analyst's view) keeps it: the run goes on and the notice says why. #}
{% macro drop_retired_relations() -%}
    {%- set retired = [('intermediate', 'int_decp__contracts')] -%}
    {%- for schema, identifier in retired %}
    do $$
    begin
        drop table if exists {{ schema }}.{{ identifier }};
    exception when dependent_objects_still_exist then
        raise notice 'retired table {{ schema }}.{{ identifier }} kept: other objects depend on it';
    end
    $$;
    {%- endfor %}
{%- endmacro %}
