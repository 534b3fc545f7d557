{#- The strategy of every incremental model, chosen per adapter here and
    nowhere else: `config(materialized='incremental', unique_key=...,
    incremental_strategy=upsert_strategy())`. Both strategies upsert the
    batch on the model's unique_key (a key in the batch replaces its row, a
    new key is added), so a model gives the same rows on either adapter.
    DuckDB: delete+insert (one DELETE ... USING and one INSERT; DuckDB stores
    an updated row as a delete plus an append anyway, and it needs no
    DuckDB >= 1.4 MERGE). BigQuery: merge (dbt-bigquery has no delete+insert;
    insert_overwrite with dynamic partitions fails on the emulator, and
    would rewrite whole months for a day of data). -#}
{% macro upsert_strategy() -%}
    {{ return(adapter.dispatch('upsert_strategy', 'pcdata')()) }}
{%- endmacro %}

{% macro default__upsert_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{% macro duckdb__upsert_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{#- The rows an incremental run reads again: `column` at or after the newest
    `watermark` the model already holds, less `lookback_days` (late data:
    rows that land after the previous run with an older date). True when the
    model is empty, so an empty first build does not freeze it. `data_type`:
    'timestamp' or 'date', the type of column and watermark. `watermark_where`:
    a condition on the model's rows, for a model fed by several sources,
    each with its own watermark. Only inside an is_incremental() block:
    it reads {{ this }}. -#}
{% macro incremental_window(column, watermark, lookback_days, data_type='timestamp', watermark_where=none) -%}
    {%- set query = 'select max(' ~ watermark ~ ') from ' ~ this
        ~ (' where ' ~ watermark_where if watermark_where else '') -%}
    {%- set newest = '(' ~ query ~ ')' -%}
    {%- if execute and this is not string -%}
        {#- A run (in a unit test `this` is a fixture's CTE name, a string: the subquery stays): the
            watermark is read now and written as a literal, so the filter reaches the scan. DuckDB does
            not push a filter holding a subquery below a view's projection (the whole view would be
            computed first), and BigQuery prunes partitions on constant filters only. -#}
        {%- set value = run_query(query).columns[0].values()[0] -%}
        {%- if value is none -%}
            {%- set newest = 'null' -%}
        {%- elif data_type == 'date' -%}
            {%- set newest = "cast('" ~ (value | string)[:10] ~ "' as date)" -%}
        {%- else -%}
            {%- set newest = "cast('" ~ (value | string) ~ "' as " ~ dbt.type_timestamp() ~ ")" -%}
        {%- endif -%}
    {%- endif -%}
    {%- if data_type == 'date' -%}
        {%- set start = 'cast(' ~ dbt.dateadd('day', -lookback_days, newest) ~ ' as date)' -%}
    {%- else -%}
        {%- set start = timestamp_add_days(newest, -lookback_days) -%}
    {%- endif -%}
    ({{ column }} >= {{ start }} or {{ newest }} is null)
{%- endmacro %}
