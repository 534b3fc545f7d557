with source as (

    select * from {{ source('dms', 'dossiers') }}

),

renamed as (

    select
        number as dossier_number,
        id as dossier_id,
        demarche_number,
        demarche_title,
        state as dossier_state,
        archived as is_archived,
        demandeur_type as applicant_type,
        usager_email_hash as applicant_email_hash,
        applicant_postal_code as applicant_postcode,
        applicant_city_code as applicant_citycode,
        applicant_city_name as applicant_city,
        applicant_department_code,
        applicant_region_code,
        demandeur_siret as applicant_siret,
        demandeur_siren as applicant_siren,
        demandeur_naf as applicant_naf_code,
        demandeur_libelle_naf as applicant_naf_label,
        demandeur_forme_juridique as applicant_legal_form,
        demandeur_forme_juridique_code as applicant_legal_form_code,
        demandeur_code_effectif_entreprise as applicant_headcount_code,
        demandeur_siret_siege_social as applicant_head_office_siret,
        groupe_instructeur_number as instructor_group_number,
        groupe_instructeur_label as instructor_group_label,
        {{ utc_timestamp('date_depot') }} as submitted_at,
        {{ utc_timestamp('date_passage_en_construction') }} as in_construction_at,
        {{ utc_timestamp('date_passage_en_instruction') }} as in_instruction_at,
        {{ utc_timestamp('date_traitement') }} as processed_at,
        {{ utc_timestamp('date_derniere_modification') }} as last_modified_at,
        {{ utc_timestamp('extracted_at') }} as extracted_at

    from source

)

select * from renamed
