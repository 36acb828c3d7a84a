-- One row per budget x year: the current rows of the DGP files (latest load of each year, duplicates
-- collapsed, rows without a year left in staging with their reason), with the entity category and
-- the legal ceiling the delay is compared with.
with budgets as (
    select * from {{ ref('stg_dgp__payment_delays') }}
    where row_status = 'current'
),

legal_units as (
    select siren, legal_category from {{ ref('stg_sirene__legal_units') }}
),

loads as (
    select load_id, finished_at from {{ source('dgp_meta', 'loads') }}
),

-- Plain lower-case ASCII budget type, for the patterns of the entity category.
typed as (
    select
        budgets.*,
        legal_units.legal_category,
        lower(translate(coalesce(budgets.budget_type, ''), 'ÀÂÄÉÈÊËÎÏÔÖÙÛÜÇàâäéèêëîïôöùûüç',
                        'AAAEEEEIIOOUUUCaaaeeeeiioouuuc')) as budget_type_plain,
        loads.finished_at::date as loaded_on
    from budgets
    left join legal_units on legal_units.siren = budgets.siren
    left join loads on loads.load_id = budgets.load_id
),

-- The entity category from three clues, most reliable first: the SIRENE legal category of the entity,
-- what the budget type says, the SIREN numbering of collectivities (21 communes, 22 départements,
-- 23 former régions).
clues as (
    select
        *,
        case
            when legal_category in ('7210', '7312') then 'commune'
            when legal_category = '7220' then 'departement'
            when legal_category = '7230' then 'region'
            when legal_category in ('7342', '7343', '7344', '7345', '7346', '7347', '7348', '7353') then 'epci'
            when legal_category in ('7364', '7365', '7470') then 'health'
            when legal_category = '7371' then 'social_housing'
            when legal_category is not null then 'other'
        end as category_from_legal_category,
        case
            when budget_type_plain ~ '^commune' then 'commune'
            when budget_type_plain ~ '^departement' then 'departement'
            when budget_type_plain ~ '^region' then 'region'
            when budget_type_plain ~ '(communaute|metropole|sivu|sivom|syndicat intercommunal|epci|district)'
                then 'epci'
            when budget_type_plain ~ '(hopit|hospital|etablissement public de sante|\meps\M|sante)' then 'health'
            when budget_type_plain ~ '(habitat|hlm|\moph\M|office public)' then 'social_housing'
            when budget_type_plain ~ '(ccas|cias|caisse des ecoles|syndicat mixte|sdis|incendie)' then 'other'
        end as category_from_budget_type,
        case left(siren, 2) when '21' then 'commune' when '22' then 'departement' when '23' then 'region'
        end as category_from_siren
    from typed
),

categorised as (
    select
        *,
        coalesce(category_from_legal_category, category_from_budget_type, category_from_siren, 'unknown')
            as entity_category,
        case
            when category_from_legal_category is not null then 'legal category'
            when category_from_budget_type is not null then 'budget type'
            when category_from_siren is not null then 'siren numbering'
            else 'none'
        end as category_source
    from clues
)

select
    md5(load_id::text || '-' || record_number::text) as payment_delay_key,
    year,
    department_code,
    department_name,
    department_code in ('02', '59', '60', '62', '80') as is_hauts_de_france,
    entity_name,
    siret,
    siren,
    budget_type,
    budget_nature,
    legal_category,
    entity_category,
    category_source,
    payment_delay_days,
    -- legal ceilings: 50 days for public health establishments, 30 for the State and local authorities
    case when entity_category = 'health' then 50 else 30 end as legal_ceiling_days,
    payment_delay_days > case when entity_category = 'health' then 50 else 30 end as is_above_ceiling,
    ceiling_respected_source,
    quality_issues,
    load_id,
    record_number,
    source_file,
    loaded_on
from categorised
