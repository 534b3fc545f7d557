-- One row per app event of the Firebase Analytics export (GA4 schema), its parameters flattened.
with source as (

    -- the columns named, not *: the BigQuery emulator cannot bind a correlated UNNEST beside string
    -- functions when the import CTE is a select * (real BigQuery can).
    -- event_date is typed here, below the parameters read out of each event: DuckDB pushes a filter on it
    -- (an incremental model's lookback) down to the scan from here, but not through that projection's list
    -- lambdas from above it, where every event's parameters would be read first (23 s for one day at scale 200)
    select
        cast({{ dbt.concat([
            "substr(event_date, 1, 4)", "'-'", "substr(event_date, 5, 2)", "'-'", "substr(event_date, 7, 2)",
        ]) }} as date) as event_date,
        event_timestamp,
        event_name,
        event_params,
        event_bundle_sequence_id,
        user_id,
        user_pseudo_id,
        platform,
        geo,
        app_info

    from {{ source('firebase', 'events') }}

),

-- the parameters read out of event_params (and the nested records), then typed and named below;
-- RF03 off here: DuckDB's list lambda (param.key) reads to sqlfluff as a qualified column
params as ( -- noqa: disable=RF03

    select
        event_date,
        event_timestamp,
        event_name,
        event_bundle_sequence_id,
        user_id,
        user_pseudo_id,
        platform,
        {{ event_param('event_params', 'offerId', 'int_value') }} as offer_id_number,
        {{ event_param('event_params', 'offerId', 'string_value') }} as offer_id_text,
        {{ event_param('event_params', 'origin', 'string_value') }} as event_origin,
        {{ event_param('event_params', 'firebase_screen', 'string_value') }} as screen,
        {{ event_param('event_params', 'ga_session_id', 'int_value') }} as session_id,
        {{ event_param('event_params', 'price', 'double_value') }} as price_double,
        {{ event_param('event_params', 'price', 'float_value') }} as price_float,
        {{ event_param('event_params', 'price', 'int_value') }} as price_int,
        {{ record_field('app_info', 'version') }} as app_version,
        {{ record_field('geo', 'country') }} as country

    from source

), -- noqa: enable=RF03

renamed as (

    select
        {{ dbt.hash(dbt.concat([
            "coalesce(user_pseudo_id, '')", "'|'",
            "cast(event_timestamp as " ~ dbt.type_string() ~ ")", "'|'",
            "event_name", "'|'",
            "coalesce(cast(event_bundle_sequence_id as " ~ dbt.type_string() ~ "), '')",
        ])) }} as event_key,
        event_date,
        {{ timestamp_from_micros('event_timestamp') }} as event_at,
        event_name,
        {{ try_cast_to('user_id', dbt.type_bigint()) }} as user_id,
        user_pseudo_id,
        platform,
        -- the app sends offerId as a number; older versions sent it as text
        coalesce(offer_id_number, {{ try_cast_to('offer_id_text', dbt.type_bigint()) }}) as offer_id,
        event_origin,
        screen,
        session_id,
        -- a number param lands in whichever slot the SDK call chose
        coalesce(price_double, price_float, cast(price_int as {{ type_double() }})) as price,
        cast(event_bundle_sequence_id as {{ dbt.type_bigint() }}) as event_bundle_sequence_id,
        app_version,
        country

    from params

)

select * from renamed
