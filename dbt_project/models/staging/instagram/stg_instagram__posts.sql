with source as (

    select * from {{ source('instagram', 'posts') }}

),

renamed as (

    select
        post_id,
        account_id,
        {{ utc_timestamp('posted_at') }} as posted_at,
        caption,
        media_type,
        media_product_type,
        permalink,
        url_id,
        cast(export_date as date) as export_date,
        insights_available as has_insights,
        cast(views as bigint) as views,
        cast(reach as bigint) as reach,
        cast(likes as bigint) as likes,
        cast(comments as bigint) as comments,
        cast(shares as bigint) as shares,
        cast(saved as bigint) as saved,
        cast(total_interactions as bigint) as total_interactions,
        cast(follows as bigint) as follows,
        cast(profile_visits as bigint) as profile_visits,
        cast(profile_activity as bigint) as profile_activity

    from source

)

select * from renamed
