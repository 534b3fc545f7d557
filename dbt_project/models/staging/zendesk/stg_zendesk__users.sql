-- Zendesk users: no name, phone or email, only the salted email hash that
-- raw_app.user carries too (same function), and the pass Culture user id an
-- agent recorded in the user field 'user_id' (text in Zendesk).
with source as (

    select * from {{ source('zendesk', 'users') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as zendesk_user_id,
        role as user_role,
        email_hash,
        pass_culture_user_id as recorded_user_id,
        active as is_active,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
