with source as (

    select * from {{ source('metabase', 'report_card') }}

),

renamed as (

    select
        id as card_id,
        name as card_name,
        description as card_description,
        display,
        query_type,
        dataset_query,
        creator_id,
        collection_id,
        database_id,
        type as card_type,
        archived as is_archived,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
