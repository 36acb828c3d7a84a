-- Postal code + commune name key -> commune (COG 2025), to place a postal code that serves several
-- communes when the record also names the commune (lieuExecution.nom). Pairs that stay ambiguous are left out.
with candidates as (
    select distinct
        laposte.code_postal as postal_code,
        cog.commune_code,
        {{ label_key('cog.commune_nom') }} as name_key
    from {{ ref('ref_laposte_postal_codes') }} as laposte
    join {{ ref('ref_cog_communes') }} as cog on cog.commune_code = laposte.code_commune_insee
)

select postal_code, name_key, min(commune_code) as commune_code
from candidates
where name_key is not null
group by postal_code, name_key
having count(distinct commune_code) = 1
