-- One row per ticket: who asked, resolved to a pass Culture user.
-- First by the salted email hash (the requester writes from the address of
-- their app account), else by the user id an agent recorded in the Zendesk
-- user field 'user_id' when that id exists in the app. Partners and strangers
-- stay unresolved (app_user_id NULL, resolution_method 'unresolved').
with tickets as (

    select ticket_id, requester_id from {{ ref('stg_zendesk__tickets') }}

),

requesters as (

    select zendesk_user_id, email_hash, recorded_user_id from {{ ref('stg_zendesk__users') }}

),

app_users as (

    select user_id, email_hash from {{ ref('stg_app__users') }}

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

)

select
    tickets.ticket_id,
    tickets.requester_id,
    coalesce(by_email.user_id, by_recorded_id.user_id) as app_user_id,
    case
        when by_email.user_id is not null then 'email_hash'
        when by_recorded_id.user_id is not null then 'recorded_user_id'
        else 'unresolved'
    end as resolution_method
from tickets
left join by_email on tickets.requester_id = by_email.zendesk_user_id
left join by_recorded_id on tickets.requester_id = by_recorded_id.zendesk_user_id
