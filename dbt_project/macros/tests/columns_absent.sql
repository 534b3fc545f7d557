{#- Fails (one row per offending column) when the model has any of `column_names`:
    guards a training set against fields only known after the label was set. -#}
{% test columns_absent(model, column_names) %}
    {%- set present = adapter.get_columns_in_relation(model) | map(attribute='name') | map('lower') | list -%}
    {%- set leaks = column_names | map('lower') | select('in', present) | list -%}
    {%- if leaks %}
        {%- for column in leaks %}
    select '{{ column }}' as leaked_column
            {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
    {%- else %}
    select 'none' as leaked_column from (select 1 as x) as nothing where 1 = 0
    {%- endif %}
{% endtest %}
