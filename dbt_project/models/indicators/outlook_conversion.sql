-- Indicator outlook_conversion (INDICATORS.md): did announced works get tendered and awarded?
-- For each CERC survey wave, by département of the works and for the region (32): the share of matchable
-- projects (count and estimated value) matched to a later DECP works contract of the same owner, and the
-- mean slippage in months between the planned tender period and the contract's notification.
--
-- Matching rule (one contract per project, one project per contract within a wave):
--   * same owner: the contract's buyer SIREN = the first 9 digits of the owner's SIRET (a SIRET match is a
--     SIREN match; a commune's services often publish under another establishment of the same SIREN);
--   * a works contract: a public contract (marché; not a concession) of CPV division 45 (dim_cpv.division_code);
--   * amount band: initial usable amount within [0.5, 2] x the project's estimated amount (vars
--     conversion_amount_band_low / _high);
--   * notified on or after the wave date = 1 January of the wave's year (the first 4-digit year in its name).
--   Among the candidates a project takes the closest amount (|ln(contract / estimate)|), then the smallest
--   slippage, then the earliest notification, then the contract key. When several projects of a wave take
--   the same contract, the closest one (same order, then the project key) keeps it; the others try their
--   next candidates in a new round (var conversion_match_rounds rounds, default 3), then stay unmatched.
-- Matchable projects: owner SIRET known, estimated amount >= the DECP threshold (40,000 EUR) and a wave year;
-- the others count in coverage only.
-- Slippage: 0 when the notification month falls in the planned tender quarter (the planned year when no
-- quarter is given); otherwise months after the period's last month (> 0) or before its first month (< 0).
{% set band_low = var('conversion_amount_band_low') %}
{% set band_high = var('conversion_amount_band_high') %}
{% set match_rounds = var('conversion_match_rounds') %}
{% set threshold_eur = 40000 %}
{% set region_code = '32' %}

with as_of as (
    -- conversions are observed up to the end of the latest DECP load
    select coalesce({{ decp_as_of_date() }}, current_date) as as_of_date
),

projects as (
    select
        project_key,
        survey_wave,
        substring(survey_wave from '[0-9]{4}')::int as wave_year,
        departement_code,
        region_code,
        left(owner_siret, 9) as owner_siren,
        amount_eur,
        planned_year,
        planned_quarter,
        -- the planned tender period as month indexes (year x 12 + month - 1)
        planned_year * 12 + coalesce(3 * (planned_quarter - 1), 0) as period_first_month,
        planned_year * 12 + coalesce(3 * planned_quarter - 1, 11) as period_last_month,
        coalesce(owner_siret is not null and amount_eur >= {{ threshold_eur }}
                 and substring(survey_wave from '[0-9]{4}') is not null, false) as is_matchable
    from {{ ref('fct_public_works_projects') }}
),

works_contracts as (
    select
        contracts.contract_key,
        buyers.buyer_siren,
        contracts.notification_date,
        extract(year from contracts.notification_date)::int * 12
            + extract(month from contracts.notification_date)::int - 1 as notification_month,
        contracts.initial_amount_usable_eur as amount_eur
    from {{ ref('fct_contracts') }} as contracts
    inner join {{ ref('dim_buyer') }} as buyers on buyers.buyer_key = contracts.buyer_key
    inner join {{ ref('dim_cpv') }} as cpv on cpv.cpv_key = contracts.cpv_key
    where contracts.record_kind = 'marche'
        and cpv.division_code = '45'
        and contracts.initial_amount_usable_eur is not null
        and contracts.notification_date is not null
),

candidates as (
    select
        projects.project_key,
        projects.survey_wave,
        works_contracts.contract_key,
        works_contracts.notification_date,
        abs(ln(works_contracts.amount_eur / projects.amount_eur)) as amount_distance,
        case when works_contracts.notification_month > projects.period_last_month
                 then works_contracts.notification_month - projects.period_last_month
             when works_contracts.notification_month < projects.period_first_month
                 then works_contracts.notification_month - projects.period_first_month
             when projects.planned_year is not null then 0
        end as slippage_months
    from projects
    inner join works_contracts
        on works_contracts.buyer_siren = projects.owner_siren
        and works_contracts.notification_date >= make_date(projects.wave_year, 1, 1)
        and works_contracts.amount_eur between {{ band_low }} * projects.amount_eur
                                           and {{ band_high }} * projects.amount_eur
    where projects.is_matchable
),

-- Matching rounds: in each round every unmatched project takes its best remaining candidate, and a contract
-- taken by several projects of a wave goes to the closest one; the others try again in the next round.
{% for round in range(1, match_rounds + 1) %}
round_{{ round }} as (
    select project_key, survey_wave, contract_key, slippage_months
    from (
        select
            best.*,
            row_number() over (
                partition by survey_wave, contract_key
                order by amount_distance, abs(slippage_months) nulls last, project_key
            ) as contract_rank
        from (
            select
                candidates.*,
                row_number() over (
                    partition by project_key
                    order by amount_distance, abs(slippage_months) nulls last, notification_date, contract_key
                ) as project_rank
            from candidates
            {%- if round > 1 %}
            where not exists (select from matches_{{ round - 1 }} as taken
                              where taken.project_key = candidates.project_key)
                and not exists (select from matches_{{ round - 1 }} as taken
                                where taken.survey_wave = candidates.survey_wave
                                    and taken.contract_key = candidates.contract_key)
            {%- endif %}
        ) as best
        where project_rank = 1
    ) as ranked
    where contract_rank = 1
),

matches_{{ round }} as (
    {%- if round > 1 %}
    select * from matches_{{ round - 1 }}
    union all
    {%- endif %}
    select * from round_{{ round }}
),
{% endfor %}

matched_projects as (
    select
        projects.*,
        matches.contract_key as matched_contract_key,
        matches.slippage_months
    from projects
    left join matches_{{ match_rounds }} as matches on matches.project_key = projects.project_key
),

placed as (
    select matched_projects.*, 'departement' as territory_level, departement_code as territory_code
    from matched_projects
    union all
    select matched_projects.*, 'region', region_code
    from matched_projects
    where region_code = '{{ region_code }}'
),

cells as (
    select
        survey_wave, wave_year, territory_level, territory_code,
        count(*) as projects,
        count(*) filter (where is_matchable) as matchable,
        count(*) filter (where owner_siren is null or amount_eur is null) as owner_or_amount_unknown,
        count(matched_contract_key) as matched,
        sum(amount_eur) filter (where is_matchable) as matchable_amount_eur,
        sum(amount_eur) filter (where matched_contract_key is not null) as matched_amount_eur,
        count(slippage_months) as with_slippage,
        sum(slippage_months) as slippage_sum
    from placed
    group by survey_wave, wave_year, territory_level, territory_code
),

territory_names as (
    select geography_level as territory_level, geography_code as territory_code,
           coalesce(departement_name, region_name) as territory_name
    from {{ ref('dim_geography') }}
    where geography_level in ('departement', 'region')
),

measures as (
    select
        'converted_projects_share' as measure,
        'Part des projets annoncés attribués (en nombre)' as measure_label_fr,
        cells.*,
        matched::numeric / nullif(matchable, 0) as raw_value,
        matched::numeric as numerator, matchable::numeric as denominator, matchable as n,
        matchable::numeric / projects as coverage
    from cells
    union all
    select
        'converted_value_share',
        'Part des projets annoncés attribués (en montant estimé)',
        cells.*,
        coalesce(matched_amount_eur, 0) / nullif(matchable_amount_eur, 0),
        coalesce(matched_amount_eur, 0), matchable_amount_eur, matchable,
        matchable::numeric / projects
    from cells
    union all
    select
        'mean_slippage_months',
        'Glissement moyen entre la consultation prévue et la notification (mois)',
        cells.*,
        slippage_sum::numeric / nullif(with_slippage, 0),
        slippage_sum, with_slippage, with_slippage,
        with_slippage::numeric / nullif(matched, 0)
    from cells
)

select
    'outlook_conversion' as indicator_id,
    measures.measure,
    measures.measure_label_fr,
    measures.wave_year as year,
    measures.territory_level,
    measures.territory_code,
    territory_names.territory_name,
    measures.survey_wave,
    {{ indicator_fields(value='round(measures.raw_value, 4)', numerator='measures.numerator',
                        denominator='measures.denominator', n='measures.n',
                        unknown_share='measures.owner_or_amount_unknown::numeric / measures.projects',
                        coverage='measures.coverage', threshold_eur=threshold_eur,
                        as_of='as_of.as_of_date') }}
from measures
cross join as_of
left join territory_names
    on territory_names.territory_level = measures.territory_level
    and territory_names.territory_code = measures.territory_code
