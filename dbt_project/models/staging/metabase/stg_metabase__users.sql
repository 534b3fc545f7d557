with source as (

    select * from {{ source('metabase', 'core_user') }}

),

renamed as (

    select
        id as user_id,
        email_hash,
        is_superuser,
        is_active,
        sso_source,
        {{ utc_timestamp('date_joined') }} as joined_at,
        {{ utc_timestamp('last_login') }} as last_login_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
