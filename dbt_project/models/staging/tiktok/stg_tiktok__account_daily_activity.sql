with source as (

    select * from {{ source('tiktok', 'account_daily_activity') }}

),

renamed as (

    select
        business_id,
        username as account_username,
        cast(date as date) as activity_date,
        cast(video_views as bigint) as video_views,
        cast(likes as bigint) as likes,
        cast(comments as bigint) as comments,
        cast(shares as bigint) as shares,
        cast(followers_count as bigint) as followers_count,
        cast(profile_views as bigint) as profile_views,
        {{ utc_timestamp('loaded_at') }} as loaded_at

    from source

)

select * from renamed
