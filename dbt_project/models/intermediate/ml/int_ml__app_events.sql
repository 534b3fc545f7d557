{{ config(bigquery_table(partition_date='event_date', cluster_by=['user_id', 'offer_id'])) }}
{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy=upsert_strategy(),
        on_schema_change='append_new_columns'
    )
}}
-- The app's analytics events the recommender learns from (offer consulted,
-- added to favourites, booking confirmed), from the Firebase export.
-- Incremental: the largest fact of the warehouse, and its parameters are
-- unnested from every raw event. A run reads again only the export days from
-- firebase_lookback_days before the newest day it holds: Firebase rewrites a
-- day's table for 72 h with the events that reached it late, and the source
-- reloads those days whole; a rewrite adds events, it does not withdraw any.
with app_events as (

    select * from {{ ref('stg_firebase__events') }}
    {% if is_incremental() %}
        where {{ incremental_window('event_date', 'event_date', var('firebase_lookback_days'), 'date') }}
    {% endif %}

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
        event_at,
        event_date

    from app_events
    where
        event_name in ('ConsultOffer', 'HasAddedOfferToFavorites', 'BookingConfirmation')
        and user_id is not null
        and offer_id is not null

)

select * from final
