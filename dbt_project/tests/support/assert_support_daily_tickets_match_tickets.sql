-- The daily mart adds up to the ticket mart: every ticket created once,
-- every solved ticket solved once, every rating counted once, and the last
-- day's backlog is the tickets still unsolved.
with tickets as (

    select
        count(*) as created_tickets,
        sum(case when is_solved then 1 else 0 end) as solved_tickets,
        sum(case when is_rated then 1 else 0 end) as rated_tickets,
        sum(case when not is_solved then 1 else 0 end) as open_tickets
    from {{ ref('mrt_support__tickets') }}

),

daily as (

    select
        sum(created_tickets) as created_tickets,
        sum(solved_tickets) as solved_tickets,
        sum(rated_tickets) as rated_tickets
    from {{ ref('mrt_support__daily_tickets') }}

),

last_backlog as (

    select sum(backlog_tickets) as open_tickets
    from {{ ref('mrt_support__daily_tickets') }}
    where ticket_date = (select max(ticket_date) from {{ ref('mrt_support__daily_tickets') }})

)

select
    tickets.created_tickets,
    daily.created_tickets as daily_created_tickets,
    tickets.solved_tickets,
    daily.solved_tickets as daily_solved_tickets,
    tickets.rated_tickets,
    daily.rated_tickets as daily_rated_tickets,
    tickets.open_tickets,
    last_backlog.open_tickets as last_day_backlog
from tickets
cross join daily
cross join last_backlog
where
    tickets.created_tickets != daily.created_tickets
    or tickets.solved_tickets != daily.solved_tickets
    or tickets.rated_tickets != daily.rated_tickets
    or tickets.open_tickets != last_backlog.open_tickets
