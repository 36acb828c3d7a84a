-- One row per project row of every survey file, valid or rejected, typed from the values the
-- intake parsed in Python (ingest/survey/validation.py); the cells as typed stay in raw.
-- Owner, wave and the default place of works come from the respondent (see fct_public_works_projects).
with source as (
    select * from {{ source('cerc_survey', 'cerc_survey_rows') }}
    where record_kind = 'project'
)

select
    load_id,
    record_number,
    source_file,
    record ->> 'sheet' as sheet_name,
    (record ->> 'row')::int as sheet_row,
    record #>> '{parsed,respondent_id}' as respondent_id,
    record #>> '{parsed,respondent_key}' as respondent_key,
    record #>> '{parsed,label}' as project_label,
    record #>> '{parsed,commune_code}' as commune_code,
    record #>> '{parsed,departement_code}' as departement_code,
    record #>> '{parsed,region_code}' as region_code,
    record #>> '{parsed,segment}' as segment,
    record #>> '{parsed,nature}' as works_nature,
    (record #>> '{parsed,amount_eur}')::numeric as amount_eur,
    (record #>> '{parsed,tender_year}')::int as tender_year,
    (record #>> '{parsed,tender_quarter}')::int as tender_quarter,
    (record #>> '{parsed,works_start_date}')::date as works_start_date,
    record #>> '{parsed,works_start_precision}' as works_start_precision,
    (record #>> '{parsed,duration_months}')::numeric as duration_months,
    record #>> '{parsed,status}' as project_status,
    (record #>> '{parsed,social_clause}')::boolean as has_social_clause,
    (record #>> '{parsed,environmental_criterion}')::boolean as has_environmental_criterion,
    record #>> '{parsed,funding}' as funding,
    (record ->> 'valid')::boolean as is_valid,
    jsonb_array_length(record -> 'problems') as problems
from source
