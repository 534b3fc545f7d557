{#- Custom schemas are used as they are (staging, marts_regional, ...), with an
    optional prefix for personal dev datasets (`pcdata.schema_prefix` in dlt's
    configuration, passed by `pcdata transform`): the marts schemas are what
    Metabase reads, so their names must not depend on the target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prefix = var('pcdata_schema_prefix', '') -%}
    {%- if custom_schema_name is none -%}
        {{ prefix ~ target.schema }}
    {%- else -%}
        {{ prefix ~ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
