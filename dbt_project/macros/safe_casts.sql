{# Casts that return null instead of failing on the values real DECP files contain
   ("NC", "", "2018-08-30+02:00", "0222-01-01", amounts as strings). Flags are computed in staging.
   Pure SQL (no exception blocks): they run on every row of national files. #}

{% macro to_numeric(expr) -%}
    case when btrim({{ expr }}) ~ '^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$'
         then btrim({{ expr }})::numeric end
{%- endmacro %}

{# A calendar date from the first 10 characters (ignores time and offset suffixes);
   null when malformed, impossible (30 February) or outside 1900-2100. #}
{% macro to_date(expr) -%}
    case when {{ expr }} ~ '^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])' then
        case when substr({{ expr }}, 9, 2)::int <= extract(day from
                    (substr({{ expr }}, 1, 7) || '-01')::date + interval '1 month - 1 day')
             then substr({{ expr }}, 1, 10)::date end
    end
{%- endmacro %}
