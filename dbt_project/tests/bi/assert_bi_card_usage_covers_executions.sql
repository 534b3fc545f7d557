-- Every card execution is counted once in the card usage mart.
with logged as (

    select count(*) as executions
    from {{ ref('stg_metabase__query_executions') }}
    where card_id is not null

),

counted as (

    select sum(executions) as executions
    from {{ ref('mrt_bi__card_usage') }}

)

select logged.executions as logged_executions, counted.executions as counted_executions
from logged
cross join counted
where logged.executions != coalesce(counted.executions, 0)
