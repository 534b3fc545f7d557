-- One row per offer: what the recommender and its service need to know about
-- it as of the latest recorded interaction: category, price, venue location,
-- dates, whether it can be booked, and its recent success (bookings over
-- 7/14/28 days, the reference ranker's popularity features).
{%- set booking_windows = [7, 14, 28] %}

with offers as (

    select * from {{ ref('stg_app__offers') }}
    where is_deleted is not true

),

stocks as (

    select * from {{ ref('stg_app__stocks') }}
    where is_deleted is not true

),

venues as (

    select * from {{ ref('stg_app__venues') }}
    where is_deleted is not true

),

venue_locations as (

    select * from {{ ref('int_geo__venue_location') }}

),

subcategories as (

    select * from {{ ref('offer_subcategories') }}

),

interactions as (

    select * from {{ ref('int_ml__interactions') }}

),

as_of as (

    select max(event_at) as features_as_of from interactions

),

open_stocks as (

    -- stocks that can still be booked: quantity left (or unlimited) and, for events, not started yet
    select
        stocks.offer_id,
        stocks.price,
        stocks.beginning_at,
        case when stocks.stock_quantity is not null then stocks.stock_quantity - coalesce(stocks.booked_quantity, 0) end
            as remaining_quantity

    from stocks
    cross join as_of
    where
        (stocks.stock_quantity is null or stocks.stock_quantity > coalesce(stocks.booked_quantity, 0))
        and (stocks.beginning_at is null or stocks.beginning_at > as_of.features_as_of)

),

offer_stocks as (

    select
        offer_id,
        min(price) as stock_price,
        min(beginning_at) as first_beginning_at,
        max(beginning_at) as last_beginning_at

    from stocks
    group by offer_id

),

offer_open_stocks as (

    select
        offer_id,
        count(*) as open_stock_count,
        min(price) as open_stock_price,
        min(beginning_at) as next_beginning_at,
        case when count(*) = count(remaining_quantity) then sum(remaining_quantity) end as remaining_quantity

    from open_stocks
    group by offer_id

),

offer_activity as (

    select
        interactions.offer_id,
        sum(case when interactions.event_type = 'booking' and not interactions.is_cancelled_booking then 1 else 0 end)
            as booking_count,
        {%- for days in booking_windows %}
            sum(
                case
                    when
                        interactions.event_type = 'booking' and not interactions.is_cancelled_booking
                        and interactions.event_at > {{ timestamp_add_days('as_of.features_as_of', -days) }}
                        then 1
                    else 0
                end
            ) as booking_count_last_{{ days }}_days,
        {%- endfor %}
        sum(case when interactions.event_type = 'click' then 1 else 0 end) as click_count,
        sum(case when interactions.event_type = 'favorite' then 1 else 0 end) as favorite_count

    from interactions
    cross join as_of
    group by interactions.offer_id

),

final as (

    select
        offers.offer_id,
        offers.subcategory_id as offer_subcategory_id,
        coalesce(subcategories.category_id, 'UNKNOWN') as offer_category_id,
        coalesce(subcategories.is_event, false) as is_event,
        coalesce(subcategories.is_digital, false) as is_digital,
        coalesce(offers.is_duo, false) as is_duo,
        offers.venue_id,
        venue_locations.department_code as venue_department_code,
        case when not coalesce(venues.is_virtual, false) then venues.latitude end as venue_latitude,
        case when not coalesce(venues.is_virtual, false) then venues.longitude end as venue_longitude,
        coalesce(offer_open_stocks.open_stock_price, offer_stocks.stock_price) as stock_price,
        offer_open_stocks.remaining_quantity,
        offer_open_stocks.next_beginning_at,
        offer_stocks.first_beginning_at,
        offer_stocks.last_beginning_at,
        offers.created_at as offer_created_at,
        offers.validation_status = 'VALIDATED'
        and coalesce(offers.is_active, false)
        and coalesce(offer_open_stocks.open_stock_count, 0) > 0 as is_bookable,
        coalesce(offer_activity.booking_count, 0) as booking_count,
        {%- for days in booking_windows %}
            coalesce(offer_activity.booking_count_last_{{ days }}_days, 0) as booking_count_last_{{ days }}_days,
        {%- endfor %}
        coalesce(offer_activity.click_count, 0) as click_count,
        coalesce(offer_activity.favorite_count, 0) as favorite_count,
        as_of.features_as_of

    from offers
    cross join as_of
    left join subcategories
        on offers.subcategory_id = subcategories.subcategory_id
    left join venues
        on offers.venue_id = venues.venue_id
    left join venue_locations
        on offers.venue_id = venue_locations.venue_id
    left join offer_stocks
        on offers.offer_id = offer_stocks.offer_id
    left join offer_open_stocks
        on offers.offer_id = offer_open_stocks.offer_id
    left join offer_activity
        on offers.offer_id = offer_activity.offer_id

)

select * from final
