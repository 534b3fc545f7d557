with source as (

    select * from {{ source('app', 'offerer') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as offerer_id,
        siren,
        name as offerer_name,
        postal_code,
        city,
        validation_status,
        cast(date_created as timestamp) as created_at,
        cast(date_updated as timestamp) as updated_at,
        _deleted_at is not null as is_deleted,
        cast(_deleted_at as timestamp) as deleted_at

    from source

)

select * from renamed
