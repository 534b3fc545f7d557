with source as (

    select * from {{ source('appsflyer', 'partners_report') }}

),

renamed as (

    select
        app_id,
        cast(date as date) as report_date,
        nullif(agency, '') as agency,
        media_source,
        impressions,
        clicks,
        installs,
        sessions,
        loyal_users,
        cast(total_cost as {{ dbt.type_float() }}) as total_cost,
        af_complete_registration_unique_users as registrations_unique_users,
        af_complete_registration_event_counter as registrations_events,
        af_complete_beneficiary_unique_users as beneficiaries_unique_users,
        af_complete_beneficiary_event_counter as beneficiaries_events,
        af_open_app_unique_users as app_opens_unique_users,
        af_open_app_event_counter as app_opens_events

    from source

)

select * from renamed
