with source as (

    select * from {{ source('tiktok', 'videos') }}

),

renamed as (

    select
        item_id as video_id,
        business_id,
        {{ utc_timestamp('created_at') }} as created_at,
        caption,
        share_url,
        embed_url,
        cast(video_views as bigint) as video_views,
        cast(reach as bigint) as reach,
        cast(likes as bigint) as likes,
        cast(comments as bigint) as comments,
        cast(shares as bigint) as shares,
        video_duration,
        full_video_watched_rate,
        total_time_watched,
        average_time_watched,
        cast(export_date as date) as export_date

    from source

)

select * from renamed
