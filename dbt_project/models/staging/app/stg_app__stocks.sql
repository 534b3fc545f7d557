with source as (

    select * from {{ source('app', 'stock') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as stock_id,
        cast(offer_id as {{ dbt.type_bigint() }}) as offer_id,
        price,
        quantity as stock_quantity,
        dn_booked_quantity as booked_quantity,
        cast(beginning_datetime as timestamp) as beginning_at,
        cast(date_created as timestamp) as created_at,
        cast(date_updated as timestamp) as updated_at,
        _deleted_at is not null as is_deleted,
        cast(_deleted_at as timestamp) as deleted_at

    from source

)

select * from renamed
