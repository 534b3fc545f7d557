-- Nothing listed as stale ran in the 90 days before as_of_at, nor was
-- created in them.
with stale as (

    select * from {{ ref('mrt_bi__stale_content') }}

),

executions as (

    select * from {{ ref('stg_metabase__query_executions') }}

)

select stale.content_type, stale.content_id, executions.execution_id, executions.started_at
from stale
inner join executions
    on
        (stale.content_type = 'card' and executions.card_id = stale.content_id)
        or (stale.content_type = 'dashboard' and executions.dashboard_id = stale.content_id)
where executions.started_at >= cast({{ dbt.dateadd('day', -90, 'stale.as_of_at') }} as {{ dbt.type_timestamp() }})

union all

select stale.content_type, stale.content_id, null as execution_id, stale.created_at as started_at
from stale
where stale.created_at >= cast({{ dbt.dateadd('day', -90, 'stale.as_of_at') }} as {{ dbt.type_timestamp() }})
