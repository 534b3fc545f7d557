{{ config(bigquery_table(partition_date='month', granularity='month', cluster_by=['department_code'])) }}
-- One row per month x department (every department of geo_departments,
-- including the unknown member '-1'), from the first deposit month to the
-- last activity month. Users are placed in their CURRENT department.
-- A wide view of the user-side KPI building blocks, which compute each figure once.
with kpis as (

    select * from {{ ref('int_regional__department_monthly_kpis') }}

),

departments as (

    select * from {{ ref('int_geo__departments') }}

),

user_side as (

    select
        month,
        department_code,
        sum(case when kpi_name = 'beneficiaries_new' then numerator end) as new_beneficiaries,
        sum(case when kpi_name = 'beneficiaries_active' then numerator end) as active_beneficiaries,
        sum(case when kpi_name = 'bookings_user_side' then numerator end) as bookings,
        sum(case when kpi_name = 'spend_user_side' then numerator end) as amount_spent,
        -- the credit-spent share's parts are the running totals
        sum(case when kpi_name = 'beneficiaries_credit_spent_share' then denominator end) as credit_granted_to_date,
        sum(case when kpi_name = 'beneficiaries_credit_spent_share' then numerator end) as amount_spent_to_date

    from kpis
    where
        kpi_name in (
            'beneficiaries_new',
            'beneficiaries_active',
            'bookings_user_side',
            'spend_user_side',
            'beneficiaries_credit_spent_share'
        )
    group by 1, 2

),

final as (

    select
        user_side.month,
        user_side.department_code,
        departments.department_name,
        departments.region_code,
        departments.region_name,
        departments.academy_code,
        departments.academy_name,
        cast(user_side.new_beneficiaries as {{ dbt.type_bigint() }}) as new_beneficiaries,
        cast(user_side.active_beneficiaries as {{ dbt.type_bigint() }}) as active_beneficiaries,
        cast(user_side.bookings as {{ dbt.type_bigint() }}) as bookings,
        user_side.amount_spent,
        user_side.credit_granted_to_date,
        user_side.amount_spent_to_date,
        {{ safe_divide('user_side.amount_spent_to_date', 'user_side.credit_granted_to_date') }} as share_of_credit_spent

    from user_side
    inner join departments
        on user_side.department_code = departments.department_code

)

select * from final
