with source as (

    select * from {{ source('appsflyer', 'in_app_events') }}

),

renamed as (

    select
        app_id,
        appsflyer_id,
        event_name,
        {{ utc_timestamp('event_time') }} as event_at,
        {{ utc_timestamp('install_time') }} as installed_at,
        event_value,
        cast(event_revenue as {{ dbt.type_numeric() }}) as event_revenue,
        platform,
        cast(customer_user_id as {{ dbt.type_bigint() }}) as user_id,
        media_source,
        channel,
        campaign as utm_campaign,
        campaign_id,
        state as department_code,
        postal_code

    from source

)

select * from renamed
