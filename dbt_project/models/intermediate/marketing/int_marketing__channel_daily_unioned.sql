-- Every channel's daily figures on the unified columns, one select per input,
-- each rendered from marketing_field_mapping (macros/marketing): how a vendor's
-- field becomes a unified one is written once, there. Not aggregated: the
-- mart sums to its grain.
with appsflyer_daily_report as (

    select * from {{ ref('int_marketing__appsflyer_daily_report_latest') }}

),

appsflyer_installs as (

    select * from {{ ref('int_marketing__attributed_installs') }}

),

batch_campaign_stats as (

    select * from {{ ref('int_marketing__push_campaign_daily_stats') }}

),

brevo_newsletters as (

    select * from {{ ref('stg_brevo__newsletters') }}

),

social_account_daily as (

    select * from {{ ref('int_marketing__social_account_daily') }}

),

unioned as (

    {%- for source_name in marketing_field_mapping() %}

        select
            {{ marketing_unified_select(source_name) | indent(8) }}
        from {{ source_name }}
        {%- if not loop.last %}

            union all
        {%- endif %}
    {%- endfor %}

)

select * from unioned
