with source as (

    select * from {{ source('sirene', 'etablissements') }}

),

renamed as (

    select
        siret,
        siren,
        lookup_status,
        code_postal_etablissement as postcode,
        code_commune_etablissement as citycode,
        libelle_commune_etablissement as city,
        etat_administratif_etablissement as administrative_status,
        activite_principale_etablissement as main_activity_code,
        etablissement_siege as is_head_office,
        is_non_diffusible,
        {{ utc_timestamp('checked_at') }} as checked_at

    from source

)

select * from renamed
