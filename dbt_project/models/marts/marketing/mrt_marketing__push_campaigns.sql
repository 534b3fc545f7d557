-- One row per Batch push campaign (one token per app), its totals over all
-- its stats days, and for A/B tests each version's sends and opens. Open rate
-- follows Batch: (direct + influenced opens) / sent.
with campaigns as (

    select * from {{ ref('stg_batch__campaigns') }}

),

campaign_stats as (

    select * from {{ ref('stg_batch__campaign_stats') }}

),

totals as (

    select
        campaign_token,
        min(stats_date) as first_stats_date,
        max(stats_date) as last_stats_date,
        {%- for version in ['all', 'a', 'b'] %}
            {%- set prefix = '' if version == 'all' else 'version_' ~ version ~ '_' %}
            sum(case when version = '{{ version }}' then sent end) as {{ prefix }}sent,
            sum(case when version = '{{ version }}' then direct_open end) as {{ prefix }}direct_opens,
            sum(case when version = '{{ version }}' then influenced_open end) as {{ prefix }}influenced_opens,
        {%- endfor %}
        sum(case when version = 'all' then sent_optins end) as sent_optins,
        sum(case when version = 'all' then reengaged end) as reengaged,
        sum(case when version = 'all' then errors end) as errors

    from campaign_stats
    group by 1

),

final as (

    select
        campaigns.campaign_token,
        campaigns.campaign_name,
        campaigns.operating_system as platform,
        coalesce(campaigns.utm_campaign, 'none') as utm_campaign,
        campaigns.tags,
        campaigns.is_ab_test,
        campaigns.is_live,
        campaigns.is_dev_only,
        campaigns.created_at,
        campaigns.push_at,
        totals.first_stats_date,
        totals.last_stats_date,
        coalesce(totals.sent, 0) as sent,
        coalesce(totals.sent_optins, 0) as sent_optins,
        coalesce(totals.direct_opens, 0) as direct_opens,
        coalesce(totals.influenced_opens, 0) as influenced_opens,
        coalesce(totals.direct_opens, 0) + coalesce(totals.influenced_opens, 0) as opens,
        coalesce(totals.reengaged, 0) as reengaged,
        coalesce(totals.errors, 0) as errors,
        {{ safe_divide('totals.direct_opens + totals.influenced_opens', 'totals.sent') }} as open_rate,
        {{ safe_divide('totals.direct_opens', 'totals.sent') }} as direct_open_rate,
        {{ safe_divide('totals.errors', 'totals.sent + totals.errors') }} as error_rate,
        totals.version_a_sent,
        totals.version_a_direct_opens + totals.version_a_influenced_opens as version_a_opens,
        {{ safe_divide('totals.version_a_direct_opens + totals.version_a_influenced_opens', 'totals.version_a_sent') }}
            as version_a_open_rate,
        totals.version_b_sent,
        totals.version_b_direct_opens + totals.version_b_influenced_opens as version_b_opens,
        {{ safe_divide('totals.version_b_direct_opens + totals.version_b_influenced_opens', 'totals.version_b_sent') }}
            as version_b_open_rate

    from campaigns
    left join totals
        on campaigns.campaign_token = totals.campaign_token

)

select * from final
