{#- Fails (returns rows) for each row where `expression` (a boolean SQL
    expression over the model's columns) is false. NULL counts as passing:
    test the columns themselves with not_null. -#}
{% test all_rows_satisfy(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
