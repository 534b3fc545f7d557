{{ config(bigquery_table(cluster_by=['user_id', 'offer_id'])) }}
{{
    config(
        materialized='incremental',
        unique_key='interaction_id',
        incremental_strategy=upsert_strategy(),
        on_schema_change='append_new_columns',
        post_hook=(
            "delete from {{ this }} where event_type = 'booking' and interaction_id not in "
            ~ "(select interaction_id from {{ ref('int_ml__interactions') }} where event_type = 'booking')"
        )
    )
}}
-- The recommender's training log: one row per user x offer interaction
-- (click, favourite, booking) with its time and the screen it came from.
-- Incremental, with one watermark per source: events from
-- firebase_lookback_days before the newest event held (Firebase rewrites
-- its last 3 days), bookings changed (created or cancelled: updated_at) from
-- app_lookback_days before the newest booking held. A booking deleted in the
-- app (or whose stock was) is removed by the post-hook, as a full build
-- would leave it out.
with interactions as (

    select * from {{ ref('int_ml__interactions') }}
    {% if is_incremental() %}
        where
            (
                event_type != 'booking'
                and {{ incremental_window(
                    'changed_at', 'event_at', var('firebase_lookback_days'), watermark_where="event_type != 'booking'"
                ) }}
            )
            or (
                event_type = 'booking'
                and {{ incremental_window(
                    'changed_at', 'event_at', var('app_lookback_days'), watermark_where="event_type = 'booking'"
                ) }}
            )
    {% endif %}

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
