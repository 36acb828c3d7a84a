{{ config(pre_hook='set local jit = off', post_hook='analyze {{ this }}') }}

-- Award procedures: the values of the official schemas (2019 and v2, contracts and concessions) with the
-- family the competition indicator groups them by, plus the 'unknown' member.
with procedures as (
    select distinct value as procedure
    from {{ ref('ref_decp_enum_variants') }}
    where field = 'procedure'
)

select
    {{ surrogate_key('procedure', 'procedure') }} as procedure_key,
    procedure,
    case procedure
        when 'Procédure adaptée' then 'adapted'
        when 'Appel d''offres ouvert' then 'open'
        when 'Procédure non négociée ouverte' then 'open'
        when 'Appel d''offres restreint' then 'restricted'
        when 'Procédure non négociée restreinte' then 'restricted'
        when 'Procédure avec négociation' then 'negotiated'
        when 'Dialogue compétitif' then 'negotiated'
        when 'Procédure négociée ouverte' then 'negotiated'
        when 'Procédure négociée restreinte' then 'negotiated'
        when 'Marché passé sans publicité ni mise en concurrence préalable' then 'without_publicity'
    end as procedure_family,
    case procedure
        when 'Procédure adaptée' then 'Procédure adaptée'
        when 'Marché passé sans publicité ni mise en concurrence préalable' then 'Sans publicité ni mise en concurrence'
        when 'Appel d''offres ouvert' then 'Ouverte'
        when 'Procédure non négociée ouverte' then 'Ouverte'
        when 'Appel d''offres restreint' then 'Restreinte'
        when 'Procédure non négociée restreinte' then 'Restreinte'
        else 'Négociée'
    end as procedure_family_fr,
    procedure <> 'Marché passé sans publicité ni mise en concurrence préalable' as is_open_to_competition
from procedures

union all

select {{ unknown_key() }}, 'Inconnue', 'unknown', 'Inconnue', null
