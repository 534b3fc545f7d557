-- The paid and organic acquisition channel's own mart: day x platform x media
-- source x campaign, AppsFlyer's spend and audience (daily report) beside the
-- attributed installs (raw installs, latest version of each) and what the app
-- database says their users did; organic installs come from the daily report.
with daily_report as (

    select * from {{ ref('int_marketing__appsflyer_daily_report_latest') }}

),

installs as (

    select * from {{ ref('int_marketing__attributed_installs') }}

),

in_app_events as (

    select * from {{ ref('stg_appsflyer__in_app_events') }}

),

report_daily as (

    select
        report_date as install_date,
        platform,
        media_source,
        channel,
        channel_type,
        utm_campaign,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(installs) as appsflyer_reported_installs,
        sum(total_cost) as cost

    from daily_report
    group by 1, 2, 3, 4, 5, 6

),

installs_daily as (

    select
        install_date,
        platform,
        media_source,
        channel,
        channel_type,
        utm_campaign,
        count(*) as attributed_installs,
        sum(case when is_sign_up then 1 else 0 end) as sign_ups,
        sum(case when is_new_beneficiary then 1 else 0 end) as new_beneficiaries,
        sum(case when has_first_booking_within_30_days then 1 else 0 end) as first_bookings

    from installs
    group by 1, 2, 3, 4, 5, 6

),

-- what AppsFlyer itself reports (its SDK events), per install: each event is
-- put on the latest version of its install, so a restated install counts once
events_per_install as (

    select
        app_id,
        appsflyer_id,
        max(case when event_name = 'af_complete_registration' then 1 else 0 end) as has_registration,
        max(case when event_name = 'af_complete_beneficiary' then 1 else 0 end) as has_beneficiary

    from in_app_events
    group by 1, 2

),

events_daily as (

    select
        installs.install_date,
        installs.platform,
        installs.media_source,
        installs.channel,
        installs.channel_type,
        installs.utm_campaign,
        sum(events_per_install.has_registration) as appsflyer_registrations,
        sum(events_per_install.has_beneficiary) as appsflyer_beneficiaries

    from events_per_install
    inner join installs
        on
            events_per_install.app_id = installs.app_id
            and events_per_install.appsflyer_id = installs.appsflyer_id
    group by 1, 2, 3, 4, 5, 6

),

keys as (

    select install_date, platform, media_source, channel, channel_type, utm_campaign from report_daily
    union distinct
    select install_date, platform, media_source, channel, channel_type, utm_campaign from installs_daily
    union distinct
    select install_date, platform, media_source, channel, channel_type, utm_campaign from events_daily

),

final as (

    select
        keys.install_date,
        keys.platform,
        keys.channel,
        keys.channel_type,
        keys.media_source,
        keys.utm_campaign,
        coalesce(report_daily.impressions, 0) as impressions,
        coalesce(report_daily.clicks, 0) as clicks,
        coalesce(report_daily.cost, 0) as cost,
        coalesce(report_daily.appsflyer_reported_installs, 0) as appsflyer_reported_installs,
        -- organic installs are only known in aggregate (the daily report); the others one by one
        case
            when keys.channel = 'organic' then coalesce(report_daily.appsflyer_reported_installs, 0)
            else coalesce(installs_daily.attributed_installs, 0)
        end as installs,
        coalesce(installs_daily.sign_ups, 0) as sign_ups,
        coalesce(installs_daily.new_beneficiaries, 0) as new_beneficiaries,
        coalesce(installs_daily.first_bookings, 0) as first_bookings,
        coalesce(events_daily.appsflyer_registrations, 0) as appsflyer_registrations,
        coalesce(events_daily.appsflyer_beneficiaries, 0) as appsflyer_beneficiaries,
        {{ safe_divide('coalesce(report_daily.cost, 0)', 'coalesce(installs_daily.attributed_installs, 0)') }} as cost_per_install

    from keys
    left join report_daily
        on
            keys.install_date = report_daily.install_date
            and keys.platform = report_daily.platform
            and keys.media_source = report_daily.media_source
            and keys.utm_campaign = report_daily.utm_campaign
    left join installs_daily
        on
            keys.install_date = installs_daily.install_date
            and keys.platform = installs_daily.platform
            and keys.media_source = installs_daily.media_source
            and keys.utm_campaign = installs_daily.utm_campaign
    left join events_daily
        on
            keys.install_date = events_daily.install_date
            and keys.platform = events_daily.platform
            and keys.media_source = events_daily.media_source
            and keys.utm_campaign = events_daily.utm_campaign

)

select * from final
