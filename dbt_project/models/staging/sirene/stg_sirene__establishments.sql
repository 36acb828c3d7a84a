-- One row per SIRET (from the latest load that has it): location, staff band, head office flag.
-- Under partial diffusion (statutDiffusionEtablissement <> 'O') only the commune is exposed: no street
-- address and no establishment name (a trade name can be a person's name).
with source as (
    select * from {{ source('sirene', 'sirene_records') }}
    where record_kind = 'etablissement'
),

latest as (
    select
        *,
        row_number() over (partition by record ->> 'siret' order by load_id desc, record_number desc) as recency
    from source
),

fields as (
    select
        load_id,
        record ->> 'siret' as siret,
        record ->> 'siren' as siren,
        coalesce(record ->> 'statutDiffusionEtablissement', 'unknown') as diffusion_status,
        lower(record ->> 'etablissementSiege') = 'true' as is_head_office,
        nullif(record ->> 'codeCommuneEtablissement', '[ND]') as commune_code,
        nullif(record ->> 'codePostalEtablissement', '[ND]') as postal_code,
        record ->> 'codePaysEtrangerEtablissement' as foreign_country_code,
        nullif(coalesce(record ->> 'denominationUsuelleEtablissement', record ->> 'enseigne1Etablissement'), '[ND]')
            as trade_name,
        record ->> 'trancheEffectifsEtablissement' as staff_band,
        record ->> 'activitePrincipaleEtablissement' as main_activity,
        record ->> 'etatAdministratifEtablissement' as administrative_status
    from latest
    where recency = 1
)

select
    siret,
    siren,
    diffusion_status,
    diffusion_status <> 'O' as is_name_restricted,
    case when diffusion_status = 'O' then trade_name end as establishment_name,
    is_head_office,
    commune_code,
    postal_code,
    case
        when commune_code ~ '^97' then left(commune_code, 3)
        when commune_code ~ '^[0-9][0-9AB]' then left(commune_code, 2)
    end as department_code,
    foreign_country_code,
    foreign_country_code is not null as is_abroad,
    staff_band,
    main_activity,
    administrative_status,
    administrative_status = 'A' as is_active,
    load_id
from fields
