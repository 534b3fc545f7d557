{#- Postcode / INSEE commune code -> department code (as in seed geo_departments).
    Both macros return a SQL expression of string type that is portable between
    DuckDB and BigQuery; unlocatable inputs map to the unknown member '-1'. -#}

{#- True when expr is exactly five ASCII digits (NULL when expr is NULL). -#}
{% macro is_five_digits(expr) -%}
    {{ return(adapter.dispatch('is_five_digits', 'pcdata')(expr)) }}
{%- endmacro %}

{% macro default__is_five_digits(expr) -%}
    regexp_full_match({{ expr }}, '[0-9]{5}')
{%- endmacro %}

{% macro bigquery__is_five_digits(expr) -%}
    regexp_contains({{ expr }}, r'^[0-9]{5}$')
{%- endmacro %}


{#- French postcode (code postal) -> department code.
    - not 5 digits once trimmed (NULL, '', '1234', 'ABCDE', ...) -> '-1'
    - 97150 -> '978' (Saint-Martin), 97133 -> '977' (Saint-Barthélemy)
    - 975xx -> '975' (Saint-Pierre-et-Miquelon)
    - 971xx..974xx, 976xx, 986xx, 987xx, 988xx -> first 3 characters
    - any other 97xxx / 98xxx (e.g. 98000 Monaco) -> '-1'
    - 200xx, 201xx, 205xx, 209xx -> '2A'; 202xx, 206xx -> '2B'; other 20xxx -> '-1'
    - 00xxx, 96xxx, 99xxx (no such department) -> '-1'
    - otherwise the first 2 characters ('01'..'95'). -#}
{% macro postcode_to_department(postcode) -%}
    {%- set pc = 'trim(cast(' ~ postcode ~ ' as ' ~ dbt.type_string() ~ '))' -%}
    case
        when {{ pc }} is null then '-1'
        when length({{ pc }}) != 5 then '-1'
        when not {{ pcdata.is_five_digits(pc) }} then '-1'
        when {{ pc }} = '97150' then '978'
        when {{ pc }} = '97133' then '977'
        when substr({{ pc }}, 1, 3) = '975' then '975'
        when substr({{ pc }}, 1, 3) in ('971', '972', '973', '974', '976', '986', '987', '988')
            then substr({{ pc }}, 1, 3)
        when substr({{ pc }}, 1, 2) in ('97', '98') then '-1'
        when substr({{ pc }}, 1, 3) in ('200', '201', '205', '209') then '2A'
        when substr({{ pc }}, 1, 3) in ('202', '206') then '2B'
        when substr({{ pc }}, 1, 2) in ('00', '20', '96', '99') then '-1'
        else substr({{ pc }}, 1, 2)
    end
{%- endmacro %}


{#- INSEE commune code (code officiel géographique, 5 characters: '75056',
    '2A004', '97411', '97701', '98818') -> department code: the first 3
    characters for overseas codes (starting with '97' or '98'), else the first
    2; NULL or a trimmed length other than 5 -> '-1'. -#}
{% macro citycode_to_department(citycode) -%}
    {%- set cc = 'trim(cast(' ~ citycode ~ ' as ' ~ dbt.type_string() ~ '))' -%}
    case
        when {{ cc }} is null then '-1'
        when length({{ cc }}) != 5 then '-1'
        when substr({{ cc }}, 1, 2) in ('97', '98') then substr({{ cc }}, 1, 3)
        else substr({{ cc }}, 1, 2)
    end
{%- endmacro %}
