{#- cast(expr as type) that gives NULL instead of failing on a value that does
    not convert ('abc' as an integer). dbt.safe_cast is a plain cast on DuckDB. -#}
{% macro try_cast_to(expr, type) -%}
    {{ return(adapter.dispatch('try_cast_to', 'pcdata')(expr, type)) }}
{%- endmacro %}

{% macro default__try_cast_to(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}

{% macro bigquery__try_cast_to(expr, type) -%}
    safe_cast({{ expr }} as {{ type }})
{%- endmacro %}
