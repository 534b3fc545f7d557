{#- Rows of `relation` (a CTE name) keeping, for each `key_columns`
    combination, only the latest version by `order_by` (e.g. the dlt load id
    of a re-pulled report, newest first). A subquery filter rather than
    QUALIFY, which BigQuery only accepts beside WHERE/GROUP BY/HAVING. -#}
{% macro latest_version_per_key(relation, key_columns, order_by) -%}
    select * from (
        select
            {{ relation }}.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by {{ order_by }}
            ) as version_rank
        from {{ relation }}
    ) as versions
    where version_rank = 1
{%- endmacro %}
