with source as (

    select * from {{ source('metabase', 'database') }}

),

renamed as (

    select
        id as database_id,
        name as database_name,
        engine,
        is_sample,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
