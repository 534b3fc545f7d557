with source as (

    select * from {{ source('tiktok', 'account_hourly_audience') }}

),

renamed as (

    select
        business_id,
        cast(date as date) as activity_date,
        cast(hour as integer) as hour_of_day,
        cast(audience as bigint) as active_followers

    from source

)

select * from renamed
