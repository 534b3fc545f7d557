-- Personal collections are named and slugged after their owner ("Jane Doe's
-- Personal Collection", "Collection personnelle de Jane Doe" in French): their
-- name, slug and description never leave this view; they get a fixed label and
-- are told apart by personal_owner_id. A collection named like a personal one
-- is masked too, even without an owner id (owner deleted, older exports).
with source as (

    select * from {{ source('metabase', 'collection') }}

),

flagged as (

    select
        *,
        personal_owner_id is not null
        or lower(name) like '%''s personal collection'
        or lower(name) like 'collection personnelle de %'
        or lower(slug) like '%personal_collection%' as is_personal_collection

    from source

),

renamed as (

    select
        id as collection_id,
        case when is_personal_collection then 'Personal collection' else name end as collection_name,
        case when not is_personal_collection then description end as collection_description,
        case when not is_personal_collection then slug end as collection_slug,
        location as collection_location,
        personal_owner_id,
        is_personal_collection as is_personal,
        authority_level,
        archived as is_archived,
        {{ utc_timestamp('created_at') }} as created_at

    from flagged

)

select * from renamed
