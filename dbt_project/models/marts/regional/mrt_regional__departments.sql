-- One row per department of the seed (overseas collectivities and the unknown
-- member '-1' included), with its region, academy and current counts.
with departments as (

    select * from {{ ref('int_geo__departments') }}

),

user_location as (

    select * from {{ ref('int_geo__user_location') }}

),

deposits as (

    select * from {{ ref('stg_app__deposits') }}
    where is_deleted is not true

),

venue_location as (

    select * from {{ ref('int_geo__venue_location') }}

),

offerer_location as (

    select * from {{ ref('int_geo__offerer_location') }}

),

adage_partners as (

    select * from {{ ref('int_regional__adage_partners') }}

),

beneficiaries as (

    select distinct user_id from deposits

),

users_by_department as (

    select
        user_location.department_code,
        count(*) as users,
        count(beneficiaries.user_id) as beneficiaries,
        sum(case when user_location.location_source = 'geocoded' then 1 else 0 end) as geocoded_users

    from user_location
    left join beneficiaries
        on user_location.user_id = beneficiaries.user_id
    group by 1

),

venues_by_department as (

    select
        department_code,
        count(*) as venues,
        sum(case when is_virtual then 1 else 0 end) as digital_venues

    from venue_location
    group by 1

),

offerers_by_department as (

    select
        department_code,
        count(*) as offerers,
        sum(case when is_active then 1 else 0 end) as active_offerers

    from offerer_location
    group by 1

),

partners_by_department as (

    select
        department_code,
        sum(case when is_active then 1 else 0 end) as adage_partners

    from adage_partners
    group by 1

),

final as (

    select
        departments.department_code,
        departments.department_name,
        departments.region_code,
        departments.region_name,
        departments.academy_code,
        departments.academy_name,
        departments.territory_type,
        coalesce(users_by_department.users, 0) as users,
        coalesce(users_by_department.geocoded_users, 0) as geocoded_users,
        coalesce(users_by_department.beneficiaries, 0) as beneficiaries,
        coalesce(venues_by_department.venues, 0) as venues,
        coalesce(venues_by_department.digital_venues, 0) as digital_venues,
        coalesce(offerers_by_department.offerers, 0) as offerers,
        coalesce(offerers_by_department.active_offerers, 0) as active_offerers,
        coalesce(partners_by_department.adage_partners, 0) as adage_partners

    from departments
    left join users_by_department
        on departments.department_code = users_by_department.department_code
    left join venues_by_department
        on departments.department_code = venues_by_department.department_code
    left join offerers_by_department
        on departments.department_code = offerers_by_department.department_code
    left join partners_by_department
        on departments.department_code = partners_by_department.department_code

)

select * from final
