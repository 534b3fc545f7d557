-- Current location of each user: the API Adresse geocode when it succeeded
-- (INSEE commune code), else the declared postcode, else the unknown member.
with users as (

    select * from {{ ref('stg_app__users') }}
    where is_deleted is not true

),

user_addresses as (

    select * from {{ ref('stg_api_adresse__user_addresses') }}

),

departments as (

    select * from {{ ref('int_geo__departments') }}

),

unknown_department as (

    select * from departments where department_code = '-1'

),

candidates as (

    select
        users.user_id,
        user_addresses.status = 'ok' and user_addresses.citycode is not null as is_geocoded,
        {{ citycode_to_department('user_addresses.citycode') }} as geocoded_department_code,
        {{ postcode_to_department('users.postal_code') }} as postcode_department_code,
        user_addresses.citycode,
        user_addresses.latitude,
        user_addresses.longitude

    from users
    left join user_addresses
        on users.user_id = user_addresses.user_id

),

resolved as (

    select
        user_id,
        case
            when is_geocoded then geocoded_department_code
            when postcode_department_code != '-1' then postcode_department_code
            else '-1'
        end as resolved_department_code,
        case
            when is_geocoded then 'geocoded'
            when postcode_department_code != '-1' then 'postcode'
            else 'unknown'
        end as resolved_location_source,
        case when is_geocoded then citycode end as citycode,
        case when is_geocoded then latitude end as latitude,
        case when is_geocoded then longitude end as longitude

    from candidates

),

final as (

    select
        resolved.user_id,
        coalesce(departments.department_code, unknown_department.department_code) as department_code,
        coalesce(departments.department_name, unknown_department.department_name) as department_name,
        coalesce(departments.region_code, unknown_department.region_code) as region_code,
        coalesce(departments.region_name, unknown_department.region_name) as region_name,
        coalesce(departments.academy_code, unknown_department.academy_code) as academy_code,
        coalesce(departments.academy_name, unknown_department.academy_name) as academy_name,
        coalesce(departments.territory_type, unknown_department.territory_type) as territory_type,
        -- a code that is not in the seed (e.g. a commune code of an unlisted
        -- territory) ends up in the unknown member, and so does its source
        case
            when departments.department_code is null then 'unknown'
            else resolved.resolved_location_source
        end as location_source,
        resolved.citycode,
        resolved.latitude,
        resolved.longitude

    from resolved
    cross join unknown_department
    left join departments
        on resolved.resolved_department_code = departments.department_code

)

select * from final
