-- One row per Batch transactional group x app x day.
with transactional_stats as (

    select * from {{ ref('stg_batch__transactional_stats') }}

),

final as (

    select
        stats_date,
        group_id,
        operating_system as platform,
        coalesce(sent, 0) as sent,
        coalesce(direct_open, 0) as direct_opens,
        coalesce(influenced_open, 0) as influenced_opens,
        coalesce(direct_open, 0) + coalesce(influenced_open, 0) as opens,
        coalesce(reengaged, 0) as reengaged,
        coalesce(errors, 0) as errors,
        {{ safe_divide('coalesce(direct_open, 0) + coalesce(influenced_open, 0)', 'sent') }} as open_rate,
        {{ safe_divide('direct_open', 'sent') }} as direct_open_rate

    from transactional_stats

)

select * from final
