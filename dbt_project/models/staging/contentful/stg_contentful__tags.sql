with source as (

    select * from {{ source('contentful', 'tag') }}

),

renamed as (

    select
        tag_id,
        tag_name

    from source

)

select * from renamed
