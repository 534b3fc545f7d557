-- One row per home-page module (offer or venue playlist, highlighted offer)
-- x item it shows, with that offer's (or venue's) non-cancelled bookings:
-- in all, and since the module was created. Items sit on the module itself
-- (offerId) or on a parameter block the module links (algoliaParameters
-- offerIds, venuesSearchParameters venueIds).
with entries as (

    select * from {{ ref('stg_contentful__entries') }}

),

relationships as (

    select * from {{ ref('stg_contentful__relationships') }}

),

playlist_items as (

    select * from {{ ref('stg_contentful__playlist_items') }}

),

tags as (

    select * from {{ ref('stg_contentful__tags') }}

),

entry_tags as (

    select * from {{ ref('stg_contentful__entry_tags') }}

),

offers as (

    select * from {{ ref('stg_app__offers') }}
    where is_deleted is not true

),

venues as (

    select * from {{ ref('stg_app__venues') }}
    where is_deleted is not true

),

stocks as (

    select * from {{ ref('stg_app__stocks') }}
    where is_deleted is not true

),

bookings as (

    select * from {{ ref('stg_app__bookings') }}
    where is_deleted is not true

),

last_snapshot as (

    select max(last_seen_at) as last_seen_at
    from entries

),

modules as (

    select *
    from entries
    where content_type not in (
        'homepageNatif',
        'algoliaParameters',
        'displayParameters',
        'venuesSearchParameters',
        'recommendationParameters',
        'categoryBlock'
    )

),

-- the entries whose items a module shows: itself and the blocks it links
item_owners as (

    select
        entry_id as module_entry_id,
        entry_id as owner_entry_id

    from modules

    union all

    select
        relationships.parent_entry_id as module_entry_id,
        relationships.child_id as owner_entry_id

    from relationships
    inner join modules
        on relationships.parent_entry_id = modules.entry_id
    where
        relationships.child_type = 'Entry'
        and relationships.is_resolved

),

module_items as (

    select
        item_owners.module_entry_id,
        playlist_items.item_type,
        coalesce(playlist_items.offer_id, playlist_items.venue_id) as item_id,
        min(playlist_items.item_position) as item_position

    from item_owners
    inner join playlist_items
        on item_owners.owner_entry_id = playlist_items.entry_id
    group by 1, 2, 3

),

home_pages as (

    select
        relationships.child_id as module_entry_id,
        count(distinct relationships.parent_entry_id) as home_pages,
        -- ordered: without it the list's order is whatever the warehouse's plan gives
        {{ dbt.listagg('distinct homes.title', "', '", 'order by homes.title') }} as home_page_titles

    from relationships
    inner join entries as homes
        on relationships.parent_entry_id = homes.entry_id
    where
        relationships.field_name = 'modules'
        and homes.content_type = 'homepageNatif'
    group by 1

),

module_tags as (

    select
        entry_tags.entry_id as module_entry_id,
        {{ dbt.listagg('distinct tags.tag_name', "', '", 'order by tags.tag_name') }} as tag_names

    from entry_tags
    inner join tags
        on entry_tags.tag_id = tags.tag_id
    group by 1

),

booked as (

    select
        bookings.booking_id,
        bookings.created_at,
        stocks.offer_id,
        bookings.venue_id

    from bookings
    inner join stocks
        on bookings.stock_id = stocks.stock_id
    where not bookings.is_cancelled

),

-- offers and venues joined separately: equality joins only (BigQuery refuses OR in an outer join)
item_booked as (

    select
        module_items.module_entry_id,
        module_items.item_type,
        module_items.item_id,
        booked.booking_id,
        booked.created_at

    from module_items
    left join booked
        on module_items.item_id = booked.offer_id
    where module_items.item_type = 'offer'

    union all

    select
        module_items.module_entry_id,
        module_items.item_type,
        module_items.item_id,
        booked.booking_id,
        booked.created_at

    from module_items
    left join booked
        on module_items.item_id = booked.venue_id
    where module_items.item_type = 'venue'

),

item_bookings as (

    select
        item_booked.module_entry_id,
        item_booked.item_type,
        item_booked.item_id,
        count(item_booked.booking_id) as bookings,
        sum(case when item_booked.created_at >= modules.created_at then 1 else 0 end) as bookings_since_module_created

    from item_booked
    inner join modules
        on item_booked.module_entry_id = modules.entry_id
    group by 1, 2, 3

),

final as (

    select
        modules.entry_id as module_entry_id,
        modules.content_type as module_type,
        modules.title as module_title,
        modules.created_at as module_created_at,
        modules.updated_at as module_updated_at,
        modules.last_seen_at = last_snapshot.last_seen_at as is_published,
        coalesce(home_pages.home_pages, 0) as home_pages,
        home_pages.home_page_titles,
        module_tags.tag_names,
        module_items.item_type,
        module_items.item_id,
        module_items.item_position,
        case when module_items.item_type = 'offer' then module_items.item_id end as offer_id,
        offers.offer_name,
        offers.subcategory_id as offer_subcategory_id,
        case when module_items.item_type = 'venue' then module_items.item_id end as venue_id,
        venues.venue_name,
        item_bookings.bookings,
        item_bookings.bookings_since_module_created

    from module_items
    inner join modules
        on module_items.module_entry_id = modules.entry_id
    cross join last_snapshot
    left join home_pages
        on module_items.module_entry_id = home_pages.module_entry_id
    left join module_tags
        on module_items.module_entry_id = module_tags.module_entry_id
    left join offers
        on module_items.item_type = 'offer' and module_items.item_id = offers.offer_id
    left join venues
        on module_items.item_type = 'venue' and module_items.item_id = venues.venue_id
    left join item_bookings
        on
            module_items.module_entry_id = item_bookings.module_entry_id
            and module_items.item_type = item_bookings.item_type
            and module_items.item_id = item_bookings.item_id

)

select * from final
