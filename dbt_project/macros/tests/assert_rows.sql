{# Fails with every row of the model for which the condition (SQL over its columns) is not true. #}
{% test assert_rows(model, condition) %}
select *
from {{ model }}
where not coalesce(({{ condition }}), false)
{% endtest %}
