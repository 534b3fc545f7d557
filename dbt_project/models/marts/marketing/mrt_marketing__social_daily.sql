-- One row per network x account x day (Instagram and TikTok), on one set of
-- columns; a metric the network does not report is NULL.
with social_account_daily as (

    select * from {{ ref('int_marketing__social_account_daily') }}

),

final as (

    select
        activity_date,
        network,
        account_id,
        account_username,
        followers,
        new_followers,
        views,
        reach,
        accounts_engaged,
        likes,
        comments,
        shares,
        profile_views,
        engagements,
        {{ safe_divide('engagements', 'views') }} as engagements_per_view,
        peak_audience_hour,
        peak_hour_active_followers

    from social_account_daily

)

select * from final
