with source as (

    select * from {{ source('batch', 'campaign_stats') }}

),

renamed as (

    select
        campaign_token,
        operating_system,
        version,
        cast(date as date) as stats_date,
        sent,
        sent_optins,
        direct_open,
        influenced_open,
        reengaged,
        errors,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
