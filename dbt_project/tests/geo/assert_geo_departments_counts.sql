-- Fails (returns rows) unless the geography seeds hold exactly the expected
-- members: 101 official departments (96 metropole + 5 drom), 6 overseas
-- collectivities, 1 unknown department, 18 official regions, 30 academies.
with checks as (

    select
        'metropole departments' as check_name,
        (select count(*) from {{ ref('geo_departments') }} where territory_type = 'metropole') as actual_count,
        96 as expected_count

    union all

    select
        'drom departments' as check_name,
        (select count(*) from {{ ref('geo_departments') }} where territory_type = 'drom') as actual_count,
        5 as expected_count

    union all

    select
        'official departments (metropole + drom)' as check_name,
        (select count(*) from {{ ref('geo_departments') }} where territory_type in ('metropole', 'drom')) as actual_count,
        101 as expected_count

    union all

    select
        'overseas collectivities (com)' as check_name,
        (select count(*) from {{ ref('geo_departments') }} where territory_type = 'com') as actual_count,
        6 as expected_count

    union all

    select
        'unknown department member' as check_name,
        (select count(*) from {{ ref('geo_departments') }} where territory_type = 'unknown') as actual_count,
        1 as expected_count

    union all

    select
        'official regions' as check_name,
        (select count(*) from {{ ref('geo_regions') }} where is_official_region) as actual_count,
        18 as expected_count

    union all

    select
        'academies' as check_name,
        (select count(*) from {{ ref('geo_academies') }} where is_academy) as actual_count,
        30 as expected_count

)

select *
from checks
where actual_count != expected_count
