{#- Fails (returns rows) for each row where `expression` is not true (false or
    NULL), e.g. 'numerator <= denominator'; use the test's `where` config to
    restrict it to some rows. -#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
