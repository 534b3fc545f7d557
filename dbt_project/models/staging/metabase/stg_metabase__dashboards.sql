with source as (

    select * from {{ source('metabase', 'report_dashboard') }}

),

renamed as (

    select
        id as dashboard_id,
        name as dashboard_name,
        description as dashboard_description,
        creator_id,
        collection_id,
        archived as is_archived,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
