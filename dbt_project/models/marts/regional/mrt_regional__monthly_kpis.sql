{{ config(bigquery_table(partition_date='month', granularity='month', cluster_by=['dimension_name', 'kpi_name'])) }}
-- The regional KPIs in long format, one row per month x dimension_name (NAT,
-- REG, ACAD, DEP) x dimension_value x kpi_name. Every level is aggregated from
-- the department rows (unroll_geo_levels), so additive numerators and
-- denominators add up from DEP to NAT, and ratios come from summed parts.
with department_kpis as (

    select * from {{ ref('int_regional__department_monthly_kpis') }}

),

dms_dossiers as (

    select * from {{ ref('int_regional__dms_dossiers') }}

),

departments as (

    select * from {{ ref('int_geo__departments') }}

),

regions as (

    select * from {{ ref('geo_regions') }}

),

academies as (

    select * from {{ ref('geo_academies') }}

),

kpi_catalogue as (

    select * from {{ ref('regional_kpis') }}

),

located_kpis as (

    select
        department_kpis.*,
        departments.region_code,
        departments.academy_code

    from department_kpis
    inner join departments
        on department_kpis.department_code = departments.department_code

),

located_processed_dossiers as (

    select
        dms_dossiers.processed_month,
        {{ dbt.concat(["'dms_'", 'dms_dossiers.applicant_kind', "'_processing_days_median'"]) }} as kpi_name,
        dms_dossiers.processing_days,
        departments.department_code,
        departments.region_code,
        departments.academy_code

    from dms_dossiers
    inner join departments
        on dms_dossiers.department_code = departments.department_code
    where dms_dossiers.processed_month is not null

),

additive as (

    {{ unroll_geo_levels(
        'located_kpis', 'month', ['kpi_name'],
        [('numerator', 'sum(numerator)'), ('denominator', 'sum(denominator)'),
         ('median_value', 'cast(null as ' ~ type_double() ~ ')')]
    ) }}

),

medians as (

    {{ unroll_geo_levels(
        'located_processed_dossiers', 'processed_month', ['kpi_name'],
        [('numerator', 'cast(null as ' ~ dbt.type_numeric() ~ ')'),
         ('denominator', 'cast(count(*) as ' ~ dbt.type_numeric() ~ ')'),
         ('median_value', 'cast(' ~ percentile_cont('processing_days', 0.5) ~ ' as ' ~ type_double() ~ ')')]
    ) }}

),

unrolled as (

    select * from additive
    union all
    select * from medians

),

labelled as (

    select
        unrolled.month,
        unrolled.dimension_name,
        unrolled.dimension_value,
        case unrolled.dimension_name
            when 'NAT' then 'France'
            when 'REG' then regions.region_name
            when 'ACAD' then academies.academy_name
            else departments.department_name
        end as dimension_label,
        unrolled.kpi_name,
        kpi_catalogue.kpi_family,
        kpi_catalogue.kpi_type,
        unrolled.numerator,
        unrolled.denominator,
        case
            when kpi_catalogue.kpi_type in ('count', 'amount')
                then cast(unrolled.numerator as {{ type_double() }})
            when kpi_catalogue.kpi_type = 'median'
                then unrolled.median_value
            else cast({{ safe_divide('unrolled.numerator', 'unrolled.denominator') }} as {{ type_double() }})
        end as kpi

    from unrolled
    left join kpi_catalogue
        on unrolled.kpi_name = kpi_catalogue.kpi_name
    left join regions
        on unrolled.dimension_name = 'REG' and unrolled.dimension_value = regions.region_code
    left join academies
        on unrolled.dimension_name = 'ACAD' and unrolled.dimension_value = academies.academy_code
    left join departments
        on unrolled.dimension_name = 'DEP' and unrolled.dimension_value = departments.department_code

)

select * from labelled
