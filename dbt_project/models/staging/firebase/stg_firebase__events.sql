-- One row per app event of the Firebase Analytics export (GA4 schema), its parameters flattened.
with source as (

    select * from {{ source('firebase', 'events') }}

),

renamed as (

    select
        {{ dbt.hash(dbt.concat([
            "coalesce(user_pseudo_id, '')", "'|'",
            "cast(event_timestamp as " ~ dbt.type_string() ~ ")", "'|'",
            "event_name", "'|'",
            "coalesce(cast(event_bundle_sequence_id as " ~ dbt.type_string() ~ "), '')",
        ])) }} as event_key,
        cast({{ dbt.concat([
            "substr(event_date, 1, 4)", "'-'", "substr(event_date, 5, 2)", "'-'", "substr(event_date, 7, 2)",
        ]) }} as date) as event_date,
        {{ timestamp_from_micros('event_timestamp') }} as event_at,
        event_name,
        {{ try_cast_to('user_id', dbt.type_bigint()) }} as user_id,
        user_pseudo_id,
        platform,
        -- the app sends offerId as a number; older versions sent it as text
        coalesce(
            {{ event_param('event_params', 'offerId', 'int_value') }},
            {{ try_cast_to(event_param('event_params', 'offerId', 'string_value'), dbt.type_bigint()) }}
        ) as offer_id,
        {{ event_param('event_params', 'origin', 'string_value') }} as event_origin,
        {{ event_param('event_params', 'firebase_screen', 'string_value') }} as screen,
        {{ event_param('event_params', 'ga_session_id', 'int_value') }} as session_id,
        -- a number param lands in whichever slot the SDK call chose
        coalesce(
            {{ event_param('event_params', 'price', 'double_value') }},
            {{ event_param('event_params', 'price', 'float_value') }},
            cast({{ event_param('event_params', 'price', 'int_value') }} as {{ type_double() }})
        ) as price,
        cast(event_bundle_sequence_id as {{ dbt.type_bigint() }}) as event_bundle_sequence_id,
        {{ record_field('app_info', 'version') }} as app_version,
        {{ record_field('geo', 'country') }} as country

    from source

)

select * from renamed
