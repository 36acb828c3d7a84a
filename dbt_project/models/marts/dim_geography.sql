{{ config(pre_hook='set local jit = off', post_hook='analyze {{ this }}') }}

-- Places facts point to (COG 2025): communes with their département and région, départements, régions,
-- plus 'abroad' (a supplier established outside France) and 'unknown'. EPCI columns are there for when an
-- EPCI reference is loaded; none is yet, so they are null.
select
    {{ surrogate_key('geography', "geography_level || ':' || geography_code") }} as geography_key,
    geography_level,
    geography_code,
    commune_code,
    commune_name,
    null::text as epci_code,
    null::text as epci_name,
    departement_code,
    departement_name,
    region_code,
    region_name,
    coalesce(region_code = '32', false) as is_hauts_de_france
from {{ ref('int_geography__places') }}

union all

select {{ surrogate_key('geography', "'abroad:abroad'") }}, 'abroad', 'abroad', null, null, null, null, null, null,
       null, 'Étranger', false

union all

select {{ unknown_key() }}, 'unknown', 'unknown', null, null, null, null, null, null, null, 'Inconnu', false
