with source as (

    select * from {{ source('contentful', 'relationship') }}

),

renamed as (

    select
        parent_entry_id,
        field as field_name,
        {{ adapter.quote('position') }} as link_position,
        child_id,
        child_type,
        child_content_type,
        is_resolved

    from source

)

select * from renamed
