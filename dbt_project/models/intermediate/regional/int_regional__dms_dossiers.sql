-- DMS dossiers with the applicant's department (as in the geo seeds), whether
-- the applicant is a young person (credit requests) or a cultural partner
-- (referencing), and the processing time of decided dossiers.
with dossiers as (

    select * from {{ ref('stg_dms__dossiers') }}

),

departments as (

    select * from {{ ref('int_geo__departments') }}

),

final as (

    select
        dossiers.dossier_number,
        case when dossiers.demarche_number in (47380, 47480) then 'young' else 'pro' end as applicant_kind,
        coalesce(departments.department_code, '-1') as department_code,
        dossiers.dossier_state,
        {{ month_start('dossiers.submitted_at') }} as submitted_month,
        case
            when dossiers.dossier_state in ('accepte', 'refuse', 'sans_suite')
                then {{ month_start('dossiers.processed_at') }}
        end as processed_month,
        -- calendar days between filing and decision
        case
            when dossiers.dossier_state in ('accepte', 'refuse', 'sans_suite')
                then {{ dbt.datediff('cast(dossiers.submitted_at as date)', 'cast(dossiers.processed_at as date)', 'day') }}
        end as processing_days

    from dossiers
    left join departments
        on dossiers.applicant_department_code = departments.department_code

)

select * from final
