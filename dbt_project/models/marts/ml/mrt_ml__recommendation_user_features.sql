-- One row per app user: what the recommender knows about them as of the
-- latest recorded interaction (the data's own present, so rebuilding an old
-- snapshot gives the same figures): age, current credit, activity counts and
-- an approximate location. No birth date or address leaves this model.
with users as (

    select * from {{ ref('stg_app__users') }}
    where is_deleted is not true

),

birth_dates as (

    select user_id, birth_date from {{ ref('stg_app__user_birth_dates') }}

),

deposits as (

    select * from {{ ref('stg_app__deposits') }}
    where is_deleted is not true

),

bookings as (

    select * from {{ ref('stg_app__bookings') }}
    where is_deleted is not true

),

interactions as (

    select * from {{ ref('int_ml__interactions') }}

),

user_locations as (

    select * from {{ ref('int_geo__user_location') }}

),

as_of as (

    select max(event_at) as features_as_of from interactions

),

current_deposits as (

    -- the deposit the user spends now: the latest one opened and not expired
    select
        deposits.user_id,
        deposits.deposit_id,
        deposits.deposit_type,
        deposits.amount,
        deposits.expires_at,
        row_number() over (partition by deposits.user_id order by deposits.created_at desc, deposits.deposit_id desc) as recency

    from deposits
    cross join as_of
    where
        deposits.created_at <= as_of.features_as_of
        and (deposits.expires_at is null or deposits.expires_at > as_of.features_as_of)

),

spent as (

    select
        bookings.deposit_id,
        sum(bookings.amount * bookings.quantity) as spent_amount

    from bookings
    cross join as_of
    where
        not bookings.is_cancelled
        and bookings.created_at <= as_of.features_as_of
    group by bookings.deposit_id

),

activity as (

    select
        user_id,
        sum(case when event_type = 'booking' and not is_cancelled_booking then 1 else 0 end) as booking_count,
        sum(case when event_type = 'click' then 1 else 0 end) as click_count,
        sum(case when event_type = 'favorite' then 1 else 0 end) as favorite_count,
        count(distinct offer_id) as interacted_offer_count,
        max(event_at) as last_interaction_at

    from interactions
    group by user_id

),

user_features as (

    select
        users.user_id,
        extract(year from as_of.features_as_of) - extract(year from birth_dates.birth_date)
        - case
            when
                extract(month from as_of.features_as_of) * 100 + extract(day from as_of.features_as_of)
                < extract(month from birth_dates.birth_date) * 100 + extract(day from birth_dates.birth_date)
                then 1
            else 0
        end as age,
        current_deposits.deposit_type,
        greatest(coalesce(current_deposits.amount - coalesce(spent.spent_amount, 0), 0), 0) as remaining_credit,
        current_deposits.expires_at as credit_expires_at,
        coalesce(activity.booking_count, 0) as booking_count,
        coalesce(activity.click_count, 0) as click_count,
        coalesce(activity.favorite_count, 0) as favorite_count,
        coalesce(activity.interacted_offer_count, 0) as interacted_offer_count,
        activity.last_interaction_at,
        user_locations.department_code,
        -- about 1 km: enough for a distance filter, too coarse to point at a home
        round(user_locations.latitude, 2) as approx_latitude,
        round(user_locations.longitude, 2) as approx_longitude,
        as_of.features_as_of

    from users
    cross join as_of
    left join birth_dates
        on users.user_id = birth_dates.user_id
    left join current_deposits
        on
            users.user_id = current_deposits.user_id
            and current_deposits.recency = 1
    left join spent
        on current_deposits.deposit_id = spent.deposit_id
    left join activity
        on users.user_id = activity.user_id
    left join user_locations
        on users.user_id = user_locations.user_id

),

final as (

    select
        *,
        -- 15-17 year olds: the service applies the underage rules to them
        coalesce(age < 18, false) as is_underage

    from user_features

)

select * from final
