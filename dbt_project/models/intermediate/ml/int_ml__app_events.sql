-- The app's analytics events the recommender learns from (offer consulted,
-- added to favourites, booking confirmed). This is the only model that reads
-- them: moving the events to another source (the Firebase export) changes
-- the staging model imported here and nothing downstream.
with tracking_events as (

    select * from {{ ref('stg_app__tracking_events') }}

),

final as (

    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
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

    from tracking_events
    where
        event_name in ('ConsultOffer', 'HasAddedOfferToFavorites', 'BookingConfirmation')
        and user_id is not null
        and offer_id is not null

)

select * from final
