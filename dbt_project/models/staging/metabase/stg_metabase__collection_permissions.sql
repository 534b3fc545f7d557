with source as (

    select * from {{ source('metabase', 'collection_permission') }}

),

renamed as (

    select
        group_id,
        collection_id,
        permission,
        graph_revision

    from source

)

select * from renamed
