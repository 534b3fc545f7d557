-- One row per answered question of a response (long format: one question per row).
with answers as (

    select * from {{ source('qualtrics', 'responses__answers') }}

),

responses as (

    select _dlt_id, response_id, survey_id from {{ source('qualtrics', 'responses') }}

),

renamed as (

    select
        responses.response_id,
        responses.survey_id,
        answers.question_id,
        answers.import_id as question_import_id,
        answers.question_text,
        answers.answer

    from answers
    inner join responses on answers._dlt_parent_id = responses._dlt_id

)

select * from renamed
