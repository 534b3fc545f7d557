{#- Fails (returns rows) for each row where `expression`, a boolean SQL
    expression over the model's columns (e.g. 'numerator <= denominator'), is
    false. NULL passes, as in dbt_utils: test the columns themselves with
    not_null. Use the test's `where` config to restrict it to some rows. -#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
