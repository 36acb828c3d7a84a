{# Faster seed loading on PostgreSQL. dbt's default__load_csv_rows calls the get_binding_char() macro once per
   cell, which takes ~25 s for the 35,000-row COG seed; this builds each batch's placeholders once per batch.
   Same statements otherwise (batched multi-row INSERT with bindings). #}
{% macro postgres__load_csv_rows(model, agate_table) %}
    {% set batch_size = get_batch_size() %}
    {% set cols_sql = get_seed_column_quoted_csv(model, agate_table.column_names) %}
    {% set row_placeholders = '(' ~ (['%s'] * (agate_table.column_names | length)) | join(', ') ~ ')' %}
    {% set statements = [] %}
    {% for chunk in agate_table.rows | batch(batch_size) %}
        {% set bindings = [] %}
        {% for row in chunk %}
            {% do bindings.extend(row) %}
        {% endfor %}
        {% set sql = 'insert into ' ~ this.render() ~ ' (' ~ cols_sql ~ ') values '
                     ~ ([row_placeholders] * (chunk | length)) | join(', ') %}
        {% do adapter.add_query(sql, bindings=bindings, abridge_sql_log=True) %}
        {% if loop.index0 == 0 %}
            {% do statements.append(sql) %}
        {% endif %}
    {% endfor %}
    {{ return(statements[0]) }}
{% endmacro %}
