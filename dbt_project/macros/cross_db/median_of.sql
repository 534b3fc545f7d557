{#- Median of a numeric expression, as an aggregate (continuous: the mean of the
    two middle values for an even count). BigQuery has PERCENTILE_CONT only as
    a window function, so there the aggregate is the middle value of
    APPROX_QUANTILES: exact on small groups, one of the two middle values for
    an even count. -#}
{% macro median_of(expr) -%}
    {{ return(adapter.dispatch('median_of', 'pcdata')(expr)) }}
{%- endmacro %}

{% macro default__median_of(expr) -%}
    quantile_cont({{ expr }}, 0.5)
{%- endmacro %}

{% macro bigquery__median_of(expr) -%}
    approx_quantiles({{ expr }}, 2)[offset(1)]
{%- endmacro %}
