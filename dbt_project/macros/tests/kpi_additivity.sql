{#- Fails (returns one row per month, kpi, level and column that does not add
    up) unless, for every month and kpi_name, the sum of each `columns` over the
    rows of each level in `child_levels` equals its value on the single row of
    `parent_level` (within `tolerance`, for decimal sums). Rows are selected by
    the test's `where` config (e.g. only additive KPI types). A level with no
    rows for a month and KPI sums to 0. -#}
{% test kpi_additivity(model, columns, parent_level='NAT', child_levels=['REG', 'ACAD', 'DEP'],
                       level_column='dimension_name', group_columns=['month', 'kpi_name'], tolerance=0.000001) %}

{%- set group_list = group_columns | join(', ') %}

with level_sums as (

    select
        {{ group_list }},
        {{ level_column }} as level_name,
        {%- for column in columns %}
        sum(coalesce({{ column }}, 0)) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
    where {{ level_column }} in ('{{ parent_level }}'{% for level in child_levels %}, '{{ level }}'{% endfor %})
    group by {{ group_list }}, {{ level_column }}

),

parents as (

    select * from level_sums where level_name = '{{ parent_level }}'

),

keys as (

    select distinct {{ group_list }} from level_sums

),

levels as (
    {%- for level in child_levels %}
    select '{{ level }}' as level_name{{ ' union all' if not loop.last }}
    {%- endfor %}
),

comparisons as (

    select
        {%- for column in group_columns %}
        keys.{{ column }},
        {%- endfor %}
        levels.level_name,
        {%- for column in columns %}
        coalesce(parents.{{ column }}, 0) as parent_{{ column }},
        coalesce(children.{{ column }}, 0) as children_{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from keys
    cross join levels
    left join parents
        on {% for column in group_columns %}keys.{{ column }} = parents.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
    left join level_sums as children
        on {% for column in group_columns %}keys.{{ column }} = children.{{ column }} and {% endfor %}levels.level_name = children.level_name

)

select *
from comparisons
where
    {%- for column in columns %}
    abs(parent_{{ column }} - children_{{ column }}) > {{ tolerance }}{{ ' or' if not loop.last }}
    {%- endfor %}

{% endtest %}
