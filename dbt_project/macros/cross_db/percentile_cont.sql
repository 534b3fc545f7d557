{#- Aggregate: the `fraction` quantile of `expr` over the group, interpolated
    between the two nearest values (as percentile_cont). BigQuery has
    percentile_cont only as an analytic function, so there the aggregate is
    approx_quantiles over 1000 buckets (within 0.1 % of the rank). -#}
{% macro percentile_cont(expr, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'pcdata')(expr, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expr, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}

{% macro bigquery__percentile_cont(expr, fraction) -%}
    approx_quantiles({{ expr }}, 1000)[offset({{ (fraction * 1000) | round | int }})]
{%- endmacro %}
