with source as (

    select * from {{ source('recommendation', 'past_offer_context') }}

),

renamed as (

    select
        call_id,
        cast(offer_rank as {{ dbt.type_bigint() }}) as offer_rank,
        offer_id as served_offer_id,
        {{ try_cast_to('offer_id', dbt.type_bigint()) }} as offer_id,
        cast(score as {{ type_double() }}) as ranking_score,
        retrieval_origin,
        {{ utc_timestamp('logged_at') }} as shown_at,
        endpoint,
        reco_origin,
        model_origin,
        user_id as served_user_id,
        {{ try_cast_to('user_id', dbt.type_bigint()) }} as user_id,
        {{ try_cast_to('source_offer_id', dbt.type_bigint()) }} as source_offer_id,
        cast(offer_count as {{ dbt.type_bigint() }}) as call_offer_count,
        cast(latency_ms as {{ type_double() }}) as latency_ms,
        is_geolocated,
        request_params,
        log_file,
        cast(log_line as {{ dbt.type_bigint() }}) as log_line,
        {{ utc_timestamp('loaded_at') }} as loaded_at

    from source

)

select * from renamed
