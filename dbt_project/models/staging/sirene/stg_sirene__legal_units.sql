-- One row per SIREN (from the latest load that has it): size, staff band, legal category, diffusion status.
-- Names of natural persons under partial diffusion (statutDiffusionUniteLegale <> 'O') are never exposed:
-- legal_unit_name is null for them, whatever raw holds (INSEE writes '[ND]', older extracts may not).
with source as (
    select * from {{ source('sirene', 'sirene_records') }}
    where record_kind = 'unite-legale'
),

latest as (
    select
        *,
        row_number() over (partition by record ->> 'siren' order by load_id desc, record_number desc) as recency
    from source
),

fields as (
    select
        load_id,
        record ->> 'siren' as siren,
        coalesce(record ->> 'statutDiffusionUniteLegale', 'unknown') as diffusion_status,
        nullif(record ->> 'denominationUniteLegale', '[ND]') as denomination,
        nullif(concat_ws(' ',
            nullif(coalesce(record ->> 'prenomUsuelUniteLegale', record ->> 'prenom1UniteLegale'), '[ND]'),
            nullif(coalesce(record ->> 'nomUsageUniteLegale', record ->> 'nomUniteLegale'), '[ND]')
        ), '') as person_name,
        record ->> 'categorieEntreprise' as company_category,
        record ->> 'anneeCategorieEntreprise' as company_category_year,
        record ->> 'trancheEffectifsUniteLegale' as staff_band,
        record ->> 'categorieJuridiqueUniteLegale' as legal_category,
        record ->> 'activitePrincipaleUniteLegale' as main_activity,
        record ->> 'etatAdministratifUniteLegale' as administrative_status,
        record ->> 'nicSiegeUniteLegale' as head_office_nic
    from latest
    where recency = 1
)

select
    siren,
    diffusion_status,
    diffusion_status <> 'O' as is_name_restricted,
    case when diffusion_status = 'O' then coalesce(denomination, person_name) end as legal_unit_name,
    company_category,
    company_category_year,
    staff_band,
    -- TPE (micro) = PME with 0-9 employees (bands 00-03); NN or no band: micro status unknown
    case
        when company_category = 'PME' and staff_band in ('00', '01', '02', '03') then 'TPE'
        when company_category in ('PME', 'ETI', 'GE') then company_category
        else 'unknown'
    end as company_size,
    coalesce(company_category = 'PME' and (staff_band is null or staff_band = 'NN'), false)
        as is_micro_status_unknown,
    legal_category,
    main_activity,
    administrative_status,
    administrative_status = 'A' as is_active,
    case when head_office_nic ~ '^[0-9]{5}$' then siren || head_office_nic end as head_office_siret,
    load_id
from fields
