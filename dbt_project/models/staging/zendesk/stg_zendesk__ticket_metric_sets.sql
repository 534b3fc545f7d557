-- One row per ticket: Zendesk's ticket metrics, sideloaded on the ticket
-- export. Durations are whole minutes after the ticket's creation, in
-- calendar time and within the account's business hours.
with source as (

    select * from {{ source('zendesk', 'ticket_metric_sets') }}

),

renamed as (

    select
        cast(ticket_id as {{ dbt.type_bigint() }}) as ticket_id,
        cast(id as {{ dbt.type_bigint() }}) as ticket_metric_set_id,
        cast(replies as {{ dbt.type_bigint() }}) as replies,
        cast(reopens as {{ dbt.type_bigint() }}) as reopens,
        cast(reply_time_calendar_minutes as {{ dbt.type_bigint() }}) as reply_time_calendar_minutes,
        cast(reply_time_business_minutes as {{ dbt.type_bigint() }}) as reply_time_business_minutes,
        cast(first_resolution_time_calendar_minutes as {{ dbt.type_bigint() }})
            as first_resolution_time_calendar_minutes,
        cast(first_resolution_time_business_minutes as {{ dbt.type_bigint() }})
            as first_resolution_time_business_minutes,
        cast(full_resolution_time_calendar_minutes as {{ dbt.type_bigint() }})
            as full_resolution_time_calendar_minutes,
        cast(full_resolution_time_business_minutes as {{ dbt.type_bigint() }})
            as full_resolution_time_business_minutes,
        {{ utc_timestamp('solved_at') }} as solved_at,
        {{ utc_timestamp('initially_assigned_at') }} as initially_assigned_at,
        {{ utc_timestamp('assigned_at') }} as assigned_at,
        {{ utc_timestamp('latest_comment_added_at') }} as latest_comment_added_at,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
