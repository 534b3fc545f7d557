with source as (

    select * from {{ source('appsflyer', 'daily_report') }}

),

renamed as (

    select
        app_id,
        cast(date as date) as report_date,
        nullif(agency, '') as agency,
        media_source,
        nullif(nullif(campaign, ''), 'None') as utm_campaign,
        impressions,
        clicks,
        installs,
        sessions,
        loyal_users,
        cast(total_cost as {{ dbt.type_numeric() }}) as total_cost,
        cast(total_revenue as {{ dbt.type_numeric() }}) as total_revenue,
        cast(average_ecpi as {{ dbt.type_numeric() }}) as average_ecpi,
        _dlt_load_id as load_id

    from source

)

select * from renamed
