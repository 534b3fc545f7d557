-- Personal data: the street address, birth date and civility (raw columns
-- address, date_of_birth, civility) are deliberately not selected: beside the
-- postcode and city they would single a young person out. Ages come from
-- stg_app__user_birth_dates, which is never materialized.
with source as (

    select * from {{ source('app', 'user') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as user_id,
        email_hash,
        activity,
        roles,
        postal_code,
        city,
        departement_code as app_department_code,
        is_active,
        cast(date_created as timestamp) as created_at,
        cast(date_updated as timestamp) as updated_at,
        _deleted_at is not null as is_deleted,
        cast(_deleted_at as timestamp) as deleted_at

    from source

)

select * from renamed
