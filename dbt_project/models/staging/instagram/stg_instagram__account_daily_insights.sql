with source as (

    select * from {{ source('instagram', 'account_daily_insights') }}

),

renamed as (

    select
        account_id,
        cast(date as date) as insight_date,
        metric as metric_name,
        cast(value as bigint) as metric_value,
        metric_type,
        {{ utc_timestamp('loaded_at') }} as loaded_at

    from source

)

select * from renamed
