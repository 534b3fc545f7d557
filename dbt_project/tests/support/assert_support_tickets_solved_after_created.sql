-- A solved ticket has a solve time no earlier than its creation, and only
-- solved tickets have one.
select ticket_id, created_at, solved_at, resolution_hours, is_solved
from {{ ref('mrt_support__tickets') }}
where
    solved_at < created_at
    or resolution_hours < 0
    or (is_solved and solved_at is null)
    or (not is_solved and solved_at is not null)
