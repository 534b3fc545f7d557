with source as (

    select * from {{ source('app', 'tracking_event') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as event_id,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(offer_id as {{ dbt.type_bigint() }}) as offer_id,
        event_name,
        origin as event_origin,
        cast(event_timestamp as timestamp) as event_at

    from source

)

select * from renamed
