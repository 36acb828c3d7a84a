{# Fails for every flag in the array column that is not defined (with its reason) in ref_quality_flags. #}
{% test known_quality_flags(model, column_name) %}
select distinct flag
from {{ model }}
cross join unnest({{ column_name }}) as flag
where flag not in (select flag from {{ ref('ref_quality_flags') }})
{% endtest %}
