-- The cross-channel union double-counts nothing and drops nothing: per channel
-- and measure, the totals of mrt_marketing__daily_channel_performance equal
-- those of that channel's own mart. Returns one row per mismatch.
with performance as (

    select * from {{ ref('mrt_marketing__daily_channel_performance') }}

),

install_acquisition as (

    select * from {{ ref('mrt_marketing__daily_install_acquisition') }}

),

push_campaigns as (

    select * from {{ ref('mrt_marketing__push_campaigns') }}

),

email_campaigns as (

    select * from {{ ref('mrt_marketing__email_campaigns') }}

),

social_daily as (

    select * from {{ ref('mrt_marketing__social_daily') }}

),

{%- set measures = ['sends_or_impressions', 'deliveries', 'opens_or_views', 'clicks', 'installs', 'sign_ups', 'new_beneficiaries', 'first_bookings', 'cost'] %}

unified as (

    {%- for measure in measures %}
        select channel, '{{ measure }}' as measure, cast(sum({{ measure }}) as {{ dbt.type_numeric() }}) as total
        from performance
        group by 1
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

{%- set acquisition = {'sends_or_impressions': "case when channel_type = 'paid' then impressions end",
                       'clicks': "case when channel_type = 'paid' then clicks end",
                       'installs': 'installs',
                       'sign_ups': "case when channel_type != 'organic' then sign_ups end",
                       'new_beneficiaries': "case when channel_type != 'organic' then new_beneficiaries end",
                       'first_bookings': "case when channel_type != 'organic' then first_bookings end",
                       'cost': "case when channel_type = 'paid' then cost end"} %}

channel_marts as (

    {%- for measure, expression in acquisition.items() %}
        select channel, '{{ measure }}' as measure, cast(sum({{ expression }}) as {{ dbt.type_numeric() }}) as total
        from install_acquisition
        group by 1
        union all
    {%- endfor %}

    {%- for measure, expression in {'sends_or_impressions': 'sent', 'opens_or_views': 'opens', 'clicks': 'direct_opens'}.items() %}
        select 'push' as channel, '{{ measure }}' as measure, cast(sum({{ expression }}) as {{ dbt.type_numeric() }}) as total
        from push_campaigns
        union all
    {%- endfor %}

    {%- for measure, expression in {'sends_or_impressions': 'sent', 'deliveries': 'delivered', 'opens_or_views': 'unique_opens', 'clicks': 'unique_clicks'}.items() %}
        select 'email' as channel, '{{ measure }}' as measure, cast(sum({{ expression }}) as {{ dbt.type_numeric() }}) as total
        from email_campaigns
        union all
    {%- endfor %}

    {%- for measure, expression in {'sends_or_impressions': 'reach', 'opens_or_views': 'views', 'clicks': 'engagements'}.items() %}
        select network as channel, '{{ measure }}' as measure, cast(sum({{ expression }}) as {{ dbt.type_numeric() }}) as total
        from social_daily
        group by 1
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

-- a channel's measures may come from several marts (push installs from AppsFlyer, sends from Batch)
channel_mart_totals as (

    select
        channel,
        measure,
        sum(total) as total

    from channel_marts
    group by 1, 2

),

compared as (

    select
        coalesce(unified.channel, channel_marts.channel) as channel,
        coalesce(unified.measure, channel_marts.measure) as measure,
        unified.total as unified_total,
        channel_marts.total as channel_mart_total

    from unified
    full outer join channel_mart_totals as channel_marts
        on
            unified.channel = channel_marts.channel
            and unified.measure = channel_marts.measure

)

-- a measure a channel does not report is NULL on both sides; money compares to the cent
select *
from compared
where coalesce(abs(unified_total - channel_mart_total) >= 0.01, unified_total is not null or channel_mart_total is not null)
