{#- BigQuery-only table settings for a model's config(): partitioning on a DATE
    column and clustering on the columns its readers filter and join on.
    `{{ config(bigquery_table(partition_date='month', granularity='month',
    cluster_by=['department_code'])) }}`. On any other adapter it returns no
    settings at all, so the DuckDB build never sees them. -#}
{% macro bigquery_table(partition_date=none, granularity='day', cluster_by=none) -%}
    {%- set settings = {} -%}
    {%- if target.type == 'bigquery' -%}
        {%- if partition_date -%}
            {%- do settings.update({'partition_by': {
                'field': partition_date, 'data_type': 'date', 'granularity': granularity
            }}) -%}
        {%- endif -%}
        {%- if cluster_by -%}
            {%- do settings.update({'cluster_by': cluster_by}) -%}
        {%- endif -%}
    {%- endif -%}
    {{- return(settings) -}}
{%- endmacro %}
