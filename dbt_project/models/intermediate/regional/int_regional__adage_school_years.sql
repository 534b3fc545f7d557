-- Adage involved-student statistics per school year and department (the
-- 'all' level rows), with INSEE department codes and the school year's first
-- month (1 September), so that they sit in the monthly KPI table.
with involved_students as (

    select * from {{ ref('stg_adage__involved_students') }}

),

departments as (

    select * from {{ ref('int_geo__departments') }}

),

department_rows as (

    select
        school_year_adage_id,
        case
            when length(metric_id) = 3 and substr(metric_id, 1, 1) = '0' then substr(metric_id, 2, 2)
            else metric_id
        end as adage_insee_department_code,
        involved_students,
        total_students,
        involved_institutions,
        total_institutions

    from involved_students
    where metric_name = 'departements' and level = 'all'

),

final as (

    select
        department_rows.school_year_adage_id,
        -- Adage school-year id n covers September (2014 + n) to August (2015 + n)
        cast(
            {{ dbt.dateadd('year', 'cast(department_rows.school_year_adage_id as ' ~ dbt.type_bigint() ~ ')', "cast('2014-09-01' as date)") }}
            as date
        ) as school_year_start_month,
        coalesce(departments.department_code, '-1') as department_code,
        department_rows.involved_students,
        department_rows.total_students,
        department_rows.involved_institutions,
        department_rows.total_institutions

    from department_rows
    left join departments
        on department_rows.adage_insee_department_code = departments.department_code

)

select * from final
