with source as (

    select * from {{ source('app', 'offer') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as offer_id,
        cast(venue_id as {{ dbt.type_bigint() }}) as venue_id,
        subcategory_id,
        name as offer_name,
        description as offer_description,
        validation as validation_status,
        last_validation_type,
        -- JSON text (cast in PostgreSQL at load); parsed in a later model when needed.
        extra_data,
        is_duo,
        is_active,
        cast(last_validation_date as timestamp) as last_validated_at,
        cast(date_created as timestamp) as created_at,
        cast(date_updated as timestamp) as updated_at,
        _deleted_at is not null as is_deleted,
        cast(_deleted_at as timestamp) as deleted_at

    from source

)

select * from renamed
