with source as (

    select * from {{ source('contentful', 'playlist_item') }}

),

renamed as (

    select
        entry_id,
        field as field_name,
        {{ adapter.quote('position') }} as item_position,
        item_type,
        cast(case when item_type = 'offer' then item_id end as {{ dbt.type_bigint() }}) as offer_id,
        cast(case when item_type = 'venue' then item_id end as {{ dbt.type_bigint() }}) as venue_id

    from source

)

select * from renamed
