{#- A double-precision float type. dbt.type_float() is FLOAT, which DuckDB
    reads as 4-byte REAL (12.99 becomes 12.9899997); BigQuery's FLOAT64 is
    already double. Money stays dbt.type_numeric(). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'pcdata')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro bigquery__type_double() -%}
    float64
{%- endmacro %}
