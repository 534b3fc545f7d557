-- One row per Brevo newsletter, cumulative statistics as of the last load.
-- Rates are over delivered emails (delivery rate over sent).
with newsletters as (

    select * from {{ ref('stg_brevo__newsletters') }}

),

final as (

    select
        campaign_id,
        campaign_name,
        coalesce(utm_campaign, 'none') as utm_campaign,
        sent_at,
        cast(sent_at as date) as sent_date,
        share_link,
        coalesce(sent, 0) as sent,
        coalesce(delivered, 0) as delivered,
        coalesce(unique_views, 0) as unique_opens,
        coalesce(views, 0) as opens,
        coalesce(unique_clicks, 0) as unique_clicks,
        coalesce(clickers, 0) as clickers,
        coalesce(unsubscriptions, 0) as unsubscriptions,
        coalesce(hard_bounces, 0) as hard_bounces,
        coalesce(soft_bounces, 0) as soft_bounces,
        coalesce(complaints, 0) as complaints,
        {{ safe_divide('delivered', 'sent') }} as delivery_rate,
        {{ safe_divide('unique_views', 'delivered') }} as open_rate,
        {{ safe_divide('unique_clicks', 'delivered') }} as click_rate,
        {{ safe_divide('unique_clicks', 'unique_views') }} as click_to_open_rate,
        {{ safe_divide('unsubscriptions', 'delivered') }} as unsubscribe_rate,
        stats_updated_at

    from newsletters

)

select * from final
