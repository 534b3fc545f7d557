{#- The unified marketing columns of int_marketing__channel_daily_unioned and
    mrt_marketing__daily_channel_performance, in order: (name, type). Keys
    first (every source must map them), then the measures (NULL where the
    source does not measure it). -#}
{% macro marketing_unified_keys() -%}
    {{ return([
        ('activity_date', 'date'),
        ('channel', dbt.type_string()),
        ('channel_type', dbt.type_string()),
        ('platform', dbt.type_string()),
        ('utm_campaign', dbt.type_string()),
    ]) }}
{%- endmacro %}

{% macro marketing_unified_measures() -%}
    {{ return([
        ('sends_or_impressions', dbt.type_bigint()),
        ('deliveries', dbt.type_bigint()),
        ('opens_or_views', dbt.type_bigint()),
        ('clicks', dbt.type_bigint()),
        ('installs', dbt.type_bigint()),
        ('sign_ups', dbt.type_bigint()),
        ('new_beneficiaries', dbt.type_bigint()),
        ('first_bookings', dbt.type_bigint()),
        ('cost', dbt.type_numeric()),
    ]) }}
{%- endmacro %}

{#- How each vendor's own fields map onto the unified columns: one entry per
    input of int_marketing__channel_daily_unioned (the import CTE of that
    name), each value a SQL expression over that input's columns. A unified
    measure a vendor does not report is left out (NULL), never guessed.
    AppsFlyer's daily report gives the audience and spend of bought media
    only (push and email sends come from Batch and Brevo) and organic
    installs (attributed installs are counted one by one from
    appsflyer_installs, with what their users did next). -#}
{% macro marketing_field_mapping() -%}
    {{ return({
        'appsflyer_daily_report': {
            'activity_date': 'report_date',
            'channel': 'channel',
            'channel_type': 'channel_type',
            'platform': 'platform',
            'utm_campaign': 'utm_campaign',
            'sends_or_impressions': "case when channel_type = 'paid' then impressions end",
            'clicks': "case when channel_type = 'paid' then clicks end",
            'installs': "case when channel_type = 'organic' then installs end",
            'cost': "case when channel_type = 'paid' then total_cost end",
        },
        'appsflyer_installs': {
            'activity_date': 'install_date',
            'channel': 'channel',
            'channel_type': 'channel_type',
            'platform': 'platform',
            'utm_campaign': 'utm_campaign',
            'installs': '1',
            'sign_ups': 'case when is_sign_up then 1 else 0 end',
            'new_beneficiaries': 'case when is_new_beneficiary then 1 else 0 end',
            'first_bookings': 'case when has_first_booking_within_30_days then 1 else 0 end',
        },
        'batch_campaign_stats': {
            'activity_date': 'stats_date',
            'channel': "'push'",
            'channel_type': "'owned'",
            'platform': 'operating_system',
            'utm_campaign': "coalesce(utm_campaign, 'none')",
            'sends_or_impressions': 'sent',
            'opens_or_views': 'direct_open + influenced_open',
            'clicks': 'direct_open',
        },
        'brevo_newsletters': {
            'activity_date': 'cast(sent_at as date)',
            'channel': "'email'",
            'channel_type': "'owned'",
            'platform': "'all'",
            'utm_campaign': "coalesce(utm_campaign, 'none')",
            'sends_or_impressions': 'sent',
            'deliveries': 'delivered',
            'opens_or_views': 'unique_views',
            'clicks': 'unique_clicks',
        },
        'social_account_daily': {
            'activity_date': 'activity_date',
            'channel': 'network',
            'channel_type': "'social'",
            'platform': "'all'",
            'utm_campaign': "'none'",
            'sends_or_impressions': 'reach',
            'opens_or_views': 'views',
            'clicks': 'engagements',
        },
    }) }}
{%- endmacro %}

{#- The select list mapping `source_name`'s fields onto the unified columns,
    each cast to its unified type. Fails at compile time on a missing key or
    a mapped column that is not a unified one (a typo would silently drop a
    measure otherwise). -#}
{% macro marketing_unified_select(source_name) -%}
    {%- set mapping = marketing_field_mapping()[source_name] -%}
    {%- set keys = marketing_unified_keys() -%}
    {%- set measures = marketing_unified_measures() -%}
    {%- set known = (keys + measures) | map(attribute=0) | list -%}
    {%- for name in mapping if name not in known -%}
        {{ exceptions.raise_compiler_error("marketing_field_mapping['" ~ source_name ~ "'] maps unknown column '" ~ name ~ "'") }}
    {%- endfor -%}
    {%- for name, type in keys if name not in mapping -%}
        {{ exceptions.raise_compiler_error("marketing_field_mapping['" ~ source_name ~ "'] lacks the key '" ~ name ~ "'") }}
    {%- endfor -%}
    '{{ source_name }}' as source_name,
    {%- for name, type in keys + measures %}
    cast({{ mapping.get(name, 'null') }} as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
