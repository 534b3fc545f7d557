-- One row per macro and export date: the usage counts Zendesk reported that day.
with source as (

    select * from {{ source('zendesk', 'macros') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as macro_id,
        cast(export_date as date) as export_date,
        title as macro_title,
        tags as macro_tags,
        active as is_active,
        cast(usage_1h as {{ dbt.type_bigint() }}) as usage_1h,
        cast(usage_24h as {{ dbt.type_bigint() }}) as usage_24h,
        cast(usage_7d as {{ dbt.type_bigint() }}) as usage_7d,
        cast(usage_30d as {{ dbt.type_bigint() }}) as usage_30d,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
