{#- Name of the 64-bit floating point type: dbt.type_float() is a 32-bit FLOAT
    on DuckDB, too coarse for KPI ratios. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'pcdata')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro bigquery__type_double() -%}
    float64
{%- endmacro %}
