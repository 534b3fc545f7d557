-- Day x topic x channel: ticket flows, backlog, resolution times and CSAT.
-- Dense: every day from the first ticket to the last activity (creation,
-- solve or rating) for every topic x channel seen, so that the backlog
-- carries over days without activity. Days are UTC dates; durations are
-- plain (calendar) hours, not business hours.
{%- set max_days = 20000 %}

with tickets as (

    select * from {{ ref('int_support__tickets') }}

),

bounds as (

    select
        min(created_date) as first_date,
        max(
            case
                when rated_date > coalesce(solved_date, created_date) then rated_date
                else coalesce(solved_date, created_date)
            end
        ) as last_date

    from tickets

),

series as (

    {{ dbt.generate_series(max_days) }}

),

days as (

    select
        cast(
            {{ dbt.dateadd('day', 'cast(series.generated_number as ' ~ dbt.type_bigint() ~ ') - 1', 'bounds.first_date') }}
            as date
        ) as ticket_date

    from bounds
    cross join series

),

segments as (

    select distinct topic, channel from tickets

),

grid as (

    select
        days.ticket_date,
        segments.topic,
        segments.channel

    from days
    cross join bounds
    cross join segments
    where days.ticket_date <= bounds.last_date

),

created as (

    select
        created_date as ticket_date,
        topic,
        channel,
        count(*) as created_tickets

    from tickets
    group by 1, 2, 3

),

solved as (

    select
        solved_date as ticket_date,
        topic,
        channel,
        count(*) as solved_tickets,
        {{ percentile_cont(dbt.datediff('created_at', 'solved_at', 'second') ~ ' / 3600.0', 0.5) }}
            as median_resolution_hours,
        {{ percentile_cont(dbt.datediff('created_at', 'solved_at', 'second') ~ ' / 3600.0', 0.9) }}
            as p90_resolution_hours

    from tickets
    where is_solved
    group by 1, 2, 3

),

rated as (

    select
        rated_date as ticket_date,
        topic,
        channel,
        count(*) as rated_tickets,
        cast(sum(case when satisfaction_score = 'good' then 1 else 0 end) as {{ dbt.type_bigint() }}) as good_ratings

    from tickets
    where is_rated
    group by 1, 2, 3

),

flows as (

    select
        grid.ticket_date,
        grid.topic,
        grid.channel,
        coalesce(created.created_tickets, 0) as created_tickets,
        coalesce(solved.solved_tickets, 0) as solved_tickets,
        solved.median_resolution_hours,
        solved.p90_resolution_hours,
        coalesce(rated.rated_tickets, 0) as rated_tickets,
        coalesce(rated.good_ratings, 0) as good_ratings

    from grid
    left join created
        on
            grid.ticket_date = created.ticket_date
            and grid.topic = created.topic
            and grid.channel = created.channel
    left join solved
        on
            grid.ticket_date = solved.ticket_date
            and grid.topic = solved.topic
            and grid.channel = solved.channel
    left join rated
        on
            grid.ticket_date = rated.ticket_date
            and grid.topic = rated.topic
            and grid.channel = rated.channel

),

final as (

    select
        ticket_date,
        topic,
        channel,
        created_tickets,
        solved_tickets,
        cast(sum(created_tickets - solved_tickets) over (
            partition by topic, channel
            order by ticket_date
            rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as backlog_tickets,
        median_resolution_hours,
        p90_resolution_hours,
        rated_tickets,
        good_ratings,
        {{ safe_divide('cast(good_ratings as ' ~ dbt.type_float() ~ ')', 'rated_tickets') }} as csat

    from flows

)

select * from final
