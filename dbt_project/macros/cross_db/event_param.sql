{#- The value of one GA4 event parameter: `column` holds the export's `event_params`, a repeated
    {key, value: {string_value, int_value, float_value, double_value}} record; `value_type` is one of
    those four slots. NULL when the event has no such parameter (or it is set in another slot).
    BigQuery: the export's own ARRAY<STRUCT> (the export dataset itself, or the loaded copy), unnested.
    DuckDB: dlt stores the nested list as JSON; cast to the same list of structs (a no-op on a table
    that already holds one) and filtered with list functions. -#}
{% macro event_param(column, key, value_type) -%}
    {%- if value_type not in ('string_value', 'int_value', 'float_value', 'double_value') -%}
        {{ exceptions.raise_compiler_error("event_param: value_type must be string_value, int_value, float_value or double_value, not " ~ value_type) }}
    {%- endif -%}
    {{ return(adapter.dispatch('event_param', 'pcdata')(column, key, value_type)) }}
{%- endmacro %}

{% macro default__event_param(column, key, value_type) -%}
    list_filter(
        cast({{ column }} as struct(
            key varchar,
            value struct(string_value varchar, int_value bigint, float_value double, double_value double)
        )[]),
        lambda param: param.key = '{{ key }}'
    )[1].value.{{ value_type }}
{%- endmacro %}

{% macro bigquery__event_param(column, key, value_type) -%}
    (select param.value.{{ value_type }} from unnest({{ column }}) as param where param.key = '{{ key }}' limit 1)
{%- endmacro %}


{#- A text field of a GA4 nested record (`geo`, `device`, `app_info`). BigQuery: the RECORD's field;
    DuckDB: dlt stores the record as JSON (a STRUCT casts to JSON the same way). -#}
{% macro record_field(column, field) -%}
    {{ return(adapter.dispatch('record_field', 'pcdata')(column, field)) }}
{%- endmacro %}

{% macro default__record_field(column, field) -%}
    json_extract_string(cast({{ column }} as json), '$.{{ field }}')
{%- endmacro %}

{% macro bigquery__record_field(column, field) -%}
    {{ column }}.{{ field }}
{%- endmacro %}


{#- GA4's event_timestamp (microseconds since the epoch, UTC) -> a timestamp without time zone in UTC,
    the type the other sources' event times have in the marts. -#}
{% macro timestamp_from_micros(expr) -%}
    {{ return(adapter.dispatch('timestamp_from_micros', 'pcdata')(expr)) }}
{%- endmacro %}

{% macro default__timestamp_from_micros(expr) -%}
    make_timestamp(cast({{ expr }} as bigint))
{%- endmacro %}

{% macro bigquery__timestamp_from_micros(expr) -%}
    timestamp_micros(cast({{ expr }} as int64))
{%- endmacro %}
