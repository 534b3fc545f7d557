-- One row per ticket. first_reply_hours and resolution_hours are plain
-- (calendar) hours; the *_business_hours variants count Zendesk's business
-- minutes (the account's schedule) only.
with tickets as (

    select * from {{ ref('int_support__tickets') }}

),

final as (

    select
        ticket_id,
        created_at,
        created_date,
        first_replied_at,
        solved_at,
        solved_date,
        solved_at_source,
        first_reply_hours,
        {{ dbt.datediff('created_at', 'solved_at', 'second') }} / 3600.0 as resolution_hours,
        first_reply_business_hours,
        resolution_business_hours,
        reply_count,
        reopen_count,
        ticket_status,
        is_solved,
        channel,
        topic,
        issue,
        typology_support_native,
        typology_support_pro,
        typology_fraud_native,
        support_level,
        ticket_priority,
        ticket_type,
        group_id,
        ticket_form_id,
        satisfaction_score,
        is_rated,
        rated_at,
        requester_email_hash,
        resolution_method as requester_resolution_method,
        is_app_user as requester_is_app_user,
        is_beneficiary as requester_is_beneficiary,
        age_band as requester_age_band,
        department_code as requester_department_code

    from tickets

)

select * from final
