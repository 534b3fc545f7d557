-- One row per store x country x day. App Store: first-time downloads are
-- Product Type 1/1F/1T units, re-downloads 3/3F/3T, updates 7/7F/7T. Google
-- Play: device installs, upgrades and uninstalls of the country export; what
-- the overview export counts beyond the countries (if anything) is reported
-- under country '-1' so the store's daily total stays whole.
with apple_sales as (

    select * from {{ ref('stg_downloads__apple_sales') }}

),

google_by_country as (

    select * from {{ ref('stg_downloads__google_play_installs_by_country') }}

),

google_overview as (

    select * from {{ ref('stg_downloads__google_play_installs') }}

),

apple as (

    select
        report_date as download_date,
        'app_store' as store,
        coalesce(country_code, '-1') as country_code,
        sum(case when product_type_identifier in ('1', '1F', '1T') then units else 0 end) as downloads,
        sum(case when product_type_identifier in ('3', '3F', '3T') then units else 0 end) as redownloads,
        sum(case when product_type_identifier in ('7', '7F', '7T') then units else 0 end) as updates,
        cast(null as {{ dbt.type_bigint() }}) as uninstalls

    from apple_sales
    group by 1, 2, 3

),

google_countries as (

    select
        install_date as download_date,
        'google_play' as store,
        coalesce(country_code, '-1') as country_code,
        sum(coalesce(daily_device_installs, 0)) as downloads,
        cast(null as {{ dbt.type_bigint() }}) as redownloads,
        sum(coalesce(daily_device_upgrades, 0)) as updates,
        sum(coalesce(daily_device_uninstalls, 0)) as uninstalls

    from google_by_country
    group by 1, 2, 3

),

google_country_totals as (

    select
        download_date,
        sum(downloads) as downloads,
        sum(updates) as updates,
        sum(uninstalls) as uninstalls

    from google_countries
    group by 1

),

google_overview_daily as (

    select
        install_date as download_date,
        sum(coalesce(daily_device_installs, 0)) as downloads,
        sum(coalesce(daily_device_upgrades, 0)) as updates,
        sum(coalesce(daily_device_uninstalls, 0)) as uninstalls

    from google_overview
    group by 1

),

google_unallocated as (

    select
        overview.download_date,
        'google_play' as store,
        '-1' as country_code,
        overview.downloads - coalesce(countries.downloads, 0) as downloads,
        cast(null as {{ dbt.type_bigint() }}) as redownloads,
        overview.updates - coalesce(countries.updates, 0) as updates,
        overview.uninstalls - coalesce(countries.uninstalls, 0) as uninstalls

    from google_overview_daily as overview
    left join google_country_totals as countries
        on overview.download_date = countries.download_date
    where
        overview.downloads != coalesce(countries.downloads, 0)
        or overview.updates != coalesce(countries.updates, 0)
        or overview.uninstalls != coalesce(countries.uninstalls, 0)

),

google as (

    select * from google_countries
    where country_code != '-1'

    union all

    select
        download_date,
        store,
        country_code,
        sum(downloads) as downloads,
        cast(null as {{ dbt.type_bigint() }}) as redownloads,
        sum(updates) as updates,
        sum(uninstalls) as uninstalls

    from (
        select * from google_countries where country_code = '-1'
        union all
        select * from google_unallocated
    ) as unknown_country
    group by 1, 2, 3

),

final as (

    select * from apple
    union all
    select * from google

)

select * from final
