-- One row per ticket (deleted tickets left out), with its topic, channel,
-- solved time, latest satisfaction rating and requester profile.
-- solved_at: Zendesk's ticket metrics (solved_at, first reply) are not loaded,
-- so a solved or closed ticket counts as solved at its last update. An update
-- after solving (closing, a CSAT rating) moves it later, never earlier.
with tickets as (

    select * from {{ ref('stg_zendesk__tickets') }}

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

final as (

    select
        tickets.ticket_id,
        tickets.created_at,
        cast(tickets.created_at as date) as created_date,
        case when tickets.ticket_status in ('solved', 'closed') then tickets.updated_at end as solved_at,
        case
            when tickets.ticket_status in ('solved', 'closed') then cast(tickets.updated_at as date)
        end as solved_date,
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
    left join latest_ratings
        on
            tickets.ticket_id = latest_ratings.ticket_id
            and latest_ratings.rating_rank = 1
    left join requesters on tickets.ticket_id = requesters.ticket_id
    where tickets.ticket_status != 'deleted'

)

select * from final
