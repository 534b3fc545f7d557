-- Adage cultural partners with their department as an INSEE code: Adage
-- writes department codes on 3 characters ('075', '02A', '971').
with partners as (

    select * from {{ ref('stg_adage__cultural_partners') }}

),

departments as (

    select * from {{ ref('int_geo__departments') }}

),

coded as (

    select
        partner_id,
        siret,
        venue_id,
        is_active,
        case
            when length(adage_department_code) = 3 and substr(adage_department_code, 1, 1) = '0'
                then substr(adage_department_code, 2, 2)
            else adage_department_code
        end as adage_insee_department_code

    from partners

),

final as (

    select
        coded.partner_id,
        coded.siret,
        coded.venue_id,
        coalesce(cast(coded.is_active as {{ dbt.type_int() }}) = 1, false) as is_active,
        coalesce(departments.department_code, '-1') as department_code

    from coded
    left join departments
        on coded.adage_insee_department_code = departments.department_code

)

select * from final
