-- One row per ticket: who asked, resolved to a pass Culture user, and the
-- requester's profile at the time of the ticket.
-- Resolution: first by the salted email hash (the requester writes from the
-- address of their app account), else by the user id an agent recorded in the
-- Zendesk user field 'user_id' when that id exists in the app. Partners and
-- strangers stay unresolved (app_user_id NULL, resolution_method 'unresolved').
-- Profile: age band at the ticket's creation date, current department, and
-- whether the user held a deposit when the ticket was created.
with tickets as (

    select ticket_id, requester_id, created_at from {{ ref('stg_zendesk__tickets') }}

),

requesters as (

    select zendesk_user_id, email_hash, recorded_user_id from {{ ref('stg_zendesk__users') }}

),

app_users as (

    select user_id, email_hash from {{ ref('stg_app__users') }}
    where is_deleted is not true

),

birth_dates as (

    select user_id, birth_date from {{ ref('stg_app__user_birth_dates') }}

),

deposits as (

    select user_id, created_at from {{ ref('stg_app__deposits') }}
    where is_deleted is not true

),

user_locations as (

    select user_id, department_code from {{ ref('int_geo__user_location') }}

),

by_email as (

    select requesters.zendesk_user_id, min(app_users.user_id) as user_id
    from requesters
    inner join app_users on requesters.email_hash = app_users.email_hash
    group by requesters.zendesk_user_id

),

by_recorded_id as (

    select requesters.zendesk_user_id, app_users.user_id
    from requesters
    inner join app_users
        on cast(app_users.user_id as {{ dbt.type_string() }}) = requesters.recorded_user_id

),

resolved as (

    select
        tickets.ticket_id,
        tickets.requester_id,
        tickets.created_at,
        requesters.email_hash as requester_email_hash,
        coalesce(by_email.user_id, by_recorded_id.user_id) as app_user_id,
        case
            when by_email.user_id is not null then 'email_hash'
            when by_recorded_id.user_id is not null then 'recorded_user_id'
            else 'unresolved'
        end as resolution_method
    from tickets
    left join requesters on tickets.requester_id = requesters.zendesk_user_id
    left join by_email on tickets.requester_id = by_email.zendesk_user_id
    left join by_recorded_id on tickets.requester_id = by_recorded_id.zendesk_user_id

),

first_deposits as (

    select user_id, min(created_at) as first_deposit_at
    from deposits
    group by user_id

),

-- Age in whole years on the ticket's creation date (birthday not yet reached
-- that year: one year less).
ages as (

    select
        resolved.ticket_id,
        extract(year from resolved.created_at) - extract(year from birth_dates.birth_date)
        - case
            when
                extract(month from resolved.created_at) * 100 + extract(day from resolved.created_at)
                < extract(month from birth_dates.birth_date) * 100 + extract(day from birth_dates.birth_date)
                then 1
            else 0
        end as age_years
    from resolved
    inner join birth_dates on resolved.app_user_id = birth_dates.user_id

),

final as (

    select
        resolved.ticket_id,
        resolved.requester_id,
        resolved.requester_email_hash,
        resolved.app_user_id,
        resolved.resolution_method,
        resolved.app_user_id is not null as is_app_user,
        coalesce(first_deposits.first_deposit_at <= resolved.created_at, false) as is_beneficiary,
        case
            when ages.age_years is null then 'unknown'
            when ages.age_years < 15 then 'under 15'
            when ages.age_years <= 17 then '15-17'
            when ages.age_years = 18 then '18'
            when ages.age_years <= 20 then '19-20'
            else '21 and over'
        end as age_band,
        coalesce(user_locations.department_code, '-1') as department_code
    from resolved
    left join first_deposits on resolved.app_user_id = first_deposits.user_id
    left join ages on resolved.ticket_id = ages.ticket_id
    left join user_locations on resolved.app_user_id = user_locations.user_id

)

select * from final
