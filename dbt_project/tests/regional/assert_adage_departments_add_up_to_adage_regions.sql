-- Fails (returns rows) when, for a school year, the Adage department rows used
-- by the regional KPIs (involved and total pupils and schools) do not add up,
-- per region of the geo seeds, to the figures Adage itself publishes for that
-- region (Adage region id = INSEE region code as a number): a department
-- mapped to the wrong code, or a department dropped, shows up here.
with school_years as (

    select * from {{ ref('int_regional__adage_school_years') }}

),

departments as (

    select * from {{ ref('int_geo__departments') }}

),

involved_students as (

    select * from {{ ref('stg_adage__involved_students') }}

),

from_departments as (

    select
        school_years.school_year_adage_id,
        cast(departments.region_code as {{ dbt.type_int() }}) as region_id,
        sum(school_years.involved_students) as involved_students,
        sum(school_years.total_students) as total_students,
        sum(school_years.involved_institutions) as involved_institutions,
        sum(school_years.total_institutions) as total_institutions

    from school_years
    inner join departments
        on school_years.department_code = departments.department_code
    where departments.region_code not in ('COM', '-1')
    group by 1, 2

),

published as (

    select
        school_year_adage_id,
        cast(metric_id as {{ dbt.type_int() }}) as region_id,
        involved_students,
        total_students,
        involved_institutions,
        total_institutions

    from involved_students
    where metric_name = 'regions' and level = 'all'

)

select
    coalesce(published.school_year_adage_id, from_departments.school_year_adage_id) as school_year_adage_id,
    coalesce(published.region_id, from_departments.region_id) as region_id,
    published.involved_students as published_involved_students,
    from_departments.involved_students as summed_involved_students

from published
full outer join from_departments
    on
        published.school_year_adage_id = from_departments.school_year_adage_id
        and published.region_id = from_departments.region_id
where
    published.region_id is null
    or from_departments.region_id is null
    or published.involved_students != from_departments.involved_students
    or published.total_students != from_departments.total_students
    or published.involved_institutions != from_departments.involved_institutions
    or published.total_institutions != from_departments.total_institutions
