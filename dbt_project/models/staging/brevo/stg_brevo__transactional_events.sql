with source as (

    select * from {{ source('brevo', 'transactional_events') }}

),

renamed as (

    select
        message_id,
        event as event_type,
        {{ utc_timestamp('date') }} as event_at,
        email_hash,
        template_id,
        tag as template_tag

    from source

)

select * from renamed
