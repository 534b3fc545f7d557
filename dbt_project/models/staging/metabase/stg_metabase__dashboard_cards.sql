with source as (

    select * from {{ source('metabase', 'report_dashboardcard') }}

),

renamed as (

    select
        id as dashboard_card_id,
        dashboard_id,
        card_id,
        {{ adapter.quote('row') }} as grid_row,
        col as grid_col,
        size_x,
        size_y,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
