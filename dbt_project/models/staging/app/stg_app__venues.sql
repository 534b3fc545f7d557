with source as (

    select * from {{ source('app', 'venue') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as venue_id,
        cast(managing_offerer_id as {{ dbt.type_bigint() }}) as offerer_id,
        siret,
        name as venue_name,
        venue_type_code,
        postal_code,
        city,
        departement_code as app_department_code,
        latitude,
        longitude,
        is_virtual,
        cast(date_created as timestamp) as created_at,
        cast(date_updated as timestamp) as updated_at,
        _deleted_at is not null as is_deleted,
        cast(_deleted_at as timestamp) as deleted_at

    from source

)

select * from renamed
