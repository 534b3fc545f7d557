-- Month x macro: how much the support agents used each macro. Zendesk only
-- gives rolling counters (last hour, 24 h, 7 and 30 days) at each export, so
-- the month's figure is the 30-day counter read at the month's last export,
-- and the sum of the 24-hour counters of its exports (the month's uses exactly
-- when the export ran every day: export_days says how many days it ran).
with macros as (

    select * from {{ ref('stg_zendesk__macros') }}

),

exports as (

    select
        {{ month_start('export_date') }} as usage_month,
        macro_id,
        export_date,
        macro_title,
        macro_tags,
        is_active,
        usage_24h,
        usage_7d,
        usage_30d,
        row_number() over (
            partition by macro_id, {{ month_start('export_date') }} order by export_date desc
        ) as export_rank

    from macros

),

monthly as (

    select
        usage_month,
        macro_id,
        count(*) as export_days,
        cast(sum(usage_24h) as {{ dbt.type_bigint() }}) as daily_uses_summed

    from exports
    group by 1, 2

),

final as (

    select
        exports.usage_month,
        exports.macro_id,
        exports.macro_title,
        {{ dbt.split_part('exports.macro_title', "'::'", 1) }} as macro_category,
        exports.macro_tags,
        exports.is_active,
        exports.export_date as last_export_date,
        monthly.export_days,
        exports.usage_30d as uses_last_30_days,
        exports.usage_7d as uses_last_7_days,
        monthly.daily_uses_summed

    from exports
    inner join monthly
        on
            exports.usage_month = monthly.usage_month
            and exports.macro_id = monthly.macro_id
    where exports.export_rank = 1

)

select * from final
