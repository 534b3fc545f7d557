with source as (

    select * from {{ source('appsflyer', 'installs') }}

),

renamed as (

    select
        app_id,
        appsflyer_id,
        platform,
        cast(customer_user_id as {{ dbt.type_bigint() }}) as user_id,
        {{ utc_timestamp('install_time') }} as installed_at,
        {{ utc_timestamp('attributed_touch_time') }} as attributed_touch_at,
        attributed_touch_type,
        media_source,
        channel,
        campaign as utm_campaign,
        campaign_id,
        adset,
        ad,
        cast(cost_value as {{ dbt.type_numeric() }}) as cost_value,
        cost_currency,
        country_code,
        state as department_code,
        city,
        postal_code,
        os_version,
        app_version,
        _dlt_load_id as load_id

    from source

)

select * from renamed
