{#- The smaller / larger of two values, ignoring a NULL one (NULL only when
    both are): DuckDB's least() ignores NULLs, BigQuery's returns NULL, so
    neither is written directly. Plain SQL, the same on every adapter. -#}
{% macro least_of(a, b) -%}
    case when {{ b }} is null or {{ a }} <= {{ b }} then coalesce({{ a }}, {{ b }}) else {{ b }} end
{%- endmacro %}

{% macro greatest_of(a, b) -%}
    case when {{ b }} is null or {{ a }} >= {{ b }} then coalesce({{ a }}, {{ b }}) else {{ b }} end
{%- endmacro %}
