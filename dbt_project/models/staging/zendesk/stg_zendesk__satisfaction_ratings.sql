with source as (

    select * from {{ source('zendesk', 'satisfaction_ratings') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as satisfaction_rating_id,
        cast(ticket_id as {{ dbt.type_bigint() }}) as ticket_id,
        cast(requester_id as {{ dbt.type_bigint() }}) as requester_id,
        cast(assignee_id as {{ dbt.type_bigint() }}) as assignee_id,
        cast(group_id as {{ dbt.type_bigint() }}) as group_id,
        score,
        reason,
        has_comment,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
