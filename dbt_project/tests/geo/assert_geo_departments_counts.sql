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
        'drom departments',
        (select count(*) from {{ ref('geo_departments') }} where territory_type = 'drom'),
        5

    union all

    select
        'official departments (metropole + drom)',
        (select count(*) from {{ ref('geo_departments') }} where territory_type in ('metropole', 'drom')),
        101

    union all

    select
        'overseas collectivities (com)',
        (select count(*) from {{ ref('geo_departments') }} where territory_type = 'com'),
        6

    union all

    select
        'unknown department member',
        (select count(*) from {{ ref('geo_departments') }} where territory_type = 'unknown'),
        1

    union all

    select
        'official regions',
        (select count(*) from {{ ref('geo_regions') }} where is_official_region),
        18

    union all

    select
        'academies',
        (select count(*) from {{ ref('geo_academies') }} where is_academy),
        30

)

select *
from checks
where actual_count != expected_count
