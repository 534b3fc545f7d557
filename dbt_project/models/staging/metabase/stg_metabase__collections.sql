with source as (

    select * from {{ source('metabase', 'collection') }}

),

renamed as (

    select
        id as collection_id,
        name as collection_name,
        description as collection_description,
        slug as collection_slug,
        location as collection_location,
        personal_owner_id,
        authority_level,
        archived as is_archived,
        {{ utc_timestamp('created_at') }} as created_at

    from source

)

select * from renamed
