-- Every department of the seed, the unknown member '-1' included, named with
-- its region and academy: the one place the geography seeds are joined.
with departments as (

    select * from {{ ref('geo_departments') }}

),

regions as (

    select * from {{ ref('geo_regions') }}

),

academies as (

    select * from {{ ref('geo_academies') }}

),

final as (

    select
        departments.department_code,
        departments.department_name,
        departments.region_code,
        regions.region_name,
        departments.academy_code,
        academies.academy_name,
        departments.territory_type

    from departments
    left join regions
        on departments.region_code = regions.region_code
    left join academies
        on departments.academy_code = academies.academy_code

)

select * from final
