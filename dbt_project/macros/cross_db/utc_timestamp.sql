{#- Timezone-aware timestamp (as dlt writes them: TIMESTAMP WITH TIME ZONE in
    DuckDB, TIMESTAMP in BigQuery) -> timestamp in UTC. On DuckDB a plain cast
    would convert to the session time zone; timezone('UTC', x) does not. -#}
{% macro utc_timestamp(expr) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'pcdata')(expr)) }}
{%- endmacro %}

{% macro default__utc_timestamp(expr) -%}
    timezone('UTC', {{ expr }})
{%- endmacro %}

{% macro bigquery__utc_timestamp(expr) -%}
    cast({{ expr }} as timestamp)
{%- endmacro %}
