-- Card x month: how often each Metabase card ran, by how many people, how
-- fast and how often it failed, with the dashboards it sits on today. Only
-- months in which the card ran at least once. Months are UTC.
with executions as (

    select * from {{ ref('stg_metabase__query_executions') }}

),

cards as (

    select * from {{ ref('stg_metabase__cards') }}

),

collections as (

    select * from {{ ref('stg_metabase__collections') }}

),

databases as (

    select * from {{ ref('stg_metabase__databases') }}

),

dashboard_cards as (

    select * from {{ ref('stg_metabase__dashboard_cards') }}

),

dashboards as (

    select * from {{ ref('stg_metabase__dashboards') }}

),

card_dashboards as (

    select
        placements.card_id,
        count(*) as dashboard_count,
        {{ dbt.listagg('placements.dashboard_name', "' | '", 'order by placements.dashboard_name') }} as dashboard_names

    from (
        select distinct
            dashboard_cards.card_id,
            dashboards.dashboard_id,
            dashboards.dashboard_name
        from dashboard_cards
        inner join dashboards on dashboard_cards.dashboard_id = dashboards.dashboard_id
        where not dashboards.is_archived and dashboard_cards.card_id is not null
    ) as placements
    group by placements.card_id

),

monthly as (

    select
        {{ month_start('started_at') }} as usage_month,
        card_id,
        count(*) as executions,
        cast(sum(case when execution_context = 'dashboard' then 1 else 0 end) as {{ dbt.type_bigint() }}) as dashboard_executions,
        cast(sum(case when is_cache_hit then 1 else 0 end) as {{ dbt.type_bigint() }}) as cache_hits,
        cast(sum(case when error is not null then 1 else 0 end) as {{ dbt.type_bigint() }}) as failed_executions,
        count(distinct executor_id) as distinct_users,
        {{ percentile_cont('running_time_ms', 0.5) }} as median_running_time_ms,
        max(started_at) as last_run_at

    from executions
    where card_id is not null
    group by {{ month_start('started_at') }}, card_id

),

final as (

    select
        monthly.usage_month,
        monthly.card_id,
        cards.card_name,
        cards.card_type,
        cards.query_type,
        cards.display,
        coalesce(cards.is_archived, false) as is_card_archived,
        cards.collection_id,
        collections.collection_name,
        databases.database_name,
        monthly.executions,
        monthly.dashboard_executions,
        monthly.distinct_users,
        monthly.median_running_time_ms,
        monthly.failed_executions,
        {{ safe_divide('cast(monthly.failed_executions as ' ~ dbt.type_float() ~ ')', 'monthly.executions') }}
            as error_share,
        {{ safe_divide('cast(monthly.cache_hits as ' ~ dbt.type_float() ~ ')', 'monthly.executions') }}
            as cache_hit_share,
        monthly.last_run_at,
        coalesce(card_dashboards.dashboard_count, 0) as dashboard_count,
        card_dashboards.dashboard_names

    from monthly
    left join cards on monthly.card_id = cards.card_id
    left join collections on cards.collection_id = collections.collection_id
    left join databases on cards.database_id = databases.database_id
    left join card_dashboards on monthly.card_id = card_dashboards.card_id

)

select * from final
