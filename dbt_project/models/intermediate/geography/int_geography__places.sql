-- Every place a fact can point to, at its level: communes, départements and régions of COG 2025.
-- dim_geography adds the 'abroad' and 'unknown' members.
select distinct
    'commune' as geography_level,
    commune_code as geography_code,
    commune_code,
    commune_nom as commune_name,
    departement_code,
    departement_nom as departement_name,
    region_code,
    region_nom as region_name
from {{ ref('ref_cog_communes') }}

union all

select distinct
    'departement',
    departement_code,
    null,
    null,
    departement_code,
    departement_nom,
    region_code,
    region_nom
from {{ ref('ref_cog_communes') }}

union all

select distinct
    'region',
    region_code,
    null,
    null,
    null,
    null,
    region_code,
    region_nom
from {{ ref('ref_cog_communes') }}
