-- Location of each offerer (its declared postcode, else the commune of its
-- Sirene head-office establishment, else the unknown member) and whether its
-- Sirene legal unit is still active.
with offerers as (

    select * from {{ ref('stg_app__offerers') }}
    where is_deleted is not true

),

legal_units as (

    select * from {{ ref('stg_sirene__legal_units') }}

),

establishments as (

    select * from {{ ref('stg_sirene__establishments') }}

),

departments as (

    select * from {{ ref('int_geo__departments') }}

),

unknown_department as (

    select * from departments where department_code = '-1'

),

head_offices as (

    select
        siren,
        min(citycode) as citycode

    from establishments
    where lookup_status = 'found' and is_head_office and citycode is not null
    group by siren

),

candidates as (

    select
        offerers.offerer_id,
        offerers.validation_status,
        legal_units.lookup_status as sirene_lookup_status,
        legal_units.administrative_status as sirene_administrative_status,
        {{ postcode_to_department('offerers.postal_code') }} as postcode_department_code,
        {{ citycode_to_department('head_offices.citycode') }} as head_office_department_code,
        head_offices.citycode is not null as has_head_office

    from offerers
    left join legal_units
        on offerers.siren = legal_units.siren
    left join head_offices
        on offerers.siren = head_offices.siren

),

resolved as (

    select
        offerer_id,
        validation_status,
        sirene_lookup_status,
        sirene_administrative_status,
        case
            when postcode_department_code != '-1' then postcode_department_code
            when has_head_office then head_office_department_code
            else '-1'
        end as resolved_department_code,
        case
            when postcode_department_code != '-1' then 'offerer_postcode'
            when has_head_office then 'sirene_head_office'
            else 'unknown'
        end as resolved_location_source

    from candidates

),

final as (

    select
        resolved.offerer_id,
        coalesce(departments.department_code, unknown_department.department_code) as department_code,
        coalesce(departments.region_code, unknown_department.region_code) as region_code,
        coalesce(departments.academy_code, unknown_department.academy_code) as academy_code,
        case
            when departments.department_code is null then 'unknown'
            else resolved.resolved_location_source
        end as location_source,
        resolved.sirene_lookup_status,
        resolved.sirene_administrative_status,
        -- active: validated in the app and a legal unit INSEE lists as active ('A')
        coalesce(
            resolved.validation_status = 'VALIDATED'
            and resolved.sirene_lookup_status = 'found'
            and resolved.sirene_administrative_status = 'A',
            false
        ) as is_active

    from resolved
    cross join unknown_department
    left join departments
        on resolved.resolved_department_code = departments.department_code

)

select * from final
