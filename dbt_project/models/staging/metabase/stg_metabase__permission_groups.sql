with source as (

    select * from {{ source('metabase', 'permission_group') }}

),

renamed as (

    select
        id as group_id,
        name as group_name,
        member_count,
        magic_group_type

    from source

)

select * from renamed
