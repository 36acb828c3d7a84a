-- One row per respondent row of every survey file, valid or rejected, typed from the values the
-- intake parsed in Python (ingest/survey/validation.py); the cells as typed stay in raw.
-- A file sent again replaces, for each survey wave it holds, the answers of earlier files:
-- is_current_wave marks the rows of the latest file that holds their wave.
with source as (
    select * from {{ source('cerc_survey', 'cerc_survey_rows') }}
    where record_kind = 'respondent'
),

typed as (
    select
        load_id,
        record_number,
        source_file,
        record ->> 'sheet' as sheet_name,
        (record ->> 'row')::int as sheet_row,
        record #>> '{parsed,respondent_id}' as respondent_id,
        record #>> '{parsed,respondent_key}' as respondent_key,
        record #>> '{parsed,survey_wave}' as survey_wave,
        record #>> '{parsed,owner_name}' as owner_name,
        record #>> '{parsed,siret}' as owner_siret,
        record #>> '{parsed,owner_type}' as owner_type,
        record #>> '{parsed,departement_code}' as departement_code,
        record #>> '{parsed,region_code}' as region_code,
        record #>> '{parsed,commune_code}' as commune_code,
        record #>> '{parsed,population_band}' as population_band,
        (record #>> '{parsed,under_5000}')::boolean as is_under_5000,
        (record #>> '{parsed,no_project_planned}')::boolean as no_project_planned,
        (record ->> 'valid')::boolean as is_valid,
        jsonb_array_length(record -> 'problems') as problems
    from source
),

latest_file_of_wave as (
    select survey_wave, max(load_id) as load_id
    from typed
    where survey_wave is not null
    group by survey_wave
)

select
    typed.*,
    -- Projects name their respondent by identifier; a repeated identifier is rejected, the first one counts.
    typed.respondent_key is not null and row_number() over (
        partition by typed.load_id, typed.respondent_key order by typed.record_number) = 1 as is_first_with_id,
    latest.load_id is not null as is_current_wave
from typed
left join latest_file_of_wave as latest
    on latest.survey_wave = typed.survey_wave and latest.load_id = typed.load_id
