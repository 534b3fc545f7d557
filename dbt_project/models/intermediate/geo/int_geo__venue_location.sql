-- Location of each venue: the commune code of its Sirene establishment when
-- INSEE found it, else the venue's own postcode, else (digital venues have no
-- address) the postcode of its managing offerer, else the unknown member.
with venues as (

    select * from {{ ref('stg_app__venues') }}
    where is_deleted is not true

),

establishments as (

    select * from {{ ref('stg_sirene__establishments') }}

),

offerers as (

    select * from {{ ref('stg_app__offerers') }}
    where is_deleted is not true

),

departments as (

    select * from {{ ref('int_geo__departments') }}

),

unknown_department as (

    select * from departments where department_code = '-1'

),

candidates as (

    select
        venues.venue_id,
        venues.offerer_id,
        venues.is_virtual,
        establishments.lookup_status = 'found' and establishments.citycode is not null as has_sirene_address,
        {{ citycode_to_department('establishments.citycode') }} as sirene_department_code,
        {{ postcode_to_department('venues.postal_code') }} as venue_postcode_department_code,
        {{ postcode_to_department('offerers.postal_code') }} as offerer_postcode_department_code,
        establishments.citycode

    from venues
    left join establishments
        on venues.siret = establishments.siret
    left join offerers
        on venues.offerer_id = offerers.offerer_id

),

resolved as (

    select
        venue_id,
        offerer_id,
        is_virtual,
        case
            when has_sirene_address then sirene_department_code
            when venue_postcode_department_code != '-1' then venue_postcode_department_code
            when offerer_postcode_department_code != '-1' then offerer_postcode_department_code
            else '-1'
        end as resolved_department_code,
        case
            when has_sirene_address then 'sirene'
            when venue_postcode_department_code != '-1' then 'venue_postcode'
            when offerer_postcode_department_code != '-1' then 'offerer_postcode'
            else 'unknown'
        end as resolved_location_source,
        case when has_sirene_address then citycode end as citycode

    from candidates

),

final as (

    select
        resolved.venue_id,
        resolved.offerer_id,
        resolved.is_virtual,
        coalesce(departments.department_code, unknown_department.department_code) as department_code,
        coalesce(departments.region_code, unknown_department.region_code) as region_code,
        coalesce(departments.academy_code, unknown_department.academy_code) as academy_code,
        -- a code missing from the seed lands in the unknown member, and so does its source
        case
            when departments.department_code is null then 'unknown'
            else resolved.resolved_location_source
        end as location_source,
        resolved.citycode

    from resolved
    cross join unknown_department
    left join departments
        on resolved.resolved_department_code = departments.department_code

)

select * from final
