{#- Fails (returns rows) where a stock does not follow from its flows:
    backlog(d) != backlog(d - 1) + inflow(d) - outflow(d), per partition.
    The day before the first row of a partition counts as an empty backlog,
    and a missing day (a gap in the series) fails too, since its backlog is
    read as 0. -#}
{% test backlog_identity(model, date_column, backlog_column, inflow_column, outflow_column, partition_columns=[]) %}

with current_day as (

    select * from {{ model }}

),

previous_day as (

    select
        {%- for column in partition_columns %}
        {{ column }},
        {%- endfor %}
        cast({{ dbt.dateadd('day', 1, date_column) }} as date) as next_date,
        {{ backlog_column }} as previous_backlog
    from {{ model }}

)

select
    {%- for column in partition_columns %}
    current_day.{{ column }},
    {%- endfor %}
    current_day.{{ date_column }},
    coalesce(previous_day.previous_backlog, 0) as previous_backlog,
    current_day.{{ inflow_column }} as inflow,
    current_day.{{ outflow_column }} as outflow,
    current_day.{{ backlog_column }} as backlog
from current_day
left join previous_day
    on current_day.{{ date_column }} = previous_day.next_date
    {%- for column in partition_columns %}
    and current_day.{{ column }} = previous_day.{{ column }}
    {%- endfor %}
where current_day.{{ backlog_column }}
    != coalesce(previous_day.previous_backlog, 0) + current_day.{{ inflow_column }} - current_day.{{ outflow_column }}

{% endtest %}
