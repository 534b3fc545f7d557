-- One row per campaign (UTM tag shared by AppsFlyer, Batch and Brevo), its
-- whole funnel from the unified daily figures: reach, clicks, attributed
-- installs, and among those installs the sign-ups, new beneficiaries and
-- first bookings within 30 days (app database), with its media cost.
with unioned as (

    select * from {{ ref('int_marketing__channel_daily_unioned') }}

),

push_campaigns as (

    select * from {{ ref('stg_batch__campaigns') }}

),

newsletters as (

    select * from {{ ref('stg_brevo__newsletters') }}

),

campaign_names as (

    select utm_campaign, min(campaign_name) as campaign_name
    from push_campaigns
    where utm_campaign is not null
    group by 1

    union all

    select utm_campaign, min(campaign_name) as campaign_name
    from newsletters
    where utm_campaign is not null
    group by 1

),

campaigns as (

    select
        utm_campaign,
        channel,
        channel_type,
        -- the campaign runs while it spends or sends; installs keep coming after
        min(case when sends_or_impressions > 0 or cost > 0 then activity_date end) as start_date,
        max(case when sends_or_impressions > 0 or cost > 0 then activity_date end) as end_date,
        min(case when installs > 0 then activity_date end) as first_install_date,
        max(case when installs > 0 then activity_date end) as last_install_date,
        coalesce(sum(sends_or_impressions), 0) as sends_or_impressions,
        coalesce(sum(coalesce(deliveries, sends_or_impressions)), 0) as reach,
        coalesce(sum(clicks), 0) as clicks,
        coalesce(sum(installs), 0) as installs,
        coalesce(sum(sign_ups), 0) as sign_ups,
        coalesce(sum(new_beneficiaries), 0) as new_beneficiaries,
        coalesce(sum(first_bookings), 0) as first_bookings,
        coalesce(sum(cost), 0) as cost

    from unioned
    where utm_campaign != 'none'
    group by 1, 2, 3

),

final as (

    select
        campaigns.utm_campaign,
        coalesce(campaign_names.campaign_name, campaigns.utm_campaign) as campaign_name,
        campaigns.channel,
        campaigns.channel_type,
        campaigns.start_date,
        campaigns.end_date,
        campaigns.first_install_date,
        campaigns.last_install_date,
        campaigns.sends_or_impressions,
        campaigns.reach,
        campaigns.clicks,
        campaigns.installs,
        campaigns.sign_ups,
        campaigns.new_beneficiaries,
        campaigns.first_bookings,
        campaigns.cost,
        {{ safe_divide('campaigns.clicks', 'campaigns.reach') }} as click_rate,
        {{ safe_divide('campaigns.sign_ups', 'campaigns.installs') }} as install_to_sign_up_rate,
        {{ safe_divide('campaigns.new_beneficiaries', 'campaigns.installs') }} as install_to_beneficiary_rate,
        -- owned channels (push, email) have no media spend to divide
        case
            when campaigns.channel_type = 'paid' then {{ safe_divide('campaigns.cost', 'campaigns.installs') }}
        end as cost_per_install,
        case
            when campaigns.channel_type = 'paid' then {{ safe_divide('campaigns.cost', 'campaigns.new_beneficiaries') }}
        end as cost_per_new_beneficiary

    from campaigns
    left join campaign_names
        on campaigns.utm_campaign = campaign_names.utm_campaign

)

select * from final
