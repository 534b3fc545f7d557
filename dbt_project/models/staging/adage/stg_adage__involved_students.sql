with source as (

    select * from {{ source('adage', 'involved_students') }}

),

renamed as (

    select
        educational_year_adage_id as school_year_adage_id,
        metric_name,
        metric_id,
        metric_key as metric_label,
        level,
        involved_students,
        total_involved_students as total_students,
        institutions as involved_institutions,
        total_institutions,
        {{ utc_timestamp('snapshot_at') }} as snapshot_at

    from source

)

select * from renamed
