-- AppsFlyer re-pulls the last 14 days on every run, and a re-pull may restate
-- an install (late attribution changes its campaign, or its install time,
-- which is part of the raw merge key). One device install is one
-- app_id + appsflyer_id: keep its latest pulled version only.
with installs as (

    select * from {{ ref('stg_appsflyer__installs') }}

),

latest as (

    {{ latest_version_per_key('installs', ['app_id', 'appsflyer_id'], 'load_id desc, installed_at desc') }}

),

final as (

    select
        app_id,
        appsflyer_id,
        platform,
        user_id,
        installed_at,
        attributed_touch_at,
        attributed_touch_type,
        media_source,
        channel as appsflyer_channel,
        utm_campaign,
        campaign_id,
        adset,
        ad,
        cost_value,
        cost_currency,
        country_code,
        load_id

    from latest

)

select * from final
