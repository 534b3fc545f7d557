-- Responses to the Qualtrics impact surveys (young beneficiaries, cultural
-- partners), with the respondent's department as pushed in embedded data and
-- the 0-10 recommendation score (question Q1) as promoter / detractor.
with responses as (

    select * from {{ ref('stg_qualtrics__responses') }}

),

surveys as (

    select * from {{ ref('stg_qualtrics__surveys') }}

),

answers as (

    select * from {{ ref('stg_qualtrics__answers') }}

),

departments as (

    select * from {{ ref('int_geo__departments') }}

),

scores as (

    select
        response_id,
        {{ try_cast_to('answer', dbt.type_int()) }} as recommendation_score

    from answers
    where question_id = 'Q1'

),

final as (

    select
        responses.response_id,
        case surveys.survey_kind when 'young_users' then 'young' else 'partner' end as respondent_kind,
        {{ month_start('responses.recorded_at') }} as response_month,
        coalesce(departments.department_code, '-1') as department_code,
        case when scores.recommendation_score between 0 and 10 then scores.recommendation_score end
            as recommendation_score,
        coalesce(scores.recommendation_score between 9 and 10, false) as is_promoter,
        coalesce(scores.recommendation_score between 0 and 6, false) as is_detractor

    from responses
    inner join surveys
        on responses.survey_id = surveys.survey_id
    left join scores
        on responses.response_id = scores.response_id
    left join departments
        on responses.department_code = departments.department_code
    where surveys.survey_kind in ('young_users', 'partners')

)

select * from final
