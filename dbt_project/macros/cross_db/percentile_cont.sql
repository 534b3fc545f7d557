{#- Aggregate: the `fraction` quantile of `expr` over the group, interpolated
    between the two nearest values (as percentile_cont). BigQuery has
    percentile_cont only as an analytic function, and approx_quantiles returns
    one of the values, never between two (the median of 2 and 10 is 2 or 10,
    not 6): there the aggregate interpolates itself between the two values
    around rank fraction * (n - 1) of the group's sorted non-null values. -#}
{% macro percentile_cont(expr, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'pcdata')(expr, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expr, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}

{% macro bigquery__percentile_cont(expr, fraction) -%}
    {%- set sorted = 'array_agg(' ~ expr ~ ' ignore nulls order by ' ~ expr ~ ')' -%}
    {%- set rank = fraction ~ ' * (count(' ~ expr ~ ') - 1)' -%}
    {%- set below = sorted ~ '[safe_offset(cast(floor(' ~ rank ~ ') as int64))]' -%}
    {%- set above = sorted ~ '[safe_offset(cast(ceil(' ~ rank ~ ') as int64))]' -%}
    ({{ below }} + ({{ rank }} - floor({{ rank }})) * ({{ above }} - {{ below }}))
{%- endmacro %}
