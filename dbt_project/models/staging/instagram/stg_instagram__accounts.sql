with source as (

    select * from {{ source('instagram', 'accounts') }}

),

renamed as (

    select
        account_id,
        cast(export_date as date) as export_date,
        username,
        name as account_name,
        cast(followers_count as bigint) as followers_count,
        cast(follows_count as bigint) as follows_count,
        cast(media_count as bigint) as media_count

    from source

)

select * from renamed
