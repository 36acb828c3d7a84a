{# Lists the indicators share: the territories they publish and code -> French label tables. #}

{# Hauts-de-France départements, in code order. #}
{% macro hdf_departments() -%}
    {{ return({'02': 'Aisne', '59': 'Nord', '60': 'Oise', '62': 'Pas-de-Calais', '80': 'Somme'}) }}
{%- endmacro %}

{# A `values` list of (code, label) rows from a dict, for a CTE such as `labels (code, label_fr) as (...)`. #}
{% macro values_from(mapping) -%}
    values
    {%- for code, label in mapping.items() %}
        ('{{ code }}', '{{ label | replace("'", "''") }}'){{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{# (territory_code, territory_name) rows: each département, the region (32) and France (FR). #}
{% macro indicator_territories() -%}
    {%- set territories = hdf_departments() -%}
    {%- do territories.update({'32': 'Hauts-de-France', 'FR': 'France'}) -%}
    {{ values_from(territories) }}
{%- endmacro %}
