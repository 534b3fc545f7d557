-- One row per manually reviewed offer: the compliance model's training set.
-- Features are what the reviewer saw when the offer was submitted (text,
-- subcategory, venue department, stock, price); nothing known only after the
-- review (activity, bookings, later updates) is selected.
with offers as (

    select * from {{ ref('stg_app__offers') }}
    where is_deleted is not true

),

stocks as (

    select * from {{ ref('stg_app__stocks') }}
    where is_deleted is not true

),

venues as (

    select * from {{ ref('stg_app__venues') }}
    where is_deleted is not true

),

subcategories as (

    select * from {{ ref('offer_subcategories') }}

),

offer_stocks as (

    -- quantities and prices as created; an unlimited stock (NULL quantity) stays NULL
    select
        offer_id,
        case when count(*) = count(stock_quantity) then sum(stock_quantity) end as stock_quantity,
        min(price) as stock_price

    from stocks
    group by offer_id

),

reviewed as (

    select * from offers
    where
        last_validation_type = 'MANUAL'
        and validation_status in ('VALIDATED', 'REJECTED')

),

final as (

    select
        reviewed.offer_id,
        reviewed.offer_name,
        reviewed.offer_description,
        reviewed.subcategory_id as offer_subcategory_id,
        subcategories.category_id as offer_category_id,
        coalesce(venues.app_department_code, '-1') as venue_department_code,
        coalesce({{ json_string('reviewed.extra_data', 'musicType') }}, {{ json_string('reviewed.extra_data', 'showType') }}) as offer_type_label,
        coalesce({{ json_string('reviewed.extra_data', 'musicSubType') }}, {{ json_string('reviewed.extra_data', 'showSubType') }}) as offer_sub_type_label,
        {{ json_string('reviewed.extra_data', 'rayon') }} as rayon,
        {{ json_string('reviewed.extra_data', 'macro_rayon') }} as macro_rayon,
        offer_stocks.stock_quantity,
        offer_stocks.stock_price,
        coalesce(subcategories.is_outing, false) as is_outing,
        coalesce(subcategories.is_physical_goods, false) as is_physical_goods,
        case when reviewed.validation_status = 'REJECTED' then 'rejected' else 'validated' end as review_outcome,
        reviewed.validation_status = 'REJECTED' as is_rejected,
        reviewed.created_at as offer_created_at,
        reviewed.last_validated_at as reviewed_at

    from reviewed
    left join offer_stocks
        on reviewed.offer_id = offer_stocks.offer_id
    left join venues
        on reviewed.venue_id = venues.venue_id
    left join subcategories
        on reviewed.subcategory_id = subcategories.subcategory_id

)

select * from final
