-- Permission group x collection, for the collections a group can read or
-- curate (write); 'none' is left out. The root collection is collection_id
-- 'root'. Personal collections are outside the permission graph.
with permissions as (

    select * from {{ ref('stg_metabase__collection_permissions') }}

),

groups as (

    select * from {{ ref('stg_metabase__permission_groups') }}

),

memberships as (

    select * from {{ ref('stg_metabase__permission_memberships') }}

),

users as (

    select * from {{ ref('stg_metabase__users') }}

),

collections as (

    select * from {{ ref('stg_metabase__collections') }}

),

group_members as (

    select
        memberships.group_id,
        count(distinct memberships.user_id) as member_count,
        count(distinct case when users.is_active then memberships.user_id end) as active_member_count,
        count(distinct case when memberships.is_group_manager then memberships.user_id end) as manager_count

    from memberships
    left join users on memberships.user_id = users.user_id
    group by memberships.group_id

),

final as (

    select
        permissions.group_id,
        groups.group_name,
        groups.magic_group_type,
        permissions.collection_id,
        case
            when permissions.collection_id = 'root' then 'Root collection'
            else collections.collection_name
        end as collection_name,
        collections.collection_location,
        coalesce(collections.authority_level = 'official', false) as is_official_collection,
        coalesce(collections.is_archived, false) as is_collection_archived,
        permissions.permission,
        permissions.permission in ('read', 'write') as can_read,
        permissions.permission = 'write' as can_curate,
        coalesce(group_members.member_count, 0) as member_count,
        coalesce(group_members.active_member_count, 0) as active_member_count,
        coalesce(group_members.manager_count, 0) as manager_count,
        permissions.graph_revision

    from permissions
    left join groups on permissions.group_id = groups.group_id
    left join group_members on permissions.group_id = group_members.group_id
    left join collections
        on permissions.collection_id = cast(collections.collection_id as {{ dbt.type_string() }})
    where permissions.permission in ('read', 'write')

)

select * from final
