{#- JSON column -> its JSON text (BigQuery cannot CAST a JSON object to STRING). -#}
{% macro json_to_string(expr) -%}
    {{ return(adapter.dispatch('json_to_string', 'pcdata')(expr)) }}
{%- endmacro %}

{% macro default__json_to_string(expr) -%}
    cast({{ expr }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro bigquery__json_to_string(expr) -%}
    to_json_string({{ expr }})
{%- endmacro %}
