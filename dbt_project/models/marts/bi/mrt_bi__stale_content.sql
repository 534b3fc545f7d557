-- Cards and dashboards (not archived) that nobody ran for 90 days: created
-- more than 90 days ago and not run since. "Now" is the latest execution in
-- the log (as_of_at), so a late load does not make everything look stale.
-- A dashboard runs when one of its cards runs from it.
{%- set stale_after_days = 90 %}

with executions as (

    select * from {{ ref('stg_metabase__query_executions') }}

),

cards as (

    select * from {{ ref('stg_metabase__cards') }}

),

dashboards as (

    select * from {{ ref('stg_metabase__dashboards') }}

),

collections as (

    select * from {{ ref('stg_metabase__collections') }}

),

users as (

    select * from {{ ref('stg_metabase__users') }}

),

reference_time as (

    select
        max(started_at) as as_of_at,
        cast({{ dbt.dateadd('day', -stale_after_days, 'max(started_at)') }} as {{ dbt.type_timestamp() }})
            as stale_before

    from executions

),

card_last_runs as (

    select card_id, max(started_at) as last_run_at
    from executions
    where card_id is not null
    group by card_id

),

dashboard_last_runs as (

    select dashboard_id, max(started_at) as last_run_at
    from executions
    where dashboard_id is not null
    group by dashboard_id

),

content as (

    select
        'card' as content_type,
        cards.card_id as content_id,
        cards.card_name as content_name,
        cards.collection_id,
        cards.creator_id,
        cards.created_at,
        card_last_runs.last_run_at

    from cards
    left join card_last_runs on cards.card_id = card_last_runs.card_id
    where not cards.is_archived

    union all

    select
        'dashboard' as content_type,
        dashboards.dashboard_id as content_id,
        dashboards.dashboard_name as content_name,
        dashboards.collection_id,
        dashboards.creator_id,
        dashboards.created_at,
        dashboard_last_runs.last_run_at

    from dashboards
    left join dashboard_last_runs on dashboards.dashboard_id = dashboard_last_runs.dashboard_id
    where not dashboards.is_archived

),

final as (

    select
        content.content_type,
        content.content_id,
        content.content_name,
        content.collection_id,
        collections.collection_name,
        coalesce(collections.is_personal, false) as is_personal_collection,
        users.email_hash as creator_email_hash,
        content.created_at,
        content.last_run_at,
        {{ dbt.datediff('content.last_run_at', 'reference_time.as_of_at', 'day') }} as days_since_last_run,
        reference_time.as_of_at

    from content
    cross join reference_time
    left join collections on content.collection_id = collections.collection_id
    left join users on content.creator_id = users.user_id
    where
        content.created_at < reference_time.stale_before
        and (content.last_run_at is null or content.last_run_at < reference_time.stale_before)

)

select * from final
