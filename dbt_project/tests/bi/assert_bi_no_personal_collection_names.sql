-- Metabase names personal collections after their owner ("Jane Doe's
-- Personal Collection"): no such name or slug may pass staging or reach a mart.
select 'stg_metabase__collections' as relation, collection_name as leaked
from {{ ref('stg_metabase__collections') }}
where
    lower(collection_name) like '%personal collection%' and collection_name != 'Personal collection'
    or lower(collection_slug) like '%personal_collection%'
    or (personal_owner_id is not null and collection_name != 'Personal collection')

union all

select 'mrt_bi__stale_content' as relation, collection_name as leaked
from {{ ref('mrt_bi__stale_content') }}
where lower(collection_name) like '%''s personal collection%'

union all

select 'mrt_bi__card_usage' as relation, collection_name as leaked
from {{ ref('mrt_bi__card_usage') }}
where lower(collection_name) like '%''s personal collection%'

union all

select 'mrt_bi__collection_permissions' as relation, collection_name as leaked
from {{ ref('mrt_bi__collection_permissions') }}
where lower(collection_name) like '%''s personal collection%'
