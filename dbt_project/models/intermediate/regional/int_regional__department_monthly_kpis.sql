-- The additive building blocks of the regional KPIs: one row per month x
-- department x kpi_name with a numerator and a denominator that can be summed
-- over departments (the mart rolls them up to academies, regions and the
-- nation). Monthly KPIs are dense over the month spine and every department
-- of the seed (zeros where nothing happened); school-year KPIs (Adage) sit on
-- 1 September of the school year. The non-additive median of DMS processing
-- times is computed in the mart from int_regional__dms_dossiers.
-- A table, not a view: the mart and the data tests below all read it.
{{ config(materialized='table') }}
{%- set user_kpis = [
    ('beneficiaries_new', 'beneficiaries_new', none),
    ('beneficiaries_active', 'beneficiaries_active', none),
    ('beneficiaries_cumulative', 'beneficiaries_cumulative', none),
    ('beneficiaries_ever_booked_share', 'beneficiaries_ever_booked', 'beneficiaries_cumulative'),
    ('beneficiaries_avg_amount_spent', 'amount_spent_to_date', 'beneficiaries_cumulative'),
    ('beneficiaries_credit_spent_share', 'amount_spent_to_date', 'credit_granted_to_date'),
    ('bookings_user_side', 'bookings', none),
    ('spend_user_side', 'amount_spent', none),
] %}

with months as (

    select * from {{ ref('int_regional__months') }}

),

departments as (

    select * from {{ ref('int_geo__departments') }}

),

kpi_catalogue as (

    select * from {{ ref('regional_kpis') }}

),

subcategories as (

    select * from {{ ref('offer_subcategories') }}

),

user_monthly_activity as (

    select * from {{ ref('int_regional__user_monthly_activity') }}

),

bookings as (

    select * from {{ ref('int_regional__bookings') }}
    where is_deleted is not true  -- null: merged before deletes were tracked

),

user_location as (

    select * from {{ ref('int_geo__user_location') }}

),

venue_location as (

    select * from {{ ref('int_geo__venue_location') }}

),

offerer_location as (

    select * from {{ ref('int_geo__offerer_location') }}

),

offers as (

    select * from {{ ref('stg_app__offers') }}
    where is_deleted is not true

),

stocks as (

    select * from {{ ref('stg_app__stocks') }}
    where is_deleted is not true

),

app_events as (

    select * from {{ ref('stg_firebase__events') }}

),

adage_partners as (

    select * from {{ ref('int_regional__adage_partners') }}

),

adage_school_years as (

    select * from {{ ref('int_regional__adage_school_years') }}

),

dms_dossiers as (

    select * from {{ ref('int_regional__dms_dossiers') }}

),

survey_responses as (

    select * from {{ ref('int_regional__survey_responses') }}

),

spine as (

    select
        months.month,
        departments.department_code

    from months
    cross join departments

),

-- beneficiaries and bookings, by the user's current department ---------------

beneficiary_months as (

    select
        user_id,
        min(case when is_new_beneficiary then activity_month end) as first_deposit_month,
        min(case when bookings > 0 then activity_month end) as first_booking_month

    from user_monthly_activity
    group by 1

),

user_activity_by_department as (

    select
        user_monthly_activity.activity_month as month,
        user_location.department_code,
        sum(case when user_monthly_activity.is_new_beneficiary then 1 else 0 end) as beneficiaries_new,
        sum(case when user_monthly_activity.is_active_beneficiary then 1 else 0 end) as beneficiaries_active,
        sum(user_monthly_activity.bookings) as bookings,
        sum(user_monthly_activity.amount_spent) as amount_spent,
        sum(user_monthly_activity.credit_granted) as credit_granted

    from user_monthly_activity
    inner join user_location
        on user_monthly_activity.user_id = user_location.user_id
    group by 1, 2

),

first_bookings_by_department as (

    select
        beneficiary_months.first_booking_month as month,
        user_location.department_code,
        count(*) as first_bookers

    from beneficiary_months
    inner join user_location
        on beneficiary_months.user_id = user_location.user_id
    where beneficiary_months.first_booking_month is not null
    group by 1, 2

),

user_side_dense as (

    select
        spine.month,
        spine.department_code,
        coalesce(activity.beneficiaries_new, 0) as beneficiaries_new,
        coalesce(activity.beneficiaries_active, 0) as beneficiaries_active,
        coalesce(activity.bookings, 0) as bookings,
        coalesce(activity.amount_spent, 0) as amount_spent,
        coalesce(activity.credit_granted, 0) as credit_granted,
        coalesce(first_bookings.first_bookers, 0) as first_bookers

    from spine
    left join user_activity_by_department as activity
        on
            spine.month = activity.month
            and spine.department_code = activity.department_code
    left join first_bookings_by_department as first_bookings
        on
            spine.month = first_bookings.month
            and spine.department_code = first_bookings.department_code

),

user_side_cumulated as (

    select
        *,
        sum(beneficiaries_new) over (
            partition by department_code order by month rows between unbounded preceding and current row
        ) as beneficiaries_cumulative,
        sum(first_bookers) over (
            partition by department_code order by month rows between unbounded preceding and current row
        ) as beneficiaries_ever_booked,
        sum(amount_spent) over (
            partition by department_code order by month rows between unbounded preceding and current row
        ) as amount_spent_to_date,
        sum(credit_granted) over (
            partition by department_code order by month rows between unbounded preceding and current row
        ) as credit_granted_to_date

    from user_side_dense

),

user_side_kpis as (

    {% for kpi_name, numerator, denominator in user_kpis %}
        select
            month,
            department_code,
            '{{ kpi_name }}' as kpi_name,
            cast({{ numerator }} as {{ dbt.type_numeric() }}) as numerator,
            cast({{ denominator if denominator else 'null' }} as {{ dbt.type_numeric() }}) as denominator
        from user_side_cumulated
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

-- engagement: offer consultations in the app, by the user's current department

consultations as (

    select
        {{ month_start('app_events.event_at') }} as month,
        user_location.department_code,
        count(*) as consultations

    from app_events
    inner join user_location
        on app_events.user_id = user_location.user_id
    where app_events.event_name = 'ConsultOffer'
    group by 1, 2

),

engagement_kpis as (

    select
        coalesce(spine.month, consultations.month) as month,
        coalesce(spine.department_code, consultations.department_code) as department_code,
        'offer_consultations' as kpi_name,
        cast(coalesce(consultations.consultations, 0) as {{ dbt.type_numeric() }}) as numerator,
        cast(null as {{ dbt.type_numeric() }}) as denominator

    from spine
    full outer join consultations
        on
            spine.month = consultations.month
            and spine.department_code = consultations.department_code

),

-- booking mix: share of the bookings of each offer category ------------------

live_bookings as (

    select
        bookings.*,
        user_location.department_code as user_department_code

    from bookings
    inner join user_location
        on bookings.user_id = user_location.user_id
    where not bookings.is_cancelled

),

categories as (

    select distinct category_id from subcategories

),

category_bookings as (

    select
        booking_month as month,
        user_department_code as department_code,
        offer_category_id as category_id,
        count(*) as bookings

    from live_bookings
    group by 1, 2, 3

),

booking_mix_kpis as (

    select
        user_side_dense.month,
        user_side_dense.department_code,
        {{ dbt.concat(["'booking_mix_share__'", 'lower(categories.category_id)']) }} as kpi_name,
        cast(coalesce(category_bookings.bookings, 0) as {{ dbt.type_numeric() }}) as numerator,
        cast(user_side_dense.bookings as {{ dbt.type_numeric() }}) as denominator

    from user_side_dense
    cross join categories
    left join category_bookings
        on
            user_side_dense.month = category_bookings.month
            and user_side_dense.department_code = category_bookings.department_code
            and categories.category_id = category_bookings.category_id

),

-- venue side and supply, by the venue's (or offerer's) location --------------

venue_side_bookings as (

    select
        live_bookings.booking_month as month,
        venue_location.department_code,
        count(*) as bookings,
        sum(live_bookings.booking_amount) as amount_spent,
        count(distinct live_bookings.venue_id) as active_venues

    from live_bookings
    inner join venue_location
        on live_bookings.venue_id = venue_location.venue_id
    group by 1, 2

),

active_offerers as (

    select
        live_bookings.booking_month as month,
        offerer_location.department_code,
        count(distinct live_bookings.offerer_id) as active_offerers

    from live_bookings
    inner join offerer_location
        on live_bookings.offerer_id = offerer_location.offerer_id
    group by 1, 2

),

offers_created as (

    select
        {{ month_start('offers.created_at') }} as month,
        venue_location.department_code,
        count(*) as offers_created

    from offers
    inner join venue_location
        on offers.venue_id = venue_location.venue_id
    group by 1, 2

),

-- an offer is bookable at the end of a month when it was validated by then and
-- one of its stocks existed by then and is not an event that has already begun
month_ends as (

    select
        month,
        cast(cast({{ dbt.dateadd('month', 1, 'month') }} as date) as timestamp) as next_month_start

    from months

),

bookable_offers as (

    select
        month_ends.month,
        venue_location.department_code,
        count(distinct offers.offer_id) as bookable_offers

    from offers
    inner join stocks
        on offers.offer_id = stocks.offer_id
    inner join venue_location
        on offers.venue_id = venue_location.venue_id
    inner join month_ends
        on
            offers.last_validated_at < month_ends.next_month_start
            and stocks.created_at < month_ends.next_month_start
            and (stocks.beginning_at is null or stocks.beginning_at >= month_ends.next_month_start)
    where offers.validation_status = 'VALIDATED'
    group by 1, 2

),

supply_dense as (

    select
        spine.month,
        spine.department_code,
        coalesce(venue_side_bookings.bookings, 0) as bookings_venue_side,
        coalesce(venue_side_bookings.amount_spent, 0) as spend_venue_side,
        coalesce(venue_side_bookings.active_venues, 0) as venues_active,
        coalesce(active_offerers.active_offerers, 0) as offerers_active,
        coalesce(bookable_offers.bookable_offers, 0) as offers_bookable

    from spine
    left join venue_side_bookings
        on
            spine.month = venue_side_bookings.month
            and spine.department_code = venue_side_bookings.department_code
    left join active_offerers
        on
            spine.month = active_offerers.month
            and spine.department_code = active_offerers.department_code
    left join bookable_offers
        on
            spine.month = bookable_offers.month
            and spine.department_code = bookable_offers.department_code

),

supply_kpis as (

    {% for kpi_name in ['bookings_venue_side', 'spend_venue_side', 'venues_active', 'offerers_active', 'offers_bookable'] %}
        select
            month,
            department_code,
            '{{ kpi_name }}' as kpi_name,
            cast({{ kpi_name }} as {{ dbt.type_numeric() }}) as numerator,
            cast(null as {{ dbt.type_numeric() }}) as denominator
        from supply_dense
        union all
    {% endfor %}
    -- offers are created before the first deposit too: not limited to the spine
    select
        coalesce(spine.month, offers_created.month) as month,
        coalesce(spine.department_code, offers_created.department_code) as department_code,
        'offers_created' as kpi_name,
        cast(coalesce(offers_created.offers_created, 0) as {{ dbt.type_numeric() }}) as numerator,
        cast(null as {{ dbt.type_numeric() }}) as denominator
    from spine
    full outer join offers_created
        on
            spine.month = offers_created.month
            and spine.department_code = offers_created.department_code

),

-- collective (Adage), per school year ------------------------------------------

current_school_year as (

    select max(school_year_start_month) as month from adage_school_years

),

adage_kpis as (

    select
        current_school_year.month,
        departments.department_code,
        'adage_cultural_partners' as kpi_name,
        cast(count(adage_partners.partner_id) as {{ dbt.type_numeric() }}) as numerator,
        cast(null as {{ dbt.type_numeric() }}) as denominator
    from departments
    cross join current_school_year
    left join adage_partners
        on
            departments.department_code = adage_partners.department_code
            and adage_partners.is_active
    group by 1, 2

    union all

    select
        school_year_start_month as month,
        department_code,
        'adage_involved_students_share' as kpi_name,
        cast(sum(involved_students) as {{ dbt.type_numeric() }}) as numerator,
        cast(sum(total_students) as {{ dbt.type_numeric() }}) as denominator
    from adage_school_years
    group by 1, 2

    union all

    select
        school_year_start_month as month,
        department_code,
        'adage_involved_institutions_share' as kpi_name,
        cast(sum(involved_institutions) as {{ dbt.type_numeric() }}) as numerator,
        cast(sum(total_institutions) as {{ dbt.type_numeric() }}) as denominator
    from adage_school_years
    group by 1, 2

),

-- DMS dossiers and Qualtrics surveys, sparse: densified below ------------------

dms_kpis as (

    select
        submitted_month as month,
        department_code,
        {{ dbt.concat(["'dms_'", 'applicant_kind', "'_dossiers_submitted'"]) }} as kpi_name,
        cast(count(*) as {{ dbt.type_numeric() }}) as numerator,
        cast(null as {{ dbt.type_numeric() }}) as denominator
    from dms_dossiers
    group by 1, 2, 3

    union all

    select
        processed_month as month,
        department_code,
        {{ dbt.concat(["'dms_'", 'applicant_kind', "'_dossiers_'", "case dossier_state when 'accepte' then 'accepted' else 'refused' end"]) }}
            as kpi_name,
        cast(count(*) as {{ dbt.type_numeric() }}) as numerator,
        cast(null as {{ dbt.type_numeric() }}) as denominator
    from dms_dossiers
    where dossier_state in ('accepte', 'refuse')
    group by 1, 2, 3

),

satisfaction_kpis as (

    select
        response_month as month,
        department_code,
        {{ dbt.concat(["'satisfaction_'", 'respondent_kind', "'_responses'"]) }} as kpi_name,
        cast(count(*) as {{ dbt.type_numeric() }}) as numerator,
        cast(null as {{ dbt.type_numeric() }}) as denominator
    from survey_responses
    group by 1, 2, 3

    union all

    select
        response_month as month,
        department_code,
        {{ dbt.concat(["'satisfaction_'", 'respondent_kind', "'_nps'"]) }} as kpi_name,
        cast(
            sum(case when is_promoter then 1 else 0 end) - sum(case when is_detractor then 1 else 0 end)
            as {{ dbt.type_numeric() }}
        ) as numerator,
        cast(count(recommendation_score) as {{ dbt.type_numeric() }}) as denominator
    from survey_responses
    group by 1, 2, 3

),

sparse_kpis as (

    select * from dms_kpis
    union all
    select * from satisfaction_kpis

),

-- every month of the spine and every month with data, for every department
sparse_kpi_months as (

    select distinct
        months.month,
        kpi_catalogue.kpi_name
    from months
    cross join kpi_catalogue
    where kpi_catalogue.kpi_family in ('dms', 'satisfaction') and kpi_catalogue.kpi_type != 'median'

    union distinct

    select distinct
        month,
        kpi_name
    from sparse_kpis

),

sparse_kpis_dense as (

    select
        sparse_kpi_months.month,
        departments.department_code,
        sparse_kpi_months.kpi_name,
        cast(coalesce(sparse_kpis.numerator, 0) as {{ dbt.type_numeric() }}) as numerator,
        case
            when kpi_catalogue.kpi_type = 'nps'
                then cast(coalesce(sparse_kpis.denominator, 0) as {{ dbt.type_numeric() }})
        end as denominator

    from sparse_kpi_months
    cross join departments
    left join kpi_catalogue
        on sparse_kpi_months.kpi_name = kpi_catalogue.kpi_name
    left join sparse_kpis
        on
            sparse_kpi_months.month = sparse_kpis.month
            and sparse_kpi_months.kpi_name = sparse_kpis.kpi_name
            and departments.department_code = sparse_kpis.department_code

),

final as (

    select * from user_side_kpis
    union all
    select * from engagement_kpis
    union all
    select * from booking_mix_kpis
    union all
    select * from supply_kpis
    union all
    select * from adage_kpis
    union all
    select * from sparse_kpis_dense

)

select * from final
