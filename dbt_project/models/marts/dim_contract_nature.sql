{{ config(pre_hook='set local jit = off', post_hook='analyze {{ this }}') }}

-- Contract natures: the values of the official schemas (2019 and v2, contracts and concessions), plus the
-- 'unknown' member. "Accord-cadre" and "Marché subséquent" are natures of the 2019 format only (v2 records
-- them as techniques).
with natures as (
    select distinct value as nature
    from {{ ref('ref_decp_enum_variants') }}
    where field = 'nature'
)

select
    {{ surrogate_key('nature', 'nature') }} as nature_key,
    nature,
    case when nature in ('Concession de travaux', 'Concession de service', 'Concession de service public',
                         'Délégation de service public') then 'contrat-concession' else 'marche' end as nature_kind,
    case when nature in ('Concession de travaux', 'Concession de service', 'Concession de service public',
                         'Délégation de service public') then 'Contrat de concession' else 'Marché public' end
        as nature_kind_fr,
    nature in ('Accord-cadre', 'Marché subséquent') as is_2019_format_only
from natures

union all

select {{ unknown_key() }}, 'Inconnue', 'unknown', 'Inconnue', null
