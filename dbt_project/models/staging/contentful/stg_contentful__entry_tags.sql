with source as (

    select * from {{ source('contentful', 'entry_tag') }}

),

renamed as (

    select
        entry_id,
        tag_id

    from source

)

select * from renamed
