{#- Fails (returns rows) for each combination of the given columns that occurs
    more than once in the model. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- set column_list = combination_of_columns | join(', ') %}

with duplicated as (

    select
        {{ column_list }},
        count(*) as n_records
    from {{ model }}
    group by {{ column_list }}
    having count(*) > 1

)

select * from duplicated

{% endtest %}
