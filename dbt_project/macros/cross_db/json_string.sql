{#- The text value at `key` of a JSON object held as text (NULL when absent). -#}
{% macro json_string(expr, key) -%}
    {{ return(adapter.dispatch('json_string', 'pcdata')(expr, key)) }}
{%- endmacro %}

{% macro default__json_string(expr, key) -%}
    json_extract_string({{ expr }}, '$.{{ key }}')
{%- endmacro %}

{% macro bigquery__json_string(expr, key) -%}
    json_value({{ expr }}, '$.{{ key }}')
{%- endmacro %}
