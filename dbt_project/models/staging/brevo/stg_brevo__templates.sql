with source as (

    select * from {{ source('brevo', 'templates') }}

),

renamed as (

    select
        id as template_id,
        name as template_name,
        tag as template_tag,
        is_active,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('modified_at') }} as modified_at

    from source

)

select * from renamed
