{{ config(bigquery_table(partition_date='sent_date', granularity='month', cluster_by=['template_id'])) }}
{{
    config(
        materialized='incremental',
        unique_key='message_id',
        incremental_strategy=upsert_strategy(),
        on_schema_change='append_new_columns'
    )
}}
-- One row per Brevo transactional message: its template, when it was sent and
-- whether it was delivered, opened or led to an unsubscription (whenever that
-- happened). Incremental: a run reads only the events from
-- brevo_lookback_days before the newest event held (the source re-pulls its
-- last day of events), and folds them into the messages already held with
-- min and max only, which re-reading an event cannot change: an open that
-- comes weeks after the send updates that message alone.
with events as (

    select * from {{ ref('stg_brevo__transactional_events') }}
    {% if is_incremental() %}
        where {{ incremental_window('event_at', 'last_event_at', var('brevo_lookback_days')) }}
    {% endif %}

),

batch as (

    select
        message_id,
        min(template_id) as template_id,
        min(template_tag) as template_tag,
        min(case when event_type = 'delivered' then event_at end) as delivered_at,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,
        max(case when event_type = 'delivered' then 1 else 0 end) as is_delivered,
        max(case when event_type = 'opened' then 1 else 0 end) as is_opened,
        max(case when event_type = 'unsubscribed' then 1 else 0 end) as is_unsubscribed

    from events
    group by 1

),

-- the batch's messages as already held (none on a full build)
held as (

    {% if is_incremental() %}
        select * from {{ this }}
        where message_id in (select message_id from batch)
    {% else %}
        select * from batch
        where false
    {% endif %}

),

-- NULL-safe least/greatest: BigQuery's least() and greatest() return NULL on a NULL
folded as (

    select
        batch.message_id,
        {{ least_of('batch.template_id', 'held.template_id') }} as template_id,
        {{ least_of('batch.template_tag', 'held.template_tag') }} as template_tag,
        {{ least_of('batch.delivered_at', 'held.delivered_at') }} as delivered_at,
        {{ least_of('batch.first_event_at', 'held.first_event_at') }} as first_event_at,
        {{ greatest_of('batch.last_event_at', 'held.last_event_at') }} as last_event_at,
        {{ greatest_of('batch.is_delivered', 'held.is_delivered') }} as is_delivered,
        {{ greatest_of('batch.is_opened', 'held.is_opened') }} as is_opened,
        {{ greatest_of('batch.is_unsubscribed', 'held.is_unsubscribed') }} as is_unsubscribed

    from batch
    left join held
        on batch.message_id = held.message_id

),

final as (

    select
        message_id,
        template_id,
        template_tag,
        -- a message with no delivered event (pulled before Brevo logged it) is dated by its first event
        cast(coalesce(delivered_at, first_event_at) as date) as sent_date,
        delivered_at,
        first_event_at,
        last_event_at,
        is_delivered,
        is_opened,
        is_unsubscribed

    from folded

)

select * from final
