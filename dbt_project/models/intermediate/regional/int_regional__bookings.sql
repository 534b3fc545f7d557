{{ config(bigquery_table(partition_date='booking_month', granularity='month', cluster_by=['user_id', 'offer_id'])) }}
{{
    config(
        materialized='incremental',
        unique_key='booking_id',
        incremental_strategy=upsert_strategy(),
        on_schema_change='append_new_columns'
    )
}}
-- One row per booking with what the regional KPIs need (who, where, what
-- category, how much). Incremental: a run only merges the bookings the app
-- changed since the last one (created, used or cancelled: every change moves
-- updated_at, however old the booking), from app_lookback_days before the
-- newest change it holds, so history is not rebuilt. Geography is joined
-- downstream, so that a user who moves is counted in their current
-- department without rewriting this table.
-- Bookings deleted from the app keep their row here with is_deleted: a
-- deletion does not move updated_at, so deleted rows (few) are merged again
-- on every run, and downstream models leave them out.
with bookings as (

    select * from {{ ref('stg_app__bookings') }}
    {% if is_incremental() %}
        -- from a day before the newest updated_at merged: rows committed late with an older date_updated
        where {{ incremental_window('updated_at', 'updated_at', var('app_lookback_days')) }} or is_deleted
    {% endif %}

),

stocks as (

    select * from {{ ref('stg_app__stocks') }}
    where is_deleted is not true

),

offers as (

    select * from {{ ref('stg_app__offers') }}
    where is_deleted is not true

),

subcategories as (

    select * from {{ ref('offer_subcategories') }}

),

final as (

    select
        bookings.booking_id,
        bookings.user_id,
        bookings.deposit_id,
        bookings.venue_id,
        bookings.offerer_id,
        stocks.offer_id,
        coalesce(subcategories.category_id, 'UNKNOWN') as offer_category_id,
        {{ month_start('bookings.created_at') }} as booking_month,
        bookings.booking_status,
        bookings.is_cancelled,
        bookings.quantity,
        bookings.amount * bookings.quantity as booking_amount,
        bookings.created_at,
        bookings.updated_at,
        bookings.is_deleted

    from bookings
    left join stocks
        on bookings.stock_id = stocks.stock_id
    left join offers
        on stocks.offer_id = offers.offer_id
    left join subcategories
        on offers.subcategory_id = subcategories.subcategory_id

)

select * from final
