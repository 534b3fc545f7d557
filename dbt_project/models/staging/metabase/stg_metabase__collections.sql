-- Personal collections are named and slugged after their owner ("Jane Doe's
-- Personal Collection"): their name, slug and description never leave this
-- view; they get a fixed label and are told apart by personal_owner_id.
with source as (

    select * from {{ source('metabase', 'collection') }}

),

renamed as (

    select
        id as collection_id,
        case when personal_owner_id is null then name else 'Personal collection' end as collection_name,
        case when personal_owner_id is null then description end as collection_description,
        case when personal_owner_id is null then slug end as collection_slug,
        location as collection_location,
        personal_owner_id,
        personal_owner_id is not null as is_personal,
        authority_level,
        archived as is_archived,
        {{ utc_timestamp('created_at') }} as created_at

    from source

)

select * from renamed
