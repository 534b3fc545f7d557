with source as (

    select * from {{ source('contentful', 'entry') }}

),

renamed as (

    select
        id as entry_id,
        content_type,
        title,
        cast(offer_id as {{ dbt.type_bigint() }}) as offer_id,
        algolia_parameters as algolia_parameters_entry_id,
        display_parameters as display_parameters_entry_id,
        venues_search_parameters as venues_search_parameters_entry_id,
        recommendation_parameters as recommendation_parameters_entry_id,
        home_entry_id,
        layout,
        is_geolocated,
        cast(around_radius as {{ type_double() }}) as around_radius_km,
        cast(price_min as {{ dbt.type_numeric() }}) as price_min,
        cast(price_max as {{ dbt.type_numeric() }}) as price_max,
        youtube_video_id,
        cast(duration_in_minutes as {{ type_double() }}) as duration_in_minutes,
        revision,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at,
        {{ utc_timestamp('last_seen_at') }} as last_seen_at

    from source

)

select * from renamed
