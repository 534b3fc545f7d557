-- One row per publication: Instagram posts and TikTok videos with their
-- lifetime metrics as of the latest pull. Engagement rate = engagements /
-- reach (Instagram total_interactions; TikTok likes + comments + shares).
with instagram_posts as (

    select * from {{ ref('stg_instagram__posts') }}

),

tiktok_videos as (

    select * from {{ ref('stg_tiktok__videos') }}

),

instagram_accounts as (

    select * from {{ ref('stg_instagram__accounts') }}

),

tiktok_accounts as (

    select * from {{ ref('stg_tiktok__account_daily_activity') }}

),

instagram_usernames as (

    select account_id, max(username) as account_username
    from instagram_accounts
    group by 1

),

tiktok_usernames as (

    select business_id, max(account_username) as account_username
    from tiktok_accounts
    group by 1

),

instagram as (

    select
        'instagram' as network,
        instagram_posts.post_id as publication_id,
        instagram_posts.account_id,
        instagram_usernames.account_username,
        instagram_posts.posted_at as published_at,
        instagram_posts.media_type,
        instagram_posts.media_product_type,
        instagram_posts.caption,
        instagram_posts.permalink as url,
        instagram_posts.export_date,
        instagram_posts.has_insights,
        instagram_posts.views,
        instagram_posts.reach,
        instagram_posts.likes,
        instagram_posts.comments,
        instagram_posts.shares,
        instagram_posts.saved,
        instagram_posts.total_interactions as engagements,
        instagram_posts.follows,
        instagram_posts.profile_visits,
        cast(null as {{ type_double() }}) as video_duration_seconds,
        cast(null as {{ type_double() }}) as full_video_watched_rate,
        cast(null as {{ type_double() }}) as average_time_watched_seconds

    from instagram_posts
    left join instagram_usernames
        on instagram_posts.account_id = instagram_usernames.account_id

),

tiktok as (

    select
        'tiktok' as network,
        tiktok_videos.video_id as publication_id,
        tiktok_videos.business_id as account_id,
        tiktok_usernames.account_username,
        tiktok_videos.created_at as published_at,
        'VIDEO' as media_type,
        cast(null as {{ dbt.type_string() }}) as media_product_type,
        tiktok_videos.caption,
        tiktok_videos.share_url as url,
        tiktok_videos.export_date,
        tiktok_videos.video_views is not null as has_insights,
        tiktok_videos.video_views as views,
        tiktok_videos.reach,
        tiktok_videos.likes,
        tiktok_videos.comments,
        tiktok_videos.shares,
        cast(null as {{ dbt.type_bigint() }}) as saved,
        coalesce(tiktok_videos.likes, 0)
        + coalesce(tiktok_videos.comments, 0)
        + coalesce(tiktok_videos.shares, 0) as engagements,
        cast(null as {{ dbt.type_bigint() }}) as follows,
        cast(null as {{ dbt.type_bigint() }}) as profile_visits,
        cast(tiktok_videos.video_duration as {{ type_double() }}) as video_duration_seconds,
        cast(tiktok_videos.full_video_watched_rate as {{ type_double() }}) as full_video_watched_rate,
        cast(tiktok_videos.average_time_watched as {{ type_double() }}) as average_time_watched_seconds

    from tiktok_videos
    left join tiktok_usernames
        on tiktok_videos.business_id = tiktok_usernames.business_id

),

unioned as (

    select * from instagram
    union all
    select * from tiktok

),

final as (

    select
        *,
        {{ safe_divide('engagements', 'reach') }} as engagement_rate

    from unioned

)

select * from final
