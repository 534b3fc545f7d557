-- Month spine, one row per month from the first deposit month to the last
-- activity month (deposit or non-cancelled booking). Built from a fixed
-- number series (dbt.generate_series, no recursion, no compile-time query).
{%- set max_months = 600 %}

with user_monthly_activity as (

    select * from {{ ref('int_regional__user_monthly_activity') }}

),

bounds as (

    select
        min(case when credit_granted > 0 then activity_month end) as first_month,
        max(activity_month) as last_month

    from user_monthly_activity

),

series as (

    {{ dbt.generate_series(max_months) }}

),

months as (

    select
        cast(
            {{ dbt.dateadd('month', 'cast(series.generated_number as ' ~ dbt.type_bigint() ~ ') - 1', 'bounds.first_month') }}
            as date
        ) as month

    from bounds
    cross join series

),

final as (

    select months.month

    from months
    cross join bounds
    where months.month <= bounds.last_month

)

select * from final
