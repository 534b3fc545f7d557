{#- Rolls department-level rows up to every level of the geography hierarchy,
    as long KPI tables are built: one `select ... group by` per level,
    joined with union all. `relation` (a CTE name) must carry department_code,
    region_code and academy_code; each output row has `dimension_name`
    (NAT, REG, ACAD, DEP) and `dimension_value` (the level's code, 'FR' for the
    nation), then `group_columns`, then one column per (alias, aggregate
    expression) of `aggregates`. Aggregating the department rows again at each
    level is what keeps NAT = sum of REG = sum of DEP for additive measures. -#}
{% macro unroll_geo_levels(relation, month_column, group_columns, aggregates) -%}
{%- set levels = [
    ('NAT', none),
    ('REG', 'region_code'),
    ('ACAD', 'academy_code'),
    ('DEP', 'department_code'),
] -%}
{%- for level_name, level_column in levels %}
    select
        {{ month_column }} as month,
        '{{ level_name }}' as dimension_name,
        {{ level_column if level_column else "'FR'" }} as dimension_value,
        {%- for column in group_columns %}
        {{ column }},
        {%- endfor %}
        {%- for alias, expression in aggregates %}
        {{ expression }} as {{ alias }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    {#- BigQuery refuses to group by a literal: NAT groups by the other columns only #}
    group by {{ ([month_column] + ([level_column] if level_column else []) + group_columns) | join(', ') }}
    {%- if not loop.last %}

    union all
    {% endif %}
{%- endfor %}
{%- endmacro %}
