{{ config(bigquery_table(partition_date='activity_date', granularity='month', cluster_by=['channel', 'utm_campaign'])) }}
-- One row per day x channel x platform x campaign (UTM tag, 'none' outside
-- campaigns), every channel on the unified columns of marketing_field_mapping.
-- Installs and what their users did next are dated by the install day.
with unioned as (

    select * from {{ ref('int_marketing__channel_daily_unioned') }}

),

final as (

    select
        activity_date,
        channel,
        channel_type,
        platform,
        utm_campaign,
        {%- for name, type in marketing_unified_measures() %}
            sum({{ name }}) as {{ name }},
        {%- endfor %}
        -- social 'clicks' are interactions, several per account reached: no rate
        case
            when channel_type != 'social' then {{ safe_divide('sum(clicks)', 'sum(sends_or_impressions)') }}
        end as click_rate,
        {{ safe_divide('sum(sign_ups)', 'sum(installs)') }} as install_to_sign_up_rate,
        {{ safe_divide('sum(new_beneficiaries)', 'sum(installs)') }} as install_to_beneficiary_rate

    from unioned
    group by 1, 2, 3, 4, 5

)

select * from final
