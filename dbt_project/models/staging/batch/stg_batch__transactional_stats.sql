with source as (

    select * from {{ source('batch', 'transactional_stats') }}

),

renamed as (

    select
        group_id,
        operating_system,
        cast(date as date) as stats_date,
        sent,
        direct_open,
        influenced_open,
        reengaged,
        errors,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
