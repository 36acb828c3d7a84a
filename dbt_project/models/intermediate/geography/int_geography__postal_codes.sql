-- One row per La Poste postal code: the communes it serves that exist in COG 2025, the commune when it
-- serves only one, the département (and région) when all its communes are in one. Communes merged after
-- 2020 are not in COG 2025: their département still comes from their INSEE code.
with served as (
    select distinct
        laposte.code_postal as postal_code,
        laposte.code_commune_insee as insee_code,
        cog.commune_code,
        coalesce(cog.departement_code,
                 case when laposte.code_commune_insee like '97%' then left(laposte.code_commune_insee, 3)
                      else left(laposte.code_commune_insee, 2) end) as departement_code
    from {{ ref('ref_laposte_postal_codes') }} as laposte
    left join {{ ref('ref_cog_communes') }} as cog on cog.commune_code = laposte.code_commune_insee
)

select
    served.postal_code,
    count(distinct served.insee_code) as communes_served,
    case when count(distinct served.insee_code) = 1 then min(served.commune_code) end as commune_code,
    case when count(distinct served.departement_code) = 1 then min(served.departement_code) end as departement_code
from served
group by served.postal_code
