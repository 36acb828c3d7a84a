-- One row per survey answer x project: every valid project of the current answers of each survey
-- wave, with its respondent's owner type and wave. Rejected rows stay out (they are in staging with
-- is_valid false and in the control report), and so do answers replaced by a later file of the
-- same wave. Place of works: the project's commune, else the respondent's.
with respondents as (
    select * from {{ ref('stg_cerc_survey__respondents') }}
    where is_valid and is_current_wave
),

projects as (
    select * from {{ ref('stg_cerc_survey__projects') }}
    where is_valid
)

select
    md5(projects.load_id::text || '-' || projects.record_number::text) as project_key,
    projects.load_id,
    projects.record_number,
    projects.source_file,
    projects.sheet_name,
    projects.sheet_row,
    respondents.survey_wave,
    respondents.respondent_id,
    respondents.owner_name,
    respondents.owner_siret,
    respondents.owner_type,
    respondents.population_band as owner_population_band,
    coalesce(projects.commune_code, respondents.commune_code) as commune_code,
    coalesce(projects.departement_code, respondents.departement_code) as departement_code,
    coalesce(projects.region_code, respondents.region_code) as region_code,
    projects.project_label,
    projects.segment,
    projects.works_nature,
    projects.amount_eur,
    projects.tender_year as planned_year,
    projects.tender_quarter as planned_quarter,
    projects.works_start_date,
    projects.works_start_precision,
    projects.duration_months,
    projects.project_status,
    projects.has_social_clause,
    projects.has_environmental_criterion,
    projects.funding
from projects
inner join respondents
    on respondents.load_id = projects.load_id
    and respondents.respondent_key = projects.respondent_key
