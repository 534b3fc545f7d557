with source as (

    select * from {{ source('app', 'deposit') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as deposit_id,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        type as deposit_type,
        source as deposit_source,
        amount,
        cast(date_created as timestamp) as created_at,
        cast(expiration_date as timestamp) as expires_at,
        cast(date_updated as timestamp) as updated_at,
        _deleted_at is not null as is_deleted,
        cast(_deleted_at as timestamp) as deleted_at

    from source

)

select * from renamed
