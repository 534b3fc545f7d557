with source as (

    select * from {{ source('metabase', 'permission_membership') }}

),

renamed as (

    select
        membership_id,
        user_id,
        group_id,
        is_group_manager

    from source

)

select * from renamed
