-- Every user x offer interaction the recommender learns from: clicks and
-- favourites from the app events, bookings from the app database. Bookings
-- come from the booking ledger rather than the 'booking confirmed' event:
-- analytics events go missing (consent, offline), bookings never do, and
-- taking both would count each booking twice.
with app_events as (

    select * from {{ ref('int_ml__app_events') }}

),

bookings as (

    select * from {{ ref('stg_app__bookings') }}
    where is_deleted is not true

),

stocks as (

    select * from {{ ref('stg_app__stocks') }}
    where is_deleted is not true

),

event_interactions as (

    select
        {{ dbt.concat(["'event-'", 'event_id']) }} as interaction_id,
        user_id,
        offer_id,
        event_type,
        event_origin,
        event_at,
        false as is_cancelled_booking,
        event_at as changed_at

    from app_events
    where event_type in ('click', 'favorite')

),

booking_interactions as (

    select
        {{ dbt.concat(["'booking-'", dbt.safe_cast('bookings.booking_id', dbt.type_string())]) }} as interaction_id,
        bookings.user_id,
        stocks.offer_id,
        'booking' as event_type,
        'booking' as event_origin,
        bookings.created_at as event_at,
        bookings.is_cancelled as is_cancelled_booking,
        coalesce(bookings.updated_at, bookings.created_at) as changed_at

    from bookings
    inner join stocks
        on bookings.stock_id = stocks.stock_id

),

final as (

    select * from event_interactions
    union all
    select * from booking_interactions

)

select * from final
