-- One row per ticket (deleted tickets left out), with its topic, channel,
-- first reply and solve times, latest satisfaction rating and requester profile.
-- First reply and solve come from Zendesk's ticket metrics. Zendesk gives the
-- first reply as minutes after creation (no timestamp), so first_replied_at is
-- rebuilt from them. A solved or closed ticket whose metric set has no
-- solved_at (not loaded yet) falls back to its last update, which an update
-- after solving (closing, a CSAT rating) moves later, never earlier.
with tickets as (

    select * from {{ ref('stg_zendesk__tickets') }}

),

metric_sets as (

    select * from {{ ref('stg_zendesk__ticket_metric_sets') }}

),

ratings as (

    select * from {{ ref('stg_zendesk__satisfaction_ratings') }}

),

requesters as (

    select * from {{ ref('int_support__ticket_requesters') }}

),

-- a ticket can be rated again (bad then good): its latest rating counts
latest_ratings as (

    select
        ticket_id,
        score,
        created_at as rated_at,
        row_number() over (
            partition by ticket_id order by created_at desc, satisfaction_rating_id desc
        ) as rating_rank
    from ratings
    where score in ('good', 'bad')

),

solves as (

    select
        tickets.ticket_id,
        case
            when tickets.ticket_status in ('solved', 'closed')
                then coalesce(metric_sets.solved_at, tickets.updated_at)
        end as solved_at,
        case
            when tickets.ticket_status not in ('solved', 'closed') then 'unsolved'
            when metric_sets.solved_at is not null then 'metric_set'
            else 'last_update'
        end as solved_at_source,
        case
            when metric_sets.reply_time_calendar_minutes is not null
                -- cast back: on BigQuery dbt.dateadd returns a DATETIME, not comparable with TIMESTAMPs
                then cast(
                    {{ dbt.dateadd('minute', 'metric_sets.reply_time_calendar_minutes', 'tickets.created_at') }}
                    as {{ dbt.type_timestamp() }}
                )
        end as first_replied_at,
        metric_sets.reply_time_calendar_minutes / 60.0 as first_reply_hours,
        metric_sets.reply_time_business_minutes / 60.0 as first_reply_business_hours,
        case
            when tickets.ticket_status in ('solved', 'closed')
                then metric_sets.full_resolution_time_business_minutes / 60.0
        end as resolution_business_hours,
        metric_sets.replies as reply_count,
        metric_sets.reopens as reopen_count

    from tickets
    left join metric_sets on tickets.ticket_id = metric_sets.ticket_id

),

final as (

    select
        tickets.ticket_id,
        tickets.created_at,
        cast(tickets.created_at as date) as created_date,
        solves.first_replied_at,
        solves.first_reply_hours,
        solves.first_reply_business_hours,
        solves.solved_at,
        cast(solves.solved_at as date) as solved_date,
        solves.solved_at_source,
        solves.resolution_business_hours,
        solves.reply_count,
        solves.reopen_count,
        tickets.updated_at,
        tickets.ticket_status,
        tickets.ticket_status in ('solved', 'closed') as is_solved,
        coalesce(tickets.via_channel, 'unknown') as channel,
        coalesce(tickets.subject_category, 'unknown') as topic,
        tickets.issue,
        tickets.typology_support_native,
        tickets.typology_support_pro,
        tickets.typology_fraud_native,
        tickets.support_level,
        tickets.ticket_priority,
        tickets.ticket_type,
        tickets.group_id,
        tickets.ticket_form_id,
        coalesce(latest_ratings.score, tickets.satisfaction_score, 'unoffered') as satisfaction_score,
        latest_ratings.score is not null as is_rated,
        latest_ratings.rated_at,
        cast(latest_ratings.rated_at as date) as rated_date,
        requesters.requester_email_hash,
        requesters.resolution_method,
        requesters.is_app_user,
        requesters.is_beneficiary,
        requesters.age_band,
        requesters.department_code

    from tickets
    inner join solves on tickets.ticket_id = solves.ticket_id
    left join latest_ratings
        on
            tickets.ticket_id = latest_ratings.ticket_id
            and latest_ratings.rating_rank = 1
    left join requesters on tickets.ticket_id = requesters.ticket_id
    where tickets.ticket_status != 'deleted'

)

select * from final
