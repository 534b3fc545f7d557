-- Instagram and TikTok account metrics on one grain: network x account x day.
-- Instagram insights come one row per metric (pivoted here); its follower
-- total is only known on export days. Engagements are Instagram's
-- total_interactions and TikTok's likes + comments + shares.
with instagram_insights as (

    select * from {{ ref('stg_instagram__account_daily_insights') }}

),

instagram_accounts as (

    select * from {{ ref('stg_instagram__accounts') }}

),

tiktok_activity as (

    select * from {{ ref('stg_tiktok__account_daily_activity') }}

),

tiktok_hourly_audience as (

    select * from {{ ref('stg_tiktok__account_hourly_audience') }}

),

instagram_usernames as (

    select
        account_id,
        max(username) as username

    from instagram_accounts
    group by 1

),

instagram_daily as (

    select
        account_id,
        insight_date as activity_date,
        sum(case when metric_name = 'views' then metric_value end) as views,
        sum(case when metric_name = 'reach' then metric_value end) as reach,
        sum(case when metric_name = 'follower_count' then metric_value end) as new_followers,
        sum(case when metric_name = 'accounts_engaged' then metric_value end) as accounts_engaged,
        sum(case when metric_name = 'total_interactions' then metric_value end) as engagements

    from instagram_insights
    group by 1, 2

),

instagram as (

    select
        'instagram' as network,
        instagram_daily.account_id,
        instagram_usernames.username as account_username,
        instagram_daily.activity_date,
        instagram_accounts.followers_count as followers,
        instagram_daily.new_followers,
        instagram_daily.views,
        instagram_daily.reach,
        instagram_daily.accounts_engaged,
        cast(null as {{ dbt.type_bigint() }}) as likes,
        cast(null as {{ dbt.type_bigint() }}) as comments,
        cast(null as {{ dbt.type_bigint() }}) as shares,
        cast(null as {{ dbt.type_bigint() }}) as profile_views,
        instagram_daily.engagements,
        cast(null as {{ dbt.type_int() }}) as peak_audience_hour,
        cast(null as {{ dbt.type_bigint() }}) as peak_hour_active_followers

    from instagram_daily
    left join instagram_usernames
        on instagram_daily.account_id = instagram_usernames.account_id
    left join instagram_accounts
        on
            instagram_daily.account_id = instagram_accounts.account_id
            and instagram_daily.activity_date = instagram_accounts.export_date

),

tiktok_peak_hour as (

    select
        business_id,
        activity_date,
        hour_of_day,
        active_followers,
        row_number() over (
            partition by business_id, activity_date
            order by active_followers desc, hour_of_day asc
        ) as hour_rank

    from tiktok_hourly_audience

),

tiktok as (

    select
        'tiktok' as network,
        tiktok_activity.business_id as account_id,
        tiktok_activity.account_username,
        tiktok_activity.activity_date,
        tiktok_activity.followers_count as followers,
        cast(null as {{ dbt.type_bigint() }}) as new_followers,
        tiktok_activity.video_views as views,
        cast(null as {{ dbt.type_bigint() }}) as reach,
        cast(null as {{ dbt.type_bigint() }}) as accounts_engaged,
        tiktok_activity.likes,
        tiktok_activity.comments,
        tiktok_activity.shares,
        tiktok_activity.profile_views,
        coalesce(tiktok_activity.likes, 0)
        + coalesce(tiktok_activity.comments, 0)
        + coalesce(tiktok_activity.shares, 0) as engagements,
        tiktok_peak_hour.hour_of_day as peak_audience_hour,
        tiktok_peak_hour.active_followers as peak_hour_active_followers

    from tiktok_activity
    left join tiktok_peak_hour
        on
            tiktok_activity.business_id = tiktok_peak_hour.business_id
            and tiktok_activity.activity_date = tiktok_peak_hour.activity_date
            and tiktok_peak_hour.hour_rank = 1

),

final as (

    select * from instagram
    union all
    select * from tiktok

)

select * from final
