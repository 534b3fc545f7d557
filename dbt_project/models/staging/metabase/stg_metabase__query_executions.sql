with source as (

    select * from {{ source('metabase', 'query_execution') }}

),

renamed as (

    select
        id as execution_id,
        hash as query_hash,
        {{ utc_timestamp('started_at') }} as started_at,
        running_time as running_time_ms,
        result_rows,
        native as is_native,
        context as execution_context,
        error,
        executor_id,
        card_id,
        dashboard_id,
        database_id,
        cache_hit as is_cache_hit

    from source

)

select * from renamed
