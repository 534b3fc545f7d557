-- Ephemeral on purpose: the birth date is only inlined into the queries that
-- turn it into an age on a given date (the support age band), so no schema
-- past raw ever stores it.
{{ config(materialized='ephemeral') }}

with source as (

    select * from {{ source('app', 'user') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as user_id,
        cast(date_of_birth as date) as birth_date

    from source

)

select * from renamed
