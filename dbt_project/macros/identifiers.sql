{# Identifiers (SIRET, contract ids, CPV codes). Pure SQL expressions, inlined on every row. #}

{# Spaces (also non-breaking), dots, dashes and slashes removed, upper case: "356 000 000 00048" -> "35600000000048".
   translate(), not regexp_replace(): three times faster on the millions of identifiers of national files. #}
{% macro clean_identifier(expr) -%}
    nullif(upper({{ strip_spaces(expr, '.-/') }}), '')
{%- endmacro %}

{# The text without white space (ASCII and Unicode spaces, non-breaking ones included) nor the characters of
   `also` (a plain string of characters, no quotes). Most values have nothing to strip: a regular expression
   says so five times faster than translate() walks them (expr is then evaluated twice: pass a column or a
   cheap expression). #}
{% macro strip_spaces(expr, also='') -%}
    {%- set kept = ['.', ',', '+', '_', ':', '/', '-'] | reject('in', also) | join('') -%}
    case when {{ expr }} ~ '^[0-9A-Za-z{{ kept }}]*$' then {{ expr }}
         else translate({{ expr }}, E' \t\n\r\f\x0B' || U&'\00A0\1680\2000\2001\2002\2003\2004\2005\2006\2007\2008\2009\200A\202F\205F\3000'
              {%- if also %} || '{{ also }}'{% endif %}, '') end
{%- endmacro %}

{# Luhn check of a string of 14 digits (SIRET): digits at odd positions from the left are doubled
   (translate maps a digit to the digit sum of its double). The caller checks the length. #}
{% macro luhn_14(digits) -%}
    ((
    {%- for i in range(1, 15) -%}
        {%- if i % 2 == 1 -%}
        translate(substr({{ digits }}, {{ i }}, 1), '0123456789', '0246813579')::int
        {%- else -%}
        substr({{ digits }}, {{ i }}, 1)::int
        {%- endif -%}
        {{ ' + ' if not loop.last }}
    {%- endfor -%}
    ) % 10 = 0)
{%- endmacro %}

{# A SIRET from a cleaned identifier: the 14 digits; a 13-digit value gets back the leading zero that
   integer typing removed when the padded value passes the Luhn check; anything else is returned as is. #}
{% macro siret_value(cleaned) -%}
    case when {{ cleaned }} ~ '^[0-9]{13}$' and {{ luhn_14("'0' || " ~ cleaned) }} then '0' || {{ cleaned }}
         else {{ cleaned }} end
{%- endmacro %}

{# Status of a SIRET (output of siret_value):
   valid           14 digits passing the Luhn check;
   valid_la_poste  14 digits of La Poste (SIREN 356000000), whose establishment numbers do not follow Luhn;
   luhn_failed     14 digits failing the Luhn check;
   wrong_length    digits only, but not 14 of them (a SIREN of 9, 13, 15, 17 digits...);
   not_numeric     letters or other characters (a VAT number, a placeholder);
   missing         no value. #}
{% macro siret_status(siret) -%}
    case when {{ siret }} is null then 'missing'
         when {{ siret }} !~ '^[0-9]+$' then 'not_numeric'
         when length({{ siret }}) <> 14 then 'wrong_length'
         when {{ siret }} like '356000000%' then 'valid_la_poste'
         when {{ luhn_14(siret) }} then 'valid'
         else 'luhn_failed' end
{%- endmacro %}

{# A contract id as used in the contract key: spaces, dots and slashes removed (DATA.md) and the
   ministry's "INX " prefix (value it judged unusable) dropped. Null for placeholders: empty, zeros only,
   "NC", "null", "-". #}
{% macro contract_id_key(expr) -%}
    nullif(regexp_replace({{ strip_spaces("case when " ~ expr ~ " like 'INX%' then regexp_replace(" ~ expr ~ ", '^INX[[:space:]]*', '') else " ~ expr ~ " end", './') }},
                          '^(0+|NC|NULL|NONE|NAN|-+)$', '', 'i'), '')
{%- endmacro %}

{# CPV main code on 8 digits: check digit ("-7") and spaces dropped; a 7-digit code gets back the
   leading zero lost by integer typing; null when it cannot be read as a CPV code. #}
{% macro cpv_code(expr) -%}
    {{ cpv_code_from_digits(cpv_digits(expr)) }}
{%- endmacro %}

{# The code part of a CPV value: check digit and spaces dropped (cpv_code's input, to compute once per row). #}
{% macro cpv_digits(expr) -%}
    {{ strip_spaces("split_part(btrim(" ~ expr ~ "), '-', 1)") }}
{%- endmacro %}

{% macro cpv_code_from_digits(digits) -%}
    case when {{ digits }} ~ '^[0-9]{8}$' then {{ digits }}
         when {{ digits }} ~ '^[0-9]{7}$' then '0' || {{ digits }}
    end
{%- endmacro %}

{# Works, supplies or services from a CPV code's division (DATA.md: 45 works; 01-44 and 48 supplies;
   50-98 services); null when there is no code. #}
{% macro cpv_contract_type(cpv_code) -%}
    case when {{ cpv_code }} is null then null
         when left({{ cpv_code }}, 2) = '45' then 'works'
         when left({{ cpv_code }}, 2) between '01' and '44' or left({{ cpv_code }}, 2) = '48' then 'supplies'
         when left({{ cpv_code }}, 2) between '50' and '98' then 'services'
    end
{%- endmacro %}
