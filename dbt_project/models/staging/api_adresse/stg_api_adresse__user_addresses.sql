with source as (

    select * from {{ source('api_adresse', 'user_address') }}

),

renamed as (

    select
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        nullif(trim(result_citycode), '') as citycode,
        nullif(trim(result_postcode), '') as postcode,
        nullif(trim(result_city), '') as city,
        nullif(trim(result_context), '') as context,
        nullif(trim(result_status), '') as status,
        latitude,
        longitude,
        result_score as score,
        {{ utc_timestamp('geocoded_at') }} as geocoded_at

    from source

)

select * from renamed
