{# Models go to the schema named in their folder config (staging, marts, ...), not <target>_<schema>:
   the warehouse's roles and grants are defined on those fixed schema names. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
