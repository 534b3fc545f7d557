with source as (

    select * from {{ source('app', 'booking') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as booking_id,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(deposit_id as {{ dbt.type_bigint() }}) as deposit_id,
        cast(stock_id as {{ dbt.type_bigint() }}) as stock_id,
        cast(venue_id as {{ dbt.type_bigint() }}) as venue_id,
        cast(offerer_id as {{ dbt.type_bigint() }}) as offerer_id,
        token as booking_token,
        status as booking_status,
        cancellation_reason,
        quantity,
        amount,
        status = 'CANCELLED' as is_cancelled,
        cast(date_created as timestamp) as created_at,
        cast(date_used as timestamp) as used_at,
        cast(cancellation_date as timestamp) as cancelled_at,
        cast(date_updated as timestamp) as updated_at,
        _deleted_at is not null as is_deleted,
        cast(_deleted_at as timestamp) as deleted_at

    from source

)

select * from renamed
