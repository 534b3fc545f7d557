with source as (

    select * from {{ source('batch', 'campaigns') }}

),

renamed as (

    select
        campaign_token,
        operating_system,
        name as campaign_name,
        utm_campaign,
        utm_campaign_version_b,
        is_ab_test,
        tags,
        live as is_live,
        dev_only as is_dev_only,
        from_api as is_from_api,
        {{ utc_timestamp('created_date') }} as created_at,
        {{ utc_timestamp('push_time') }} as push_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
