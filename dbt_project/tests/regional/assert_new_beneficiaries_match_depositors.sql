-- Fails (returns a row) unless the total of new_beneficiaries over the whole
-- mart equals the number of distinct users with at least one deposit: each
-- beneficiary is new exactly once, in exactly one department.
with mart_total as (

    select coalesce(sum(new_beneficiaries), 0) as total_new_beneficiaries
    from {{ ref('mrt_regional__beneficiaries_monthly') }}

),

depositors as (

    select count(distinct user_id) as users_with_deposit
    from {{ ref('stg_app__deposits') }}
    where is_deleted is not true

)

select
    mart_total.total_new_beneficiaries,
    depositors.users_with_deposit

from mart_total
cross join depositors
where mart_total.total_new_beneficiaries != depositors.users_with_deposit
