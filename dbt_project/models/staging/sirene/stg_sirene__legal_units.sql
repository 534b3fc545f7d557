with source as (

    select * from {{ source('sirene', 'unites_legales') }}

),

renamed as (

    select
        siren,
        lookup_status,
        denomination_unite_legale as legal_unit_name,
        categorie_juridique_unite_legale as legal_category_code,
        activite_principale_unite_legale as main_activity_code,
        etat_administratif_unite_legale as administrative_status,
        categorie_entreprise as company_category,
        tranche_effectifs_unite_legale as headcount_band,
        is_non_diffusible,
        cast(date_creation_unite_legale as date) as created_date,
        {{ utc_timestamp('checked_at') }} as checked_at

    from source

)

select * from renamed
