-- One row per ticket. Custom fields arrive pivoted by title (cf_* columns);
-- multi-select fields hold their values joined with ','.
with source as (

    select * from {{ source('zendesk', 'tickets') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as ticket_id,
        status as ticket_status,
        priority as ticket_priority,
        type as ticket_type,
        via_channel,
        satisfaction_score,
        cast(requester_id as {{ dbt.type_bigint() }}) as requester_id,
        cast(assignee_id as {{ dbt.type_bigint() }}) as assignee_id,
        cast(group_id as {{ dbt.type_bigint() }}) as group_id,
        cast(brand_id as {{ dbt.type_bigint() }}) as brand_id,
        cast(ticket_form_id as {{ dbt.type_bigint() }}) as ticket_form_id,
        cf_sujet as subject_category,
        cf_probleme as issue,
        cf_typologie_support_native as typology_support_native,
        cf_typologie_support_pro as typology_support_pro,
        cf_typologie_fraude_native as typology_fraud_native,
        cf_partenaire_technique as technical_partner,
        cf_siren_siret as siren_siret,
        cf_niveau as support_level,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
