-- The app's analytics events the recommender learns from (offer consulted,
-- added to favourites, booking confirmed), from the Firebase export.
with app_events as (

    select * from {{ ref('stg_firebase__events') }}

),

final as (

    select
        event_key as event_id,
        user_id,
        offer_id,
        case event_name
            when 'ConsultOffer' then 'click'
            when 'HasAddedOfferToFavorites' then 'favorite'
            when 'BookingConfirmation' then 'booking'
        end as event_type,
        event_name,
        coalesce(event_origin, 'unknown') as event_origin,
        event_at

    from app_events
    where
        event_name in ('ConsultOffer', 'HasAddedOfferToFavorites', 'BookingConfirmation')
        and user_id is not null
        and offer_id is not null

)

select * from final
