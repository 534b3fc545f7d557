{{ config(bigquery_table(partition_date='activity_month', granularity='month', cluster_by=['user_id'])) }}
{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'activity_month'],
        incremental_strategy=upsert_strategy(),
        on_schema_change='append_new_columns',
        post_hook=(
            "delete from {{ this }} where bookings = 0 and credit_granted = 0 and not is_new_beneficiary"
        )
    )
}}
-- One row per user x month in which the user received a deposit or made at
-- least one non-cancelled booking. Incremental: a run recomputes only the
-- users with a deposit or booking changed since the last run (all their
-- months, since "new beneficiary" depends on their first deposit), and
-- zeroes their months that no longer have any activity (e.g. the only
-- booking of the month was cancelled), so merging keeps sums exact; the
-- post-hook then deletes those zeroed rows, which a full build never has.
-- Deposits and bookings deleted from the app count for nothing; their users
-- are recomputed on every run, since a deletion does not move updated_at.
-- No geography here: users are placed in their current department downstream.
with all_deposits as (

    select * from {{ ref('stg_app__deposits') }}

),

all_bookings as (

    select * from {{ ref('int_regional__bookings') }}

),

deposits as (

    select * from all_deposits
    where is_deleted is not true

),

bookings as (

    select * from all_bookings
    where is_deleted is not true  -- null: merged before deletes were tracked

),

{% if is_incremental() %}
changed_users as (

    select user_id from deposits
    where {{ incremental_window('updated_at', 'source_updated_at', var('app_lookback_days')) }}
    union distinct
    select user_id from bookings
    where {{ incremental_window('updated_at', 'source_updated_at', var('app_lookback_days')) }}
    union distinct
    select user_id from all_deposits
    where is_deleted
    union distinct
    select user_id from all_bookings
    where is_deleted

),
{% endif %}

first_deposits as (

    select
        user_id,
        min(created_at) as first_deposit_at

    from deposits
    group by 1

),

deposits_by_month as (

    select
        deposits.user_id,
        {{ month_start('deposits.created_at') }} as activity_month,
        sum(deposits.amount) as credit_granted,
        max(deposits.updated_at) as source_updated_at,
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
    {% if is_incremental() %}
        where deposits.user_id in (select user_id from changed_users)
    {% endif %}
    group by 1, 2

),

bookings_by_month as (

    select
        user_id,
        booking_month as activity_month,
        count(*) as bookings,
        sum(booking_amount) as amount_spent,
        max(updated_at) as source_updated_at

    from bookings
    where
        not is_cancelled
        and {% if is_incremental() %}user_id in (select user_id from changed_users){% else %}true{% endif %}
    group by 1, 2

),

user_month_events as (

    select user_id, activity_month from deposits_by_month
    union all
    select user_id, activity_month from bookings_by_month
    {% if is_incremental() %}
        -- months already stored for a changed user: recomputed, to zero if nothing is left
        union all
        select user_id, activity_month from {{ this }}
        where user_id in (select user_id from changed_users)
    {% endif %}

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
        coalesce(deposits_by_month.is_new_beneficiary_flag, 0) = 1 as is_new_beneficiary,
        coalesce(bookings_by_month.bookings, 0) > 0 as is_active_beneficiary,
        coalesce(bookings_by_month.bookings, 0) as bookings,
        coalesce(bookings_by_month.amount_spent, 0) as amount_spent,
        coalesce(deposits_by_month.credit_granted, 0) as credit_granted,
        {% if is_incremental() %}
            coalesce(
                greatest(deposits_by_month.source_updated_at, bookings_by_month.source_updated_at),
                deposits_by_month.source_updated_at,
                bookings_by_month.source_updated_at,
                (select max(source_updated_at) from {{ this }})
            ) as source_updated_at
        {% else %}
            coalesce(
                greatest(deposits_by_month.source_updated_at, bookings_by_month.source_updated_at),
                deposits_by_month.source_updated_at,
                bookings_by_month.source_updated_at
            ) as source_updated_at
        {% endif %}

    from user_months
    left join deposits_by_month
        on
            user_months.user_id = deposits_by_month.user_id
            and user_months.activity_month = deposits_by_month.activity_month
    left join bookings_by_month
        on
            user_months.user_id = bookings_by_month.user_id
            and user_months.activity_month = bookings_by_month.activity_month

)

select * from final
