{# Surrogate keys of the star schema: md5 of the member's level and natural key, so that a key can be
   recomputed from the natural key alone and stays stable from one build to the next. #}
{% macro surrogate_key(kind, natural_key) -%}
    md5('{{ kind }}:' || {{ natural_key }})
{%- endmacro %}

{# The key of every dimension's explicit 'unknown' member: facts whose natural key is missing or not in
   the dimension point to it, so that no fact row is lost in a join. #}
{% macro unknown_key() -%}
    md5('unknown')
{%- endmacro %}
