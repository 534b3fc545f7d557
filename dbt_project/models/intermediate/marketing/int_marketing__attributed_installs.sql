-- One row per attributed (non-organic) install, latest version, with what
-- the app database says happened to its user afterwards: a sign-up (account
-- created at or after the install), a new beneficiary (first deposit at or
-- after the install), a first non-cancelled booking within 30 days.
with installs as (

    select * from {{ ref('int_marketing__appsflyer_installs_latest') }}

),

media_sources as (

    select * from {{ ref('marketing_media_sources') }}

),

users as (

    select * from {{ ref('stg_app__users') }}
    where is_deleted is not true

),

deposits as (

    select * from {{ ref('stg_app__deposits') }}
    where is_deleted is not true

),

bookings as (

    select * from {{ ref('stg_app__bookings') }}
    where is_deleted is not true

),

first_deposits as (

    select
        user_id,
        min(created_at) as first_deposit_at

    from deposits
    group by 1

),

first_bookings as (

    select
        user_id,
        min(created_at) as first_booking_at

    from bookings
    where not is_cancelled
    group by 1

),

final as (

    select
        installs.app_id,
        installs.appsflyer_id,
        installs.platform,
        installs.user_id,
        installs.installed_at,
        cast(installs.installed_at as date) as install_date,
        installs.media_source,
        coalesce(media_sources.channel, 'other') as channel,
        coalesce(media_sources.channel_type, 'paid') as channel_type,
        coalesce(installs.utm_campaign, 'none') as utm_campaign,
        installs.campaign_id,
        installs.attributed_touch_type,
        installs.cost_value,
        users.created_at as user_created_at,
        first_deposits.first_deposit_at,
        first_bookings.first_booking_at,
        coalesce(users.created_at >= installs.installed_at, false) as is_sign_up,
        coalesce(first_deposits.first_deposit_at >= installs.installed_at, false) as is_new_beneficiary,
        coalesce(
            first_bookings.first_booking_at >= installs.installed_at
            and first_bookings.first_booking_at < {{ timestamp_add_days('installs.installed_at', 30) }},
            false
        ) as has_first_booking_within_30_days

    from installs
    left join media_sources
        on installs.media_source = media_sources.media_source
    left join users
        on installs.user_id = users.user_id
    left join first_deposits
        on installs.user_id = first_deposits.user_id
    left join first_bookings
        on installs.user_id = first_bookings.user_id

)

select * from final
