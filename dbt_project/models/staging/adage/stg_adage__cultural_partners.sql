with source as (

    select * from {{ source('adage', 'partenaire_culturel') }}

),

renamed as (

    select
        id as partner_id,
        siret,
        venue_id,
        libelle as partner_name,
        type_id as partner_type_id,
        type_libelle as partner_type_name,
        statut_libelle as legal_status_name,
        label_libelle as label_name,
        domaines as domains,
        domaine_ids as domain_ids,
        site_web as website,
        commune_id as citycode,
        commune_libelle as city,
        commune_departement as adage_department_code,
        academie_id as academy_id,
        academie_libelle as academy_name,
        region_id,
        region_libelle as region_name,
        latitude,
        longitude,
        actif as is_active,
        synchro_pass as is_synchronised_with_pass,
        {{ utc_timestamp('date_modification') }} as modified_at

    from source

)

select * from renamed
