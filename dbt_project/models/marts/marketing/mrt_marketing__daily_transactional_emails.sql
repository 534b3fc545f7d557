-- One row per Brevo transactional template x day: the messages delivered that
-- day and how many of them were opened or led to an unsubscription (whenever
-- it happened), so rates compare like with like. A message with no delivered
-- event (pulled before Brevo logged it) is dated by its first event.
-- The events are folded into messages incrementally upstream
-- (int_marketing__transactional_messages); this sums messages, far fewer.
with messages as (

    select * from {{ ref('int_marketing__transactional_messages') }}

),

templates as (

    select * from {{ ref('stg_brevo__templates') }}

),

daily as (

    select
        sent_date,
        template_id,
        min(template_tag) as template_tag,
        count(*) as messages,
        sum(is_delivered) as delivered,
        sum(is_opened) as opened,
        sum(is_unsubscribed) as unsubscribed

    from messages
    group by 1, 2

),

final as (

    select
        daily.sent_date,
        daily.template_id,
        templates.template_name,
        coalesce(templates.template_tag, daily.template_tag) as template_tag,
        templates.is_active as is_template_active,
        daily.messages,
        daily.delivered,
        daily.opened,
        daily.unsubscribed,
        {{ safe_divide('daily.opened', 'daily.messages') }} as open_rate,
        {{ safe_divide('daily.unsubscribed', 'daily.messages') }} as unsubscribe_rate

    from daily
    left join templates
        on daily.template_id = templates.template_id

)

select * from final
