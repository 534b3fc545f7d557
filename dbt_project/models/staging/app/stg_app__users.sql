-- Personal data: the street address (raw column address) is deliberately not
-- selected; only the postcode, city and department are kept.
with source as (

    select * from {{ source('app', 'user') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as user_id,
        email_hash,
        civility,
        activity,
        roles,
        postal_code,
        city,
        departement_code as app_department_code,
        is_active,
        cast(date_of_birth as date) as birth_date,
        cast(date_created as timestamp) as created_at,
        cast(date_updated as timestamp) as updated_at

    from source

)

select * from renamed
