-- The recommender's training log: one row per user x offer interaction
-- (click, favourite, booking) with its time and the screen it came from.
with interactions as (

    select * from {{ ref('int_ml__interactions') }}

),

final as (

    select
        interaction_id,
        user_id,
        offer_id,
        event_type,
        event_origin,
        event_at,
        is_cancelled_booking

    from interactions

)

select * from final
