{#- First day of the month of a date or timestamp expression, as a DATE on
    every adapter (dbt.date_trunc returns a TIMESTAMP on both). -#}
{% macro month_start(expr) -%}
    {{ return(adapter.dispatch('month_start', 'pcdata')(expr)) }}
{%- endmacro %}

{% macro default__month_start(expr) -%}
    cast(date_trunc('month', {{ expr }}) as date)
{%- endmacro %}

{% macro bigquery__month_start(expr) -%}
    date_trunc(cast({{ expr }} as date), month)
{%- endmacro %}
