-- The first reply follows the ticket's creation and precedes its solve, and
-- the reply and resolution durations agree with those times.
select
    ticket_id,
    created_at,
    first_replied_at,
    solved_at,
    first_reply_hours,
    resolution_hours,
    first_reply_business_hours,
    resolution_business_hours
from {{ ref('mrt_support__tickets') }}
where
    first_replied_at < created_at
    or first_replied_at > solved_at
    or first_reply_hours > resolution_hours
    or first_reply_business_hours > first_reply_hours
    or resolution_business_hours > resolution_hours
    or (first_replied_at is null) != (first_reply_hours is null)
    or (solved_at_source = 'metric_set' and resolution_business_hours is null)
