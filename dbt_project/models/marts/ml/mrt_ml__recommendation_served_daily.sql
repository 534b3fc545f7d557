-- What the Recommendation API served each day, per endpoint, user state
-- (reco_origin) and model, and what users did with it: an offer shown counts
-- as clicked (booked) when the same user clicked (booked) that offer within
-- 7 days after it was shown. Bookings count whether or not they were later
-- cancelled: the recommendation did its job. Calls and users come from every
-- call, including those that showed nothing.
with served as (

    select * from {{ ref('stg_recommendation__past_offer_context') }}

),

interactions as (

    select * from {{ ref('int_ml__interactions') }}

),

calls as (

    select
        cast(shown_at as date) as served_on,
        endpoint,
        coalesce(reco_origin, 'unknown') as reco_origin,
        coalesce(model_origin, 'unknown') as model_origin,
        call_id,
        served_user_id,
        offer_rank,
        offer_id,
        user_id,
        shown_at

    from served

),

outcomes as (

    select
        calls.call_id,
        calls.offer_rank,
        max(case when interactions.event_type = 'click' then 1 else 0 end) as is_clicked,
        max(case when interactions.event_type = 'booking' then 1 else 0 end) as is_booked

    from calls
    inner join interactions
        on
            calls.user_id = interactions.user_id
            and calls.offer_id = interactions.offer_id
            and interactions.event_at >= calls.shown_at
            and interactions.event_at < {{ timestamp_add_days('calls.shown_at', 7) }}
    where calls.offer_rank > 0
    group by calls.call_id, calls.offer_rank

),

shown as (

    select
        calls.*,
        coalesce(outcomes.is_clicked, 0) as is_clicked,
        coalesce(outcomes.is_booked, 0) as is_booked

    from calls
    left join outcomes
        on
            calls.call_id = outcomes.call_id
            and calls.offer_rank = outcomes.offer_rank

),

final as (

    select
        served_on,
        endpoint,
        reco_origin,
        model_origin,
        count(distinct call_id) as call_count,
        sum(case when offer_rank > 0 then 1 else 0 end) as offers_shown,
        count(distinct served_user_id) as distinct_users,
        sum(is_clicked) as offers_clicked_within_7_days,
        sum(is_booked) as offers_booked_within_7_days,
        avg(case when is_clicked = 1 then cast(offer_rank as {{ type_double() }}) end) as mean_rank_clicked,
        avg(case when is_booked = 1 then cast(offer_rank as {{ type_double() }}) end) as mean_rank_booked,
        {{ safe_divide('sum(is_clicked)', 'sum(case when offer_rank > 0 then 1 else 0 end)') }}
            as click_through_rate_7_days,
        {{ safe_divide('sum(is_booked)', 'sum(case when offer_rank > 0 then 1 else 0 end)') }}
            as booking_rate_7_days

    from shown
    group by served_on, endpoint, reco_origin, model_origin

)

select * from final
