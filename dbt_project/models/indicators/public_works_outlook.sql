-- public_works_outlook (INDICATORS.md): what public works are coming, from the CERC survey.
-- One table, three measures (column `measure`), per survey wave, per département and for the region:
--   planned_projects, planned_amount_eur: by planned year (of tender) x segment x owner type;
--   no_project_share: share of respondents that plan no project, by commune size.
-- Coverage = rows used / rows in scope, where the scope of a wave is the rows of the file that
-- holds its current answers (rows that name no known respondent count against every wave of
-- their file). No amount threshold applies to the survey: threshold_eur is null.
{% set region_code = "32" %}

with projects as (
    select * from {{ ref('fct_public_works_projects') }}
),

respondents as (
    select * from {{ ref('stg_cerc_survey__respondents') }}
),

project_rows as (
    select * from {{ ref('stg_cerc_survey__projects') }}
),

current_files as (
    select distinct survey_wave, load_id from respondents where is_current_wave
),

as_of as (
    select current_files.survey_wave, max(loads.finished_at)::date as as_of_date
    from current_files
    inner join {{ source('cerc_survey_loads', 'loads') }} as loads on loads.load_id = current_files.load_id
    group by current_files.survey_wave
),

project_coverage as (
    select
        current_files.survey_wave,
        count(*) filter (where project_rows.is_valid)::numeric / count(*) as coverage
    from current_files
    inner join project_rows on project_rows.load_id = current_files.load_id
    left join respondents as named
        on named.load_id = project_rows.load_id
        and named.respondent_key = project_rows.respondent_key
        and named.is_first_with_id
    where named.survey_wave is null or named.survey_wave = current_files.survey_wave
    group by current_files.survey_wave
),

respondent_coverage as (
    select
        current_files.survey_wave,
        count(*) filter (where respondents.is_valid)::numeric / count(*) as coverage
    from current_files
    inner join respondents on respondents.load_id = current_files.load_id
    where respondents.survey_wave is null or respondents.survey_wave = current_files.survey_wave
    group by current_files.survey_wave
),

-- Planned projects and amounts -------------------------------------------------------------

project_places as (
    select *, 'departement' as geo_level, departement_code as geo_code from projects
    union all
    select *, 'region' as geo_level, region_code as geo_code from projects
    where region_code = '{{ region_code }}'
),

project_cells as (
    select
        survey_wave, geo_level, geo_code, planned_year, segment, owner_type,
        count(*) as n_projects,
        count(amount_eur) as n_amounts,
        sum(amount_eur) as amount_eur
    from project_places
    group by survey_wave, geo_level, geo_code, planned_year, segment, owner_type
),

project_cells_with_unknowns as (
    select
        *,
        -- Share of the projects of the same wave, place, segment and owner type with no planned year.
        sum(case when planned_year is null then n_projects else 0 end)
            over (partition by survey_wave, geo_level, geo_code, segment, owner_type)::numeric
        / sum(n_projects) over (partition by survey_wave, geo_level, geo_code, segment, owner_type)
            as unknown_year_share
    from project_cells
),

-- Respondents with no project --------------------------------------------------------------

projects_named as (
    select load_id, respondent_key, count(*) as project_rows
    from project_rows
    where respondent_key is not null
    group by load_id, respondent_key
),

answers as (
    select
        respondents.survey_wave,
        respondents.departement_code,
        respondents.region_code,
        case when respondents.owner_type = 'commune' then
            case respondents.is_under_5000 when true then 'moins_5000' when false then '5000_et_plus'
                else 'inconnue' end
        end as commune_size,
        -- Declared projects (even rejected ones) mean "has projects"; otherwise the answer to
        -- "no project planned"; neither: unknown.
        case when projects_named.project_rows > 0 then false
             when respondents.no_project_planned then true
        end as has_no_project
    from respondents
    left join projects_named
        on projects_named.load_id = respondents.load_id
        and projects_named.respondent_key = respondents.respondent_key
    where respondents.is_valid and respondents.is_current_wave
),

answer_sizes as (
    select survey_wave, departement_code, region_code, commune_size, has_no_project from answers
    where commune_size is not null
    union all
    select survey_wave, departement_code, region_code, 'tous', has_no_project from answers
),

answer_places as (
    select *, 'departement' as geo_level, departement_code as geo_code from answer_sizes
    union all
    select *, 'region' as geo_level, region_code as geo_code from answer_sizes
    where region_code = '{{ region_code }}'
),

answer_cells as (
    select
        survey_wave, geo_level, geo_code, commune_size,
        count(*) as n_respondents,
        count(has_no_project) as n_known,
        count(*) filter (where has_no_project) as n_no_project
    from answer_places
    group by survey_wave, geo_level, geo_code, commune_size
),

measures as (
    select
        'planned_projects' as measure, cells.survey_wave, cells.geo_level, cells.geo_code,
        cells.planned_year, cells.segment, cells.owner_type, null::text as commune_size,
        {{ indicator_fields(value='cells.n_projects', numerator='cells.n_projects', denominator='null',
                            n='cells.n_projects', unknown_share='cells.unknown_year_share',
                            coverage='project_coverage.coverage', as_of='as_of.as_of_date') }}
    from project_cells_with_unknowns as cells
    left join project_coverage on project_coverage.survey_wave = cells.survey_wave
    left join as_of on as_of.survey_wave = cells.survey_wave

    union all

    select
        'planned_amount_eur', cells.survey_wave, cells.geo_level, cells.geo_code,
        cells.planned_year, cells.segment, cells.owner_type, null::text,
        {{ indicator_fields(value='cells.amount_eur', numerator='cells.amount_eur', denominator='null',
                            n='cells.n_amounts',
                            unknown_share='(cells.n_projects - cells.n_amounts)::numeric / cells.n_projects',
                            coverage='project_coverage.coverage', as_of='as_of.as_of_date') }}
    from project_cells_with_unknowns as cells
    left join project_coverage on project_coverage.survey_wave = cells.survey_wave
    left join as_of on as_of.survey_wave = cells.survey_wave

    union all

    select
        'no_project_share', cells.survey_wave, cells.geo_level, cells.geo_code,
        null::int, null::text, null::text, cells.commune_size,
        {{ indicator_fields(value='cells.n_no_project::numeric / nullif(cells.n_known, 0)',
                            numerator='cells.n_no_project', denominator='cells.n_known',
                            n='cells.n_known',
                            unknown_share='(cells.n_respondents - cells.n_known)::numeric / cells.n_respondents',
                            coverage='respondent_coverage.coverage', as_of='as_of.as_of_date') }}
    from answer_cells as cells
    left join respondent_coverage on respondent_coverage.survey_wave = cells.survey_wave
    left join as_of on as_of.survey_wave = cells.survey_wave
)

select * from measures
