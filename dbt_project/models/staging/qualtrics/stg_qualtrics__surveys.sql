-- survey_kind: the impact (IR) surveys of young beneficiaries and of partners, by name.
with source as (

    select * from {{ source('qualtrics', 'surveys') }}

),

renamed as (

    select
        id as survey_id,
        name as survey_name,
        case
            when lower(name) like 'ir jeunes%' then 'young_users'
            when lower(name) like 'ir acteurs%' then 'partners'
            else 'other'
        end as survey_kind,
        is_active,
        {{ utc_timestamp('creation_date') }} as created_at,
        {{ utc_timestamp('last_modified') }} as last_modified_at

    from source

)

select * from renamed
