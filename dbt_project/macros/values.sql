{# Typed values from the text the sources send. Pure SQL expressions: a value that cannot be typed
   becomes null (the staging models flag it), nothing raises. #}

{# A value of a tabular row: the ministry's markers MQ (missing), CDL (conditional, empty) and INX
   (value judged unusable) and the empty cells Python exports write ("nan", "None") become null. #}
{% macro tabular_value(expr) -%}
    case when btrim({{ expr }}) in ('', 'MQ', 'CDL', 'nan', 'NaN', 'None', 'null', 'NULL') or {{ expr }} like 'INX%'
         then null else btrim({{ expr }}) end
{%- endmacro %}

{# An amount in EUR: spaces (thousand separators) removed, a decimal comma read as a dot. #}
{% macro to_amount(expr) -%}
    {{ to_numeric("replace(" ~ strip_spaces(expr) ~ ", ',', '.')") }}
{%- endmacro %}

{# Why an amount is unusable, or null when it is usable. Thresholds from the ministry's own rules
   (vars amount_min_eur / amount_max_eur). #}
{% macro amount_problem(amount) -%}
    case when {{ amount }} is null then null
         when {{ amount }} = 0 or trunc({{ amount }}) = 999999999 then 'amount_placeholder'
         when trunc({{ amount }})::text ~ '^([1-9])\1{4,}$' then 'amount_repeated_digits'
         when {{ amount }} > {{ var('amount_max_eur') }} then 'amount_over_3bn'
         when {{ amount }} < {{ var('amount_min_eur') }} then 'amount_under_1_eur'
    end
{%- endmacro %}

{# "YYYY-MM-DD" from a date as sent: ISO with or without time and offset ("2018-08-30+02:00",
   "2021-12-01T00:00:00Z") or French "DD/MM/YYYY"; null when neither. #}
{% macro iso_date_text(expr) -%}
    case when btrim({{ expr }}) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' then substr(btrim({{ expr }}), 1, 10)
         when btrim({{ expr }}) ~ '^[0-9]{2}/[0-9]{2}/[0-9]{4}'
              then substr(btrim({{ expr }}), 7, 4) || '-' || substr(btrim({{ expr }}), 4, 2) || '-' || substr(btrim({{ expr }}), 1, 2)
    end
{%- endmacro %}

{# A date from iso_date_text output; null for impossible dates (30 February, year 0222): years
   outside var date_min_year..date_max_year are impossible for contract data. #}
{% macro iso_to_date(iso) -%}
    case when {{ iso }} ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'
              and substr({{ iso }}, 1, 4)::int between {{ var('date_min_year') }} and {{ var('date_max_year') }} then
        case when substr({{ iso }}, 9, 2)::int <= extract(day from
                    (substr({{ iso }}, 1, 7) || '-01')::date + interval '1 month - 1 day')
             then {{ iso }}::date end
    end
{%- endmacro %}

{% macro to_date_any(expr) -%}
    {{ iso_to_date(iso_date_text(expr)) }}
{%- endmacro %}

{# A duration in whole months, 1 to 1200; "NC" (not communicated), 0 and nonsense give null. #}
{% macro to_months(expr) -%}
    {{ months_from_numeric(to_numeric(expr)) }}
{%- endmacro %}

{# The same from a number already typed (to_numeric computed once, e.g. in a CTE column). #}
{% macro months_from_numeric(num) -%}
    case when {{ num }} > 0 and {{ num }} <= 1200 then ceil({{ num }})::int end
{%- endmacro %}

{% macro is_not_communicated(expr) -%}
    (btrim({{ expr }}) ~* '^(NC|N\.?C\.?|N/C|non communiqu)')
{%- endmacro %}

{# Booleans as sent: true/false, 1/0, oui/non. #}
{% macro to_boolean(expr) -%}
    case when lower(btrim({{ expr }})) in ('true', 't', '1', '1.0', 'oui', 'yes', 'vrai') then true
         when lower(btrim({{ expr }})) in ('false', 'f', '0', '0.0', 'non', 'no', 'faux') then false
    end
{%- endmacro %}

{# A count of offers received: a whole number from 1 to 999 (an awarded contract had at least one offer). #}
{% macro to_offer_count(expr) -%}
    {{ offer_count_from_numeric(to_numeric(expr)) }}
{%- endmacro %}

{% macro offer_count_from_numeric(num) -%}
    case when {{ num }} >= 1 and {{ num }} < 1000 and {{ num }} = trunc({{ num }}) then {{ num }}::int end
{%- endmacro %}

{# A share between 0 and 1 (tauxAvance, origineUE, origineFrance). #}
{% macro to_share(expr) -%}
    {{ share_from_numeric(to_numeric(expr)) }}
{%- endmacro %}

{% macro share_from_numeric(num) -%}
    case when {{ num }} between 0 and 1 then {{ num }} end
{%- endmacro %}

{# Whether a list of considerations (JSON array, "['a', 'b']" or plain text) names one of the
   positive values of the schema; null when the field was not sent (2019 layout: not available). #}
{% macro has_consideration(expr, kind) -%}
    {%- set pattern = {
        'social': 'clause sociale|crit[eè]re social|march[eé] r[eé]serv|concession r[eé]serv',
        'environmental': 'clause environnementale|crit[eè]re environnemental'}[kind] -%}
    case when {{ expr }} is null then null else lower({{ expr }}) ~ '{{ pattern }}' end
{%- endmacro %}
