-- One row per month x department (every department of geo_departments,
-- including the unknown member '-1'), from the first deposit month to the
-- last activity month. Users are placed in their CURRENT department.
with months as (

    select * from {{ ref('int_regional__months') }}

),

departments as (

    select * from {{ ref('int_geo__departments') }}

),

user_monthly_activity as (

    select * from {{ ref('int_regional__user_monthly_activity') }}

),

user_location as (

    select * from {{ ref('int_geo__user_location') }}

),

department_monthly_activity as (

    select
        user_monthly_activity.activity_month,
        user_location.department_code,
        sum(case when user_monthly_activity.is_new_beneficiary then 1 else 0 end) as new_beneficiaries,
        sum(case when user_monthly_activity.is_active_beneficiary then 1 else 0 end) as active_beneficiaries,
        sum(user_monthly_activity.bookings) as bookings,
        sum(user_monthly_activity.amount_spent) as amount_spent,
        sum(user_monthly_activity.credit_granted) as credit_granted

    from user_monthly_activity
    inner join user_location
        on user_monthly_activity.user_id = user_location.user_id
    group by 1, 2

),

spine as (

    select
        months.month,
        departments.department_code,
        departments.department_name,
        departments.region_code,
        departments.region_name,
        departments.academy_code,
        departments.academy_name

    from months
    cross join departments

),

monthly as (

    select
        spine.month,
        spine.department_code,
        spine.department_name,
        spine.region_code,
        spine.region_name,
        spine.academy_code,
        spine.academy_name,
        coalesce(activity.new_beneficiaries, 0) as new_beneficiaries,
        coalesce(activity.active_beneficiaries, 0) as active_beneficiaries,
        coalesce(activity.bookings, 0) as bookings,
        coalesce(activity.amount_spent, 0) as amount_spent,
        coalesce(activity.credit_granted, 0) as credit_granted

    from spine
    left join department_monthly_activity as activity
        on
            spine.month = activity.activity_month
            and spine.department_code = activity.department_code

),

cumulated as (

    select
        *,
        sum(credit_granted) over (
            partition by department_code
            order by month
            rows between unbounded preceding and current row
        ) as credit_granted_to_date,
        sum(amount_spent) over (
            partition by department_code
            order by month
            rows between unbounded preceding and current row
        ) as amount_spent_to_date

    from monthly

),

final as (

    select
        month,
        department_code,
        department_name,
        region_code,
        region_name,
        academy_code,
        academy_name,
        new_beneficiaries,
        active_beneficiaries,
        bookings,
        amount_spent,
        credit_granted_to_date,
        amount_spent_to_date,
        {{ safe_divide('amount_spent_to_date', 'credit_granted_to_date') }} as share_of_credit_spent

    from cumulated

)

select * from final
