-- One row per response. Respondents are identified by ids pushed as embedded
-- data (user_id for young people, venue_id / offerer_id for partners), never by email.
with source as (

    select * from {{ source('qualtrics', 'responses') }}

),

renamed as (

    select
        response_id,
        survey_id,
        cast(nullif(user_id, '') as {{ dbt.type_bigint() }}) as user_id,
        cast(nullif(venue_id, '') as {{ dbt.type_bigint() }}) as venue_id,
        cast(nullif(offerer_id, '') as {{ dbt.type_bigint() }}) as offerer_id,
        external_reference,
        deposit_type,
        venue_type_label,
        region as region_name,
        department as department_code,
        distribution_channel,
        user_language,
        finished as is_finished,
        cast(progress as {{ dbt.type_bigint() }}) as progress_percent,
        cast(duration_seconds as {{ dbt.type_bigint() }}) as duration_seconds,
        {{ utc_timestamp('start_date') }} as started_at,
        {{ utc_timestamp('end_date') }} as ended_at,
        {{ utc_timestamp('recorded_date') }} as recorded_at

    from source

)

select * from renamed
