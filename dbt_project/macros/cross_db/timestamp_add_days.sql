{#- A timestamp `days` days later, still a TIMESTAMP (dbt.dateadd turns a
    BigQuery TIMESTAMP into a DATETIME, which then cannot be compared with
    TIMESTAMP columns). -#}
{% macro timestamp_add_days(expr, days) -%}
    {{ return(adapter.dispatch('timestamp_add_days', 'pcdata')(expr, days)) }}
{%- endmacro %}

{% macro default__timestamp_add_days(expr, days) -%}
    ({{ expr }} + interval ({{ days }}) day)
{%- endmacro %}

{% macro bigquery__timestamp_add_days(expr, days) -%}
    timestamp_add({{ expr }}, interval {{ days }} day)
{%- endmacro %}
