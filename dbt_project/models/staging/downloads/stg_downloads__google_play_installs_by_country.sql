with source as (

    select * from {{ source('downloads', 'google_play_installs_by_country') }}

),

renamed as (

    select
        cast(date as date) as install_date,
        package_name,
        country as country_code,
        cast(daily_device_installs as bigint) as daily_device_installs,
        cast(daily_device_uninstalls as bigint) as daily_device_uninstalls,
        cast(daily_device_upgrades as bigint) as daily_device_upgrades,
        cast(total_user_installs as bigint) as total_user_installs,
        cast(daily_user_installs as bigint) as daily_user_installs,
        cast(daily_user_uninstalls as bigint) as daily_user_uninstalls,
        cast(active_device_installs as bigint) as active_device_installs,
        cast(install_events as bigint) as install_events,
        cast(update_events as bigint) as update_events,
        cast(uninstall_events as bigint) as uninstall_events,
        source_file

    from source

)

select * from renamed
