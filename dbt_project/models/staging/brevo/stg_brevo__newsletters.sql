with source as (

    select * from {{ source('brevo', 'newsletters') }}

),

renamed as (

    select
        campaign_id,
        name as campaign_name,
        tag as utm_campaign,
        {{ utc_timestamp('sent_date') }} as sent_at,
        share_link,
        sent,
        delivered,
        unique_views,
        views,
        unique_clicks,
        clickers,
        unsubscriptions,
        hard_bounces,
        soft_bounces,
        complaints,
        {{ utc_timestamp('stats_updated_at') }} as stats_updated_at

    from source

)

select * from renamed
