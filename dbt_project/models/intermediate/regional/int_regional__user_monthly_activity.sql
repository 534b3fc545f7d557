-- One row per user x month in which the user received a deposit or made at
-- least one non-cancelled booking, with the user's current department.
with deposits as (

    select * from {{ ref('stg_app__deposits') }}

),

bookings as (

    select * from {{ ref('stg_app__bookings') }}

),

user_location as (

    select * from {{ ref('int_geo__user_location') }}

),

first_deposits as (

    select
        user_id,
        min(created_at) as first_deposit_at

    from deposits
    group by user_id

),

deposits_by_month as (

    select
        deposits.user_id,
        {{ month_start('deposits.created_at') }} as activity_month,
        sum(deposits.amount) as credit_granted,
        max(
            case
                when {{ month_start('deposits.created_at') }} = {{ month_start('first_deposits.first_deposit_at') }}
                    then 1
                else 0
            end
        ) as is_new_beneficiary_flag

    from deposits
    inner join first_deposits
        on deposits.user_id = first_deposits.user_id
    group by 1, 2

),

bookings_by_month as (

    select
        user_id,
        {{ month_start('created_at') }} as activity_month,
        count(*) as bookings,
        sum(amount * quantity) as amount_spent

    from bookings
    where not is_cancelled
    group by 1, 2

),

user_month_events as (

    select user_id, activity_month from deposits_by_month
    union all
    select user_id, activity_month from bookings_by_month

),

user_months as (

    select
        user_id,
        activity_month

    from user_month_events
    group by 1, 2

),

final as (

    select
        user_months.user_id,
        user_months.activity_month,
        user_location.department_code,
        coalesce(deposits_by_month.is_new_beneficiary_flag, 0) = 1 as is_new_beneficiary,
        coalesce(bookings_by_month.bookings, 0) > 0 as is_active_beneficiary,
        coalesce(bookings_by_month.bookings, 0) as bookings,
        coalesce(bookings_by_month.amount_spent, 0) as amount_spent,
        coalesce(deposits_by_month.credit_granted, 0) as credit_granted

    from user_months
    left join deposits_by_month
        on user_months.user_id = deposits_by_month.user_id
        and user_months.activity_month = deposits_by_month.activity_month
    left join bookings_by_month
        on user_months.user_id = bookings_by_month.user_id
        and user_months.activity_month = bookings_by_month.activity_month
    inner join user_location
        on user_months.user_id = user_location.user_id

)

select * from final
