-- Daily totals of each live Batch campaign (version 'all': the A/B version
-- rows split the same sends and must not be added to it), with the campaign's
-- UTM tag and app.
with campaigns as (

    select * from {{ ref('stg_batch__campaigns') }}

),

campaign_stats as (

    select * from {{ ref('stg_batch__campaign_stats') }}

),

final as (

    select
        campaign_stats.campaign_token,
        campaign_stats.stats_date,
        coalesce(campaigns.operating_system, campaign_stats.operating_system) as operating_system,
        campaigns.utm_campaign,
        campaigns.campaign_name,
        coalesce(campaign_stats.sent, 0) as sent,
        coalesce(campaign_stats.sent_optins, 0) as sent_optins,
        coalesce(campaign_stats.direct_open, 0) as direct_open,
        coalesce(campaign_stats.influenced_open, 0) as influenced_open,
        coalesce(campaign_stats.reengaged, 0) as reengaged,
        coalesce(campaign_stats.errors, 0) as errors

    from campaign_stats
    left join campaigns
        on campaign_stats.campaign_token = campaigns.campaign_token
    where campaign_stats.version = 'all'

)

select * from final
