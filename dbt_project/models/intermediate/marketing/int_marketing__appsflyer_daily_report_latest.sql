-- The AppsFlyer daily report (spend, impressions, clicks, installs per app,
-- day, agency, media source and campaign), latest pulled version of each key,
-- with the marketing channel of its media source.
with daily_report as (

    select * from {{ ref('stg_appsflyer__daily_report') }}

),

media_sources as (

    select * from {{ ref('marketing_media_sources') }}

),

latest as (

    {{ latest_version_per_key('daily_report', ['app_id', 'report_date', 'agency', 'media_source', 'utm_campaign'], 'load_id desc') }}

),

final as (

    select
        latest.report_date,
        latest.app_id,
        -- AppsFlyer iOS app ids are the App Store id ('id...'); Android ones the package name
        case when latest.app_id like 'id%' then 'ios' else 'android' end as platform,
        latest.agency,
        latest.media_source,
        coalesce(media_sources.channel, 'other') as channel,
        coalesce(media_sources.channel_type, 'paid') as channel_type,
        coalesce(latest.utm_campaign, 'none') as utm_campaign,
        coalesce(latest.impressions, 0) as impressions,
        coalesce(latest.clicks, 0) as clicks,
        coalesce(latest.installs, 0) as installs,
        coalesce(latest.total_cost, 0) as total_cost

    from latest
    left join media_sources
        on latest.media_source = media_sources.media_source

)

select * from final
