-- COG 2025 must hold every commune of Hauts-de-France (région 32): 3,782 communes, 797 in Aisne (02),
-- 647 in Nord (59), 680 in Oise (60), 887 in Pas-de-Calais (62), 771 in Somme (80).
-- Returns the départements whose count differs (and the région total when it does).
with expected (departement_code, communes) as (
    values ('02', 797), ('59', 647), ('60', 680), ('62', 887), ('80', 771), ('32 total', 3782)
),

found as (
    select departement_code, count(*) as communes
    from {{ ref('ref_cog_communes') }}
    where region_code = '32'
    group by departement_code
    union all
    select '32 total', count(*) from {{ ref('ref_cog_communes') }} where region_code = '32'
)

select expected.departement_code, expected.communes as expected_communes, found.communes as found_communes
from expected
full join found on found.departement_code = expected.departement_code
where found.communes is distinct from expected.communes
