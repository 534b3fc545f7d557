with source as (

    select * from {{ source('downloads', 'apple_sales') }}

),

renamed as (

    select
        row_key as sales_row_key,
        cast(report_date as date) as report_date,
        apple_identifier,
        sku,
        title as app_title,
        product_type_identifier,
        country_code,
        device,
        customer_currency,
        cast(units as bigint) as units,
        developer_proceeds,
        {{ utc_timestamp('loaded_at') }} as loaded_at

    from source

)

select * from renamed
