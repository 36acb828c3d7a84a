{{ config(
    materialized='incremental', incremental_strategy='decp_replace', decp_key='supplier_natural_key_or_sirene',
    pre_hook='set local jit = off',
    post_hook=['{{ decp_analyze() }}', '{{ decp_mark_processed() }}',
               'delete from {{ decp_replaced_suppliers() }} where batch_id <= (select batch_id from {{ ref("int_decp__batch") }})']) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_contract_keys') }}
{%- set batch = decp_dimension_batch() %}
{%- set incremental = batch is not none %}

-- One row per supplier (identifier type + identifier) of a kept contract version, plus the 'unknown' member
-- for suppliers published without an identifier.
--
-- Company size (TPE / PME / ETI / GE / unknown): SIRENE where loaded (TPE = PME with 0-9 employees), else the
-- decp.info tabular dataset's titulaire_categorie (PME / ETI / GE: it cannot tell a TPE), else unknown.
-- Location: the SIRENE establishment's commune, else decp.info's titulaire commune or département, else
-- 'abroad' for foreign identifiers (HORS-UE, UE, a VAT number of another country), else unknown.
-- The name of a legal unit under partial diffusion in SIRENE (a natural person) is never published.
with rows as (
    select * from {{ ref('int_decp__version_suppliers') }}
    where supplier_natural_key is not null
    {%- if incremental %}
      -- a supplier's row depends on all its rows: recompute those whose rows the batch replaced or added
      and supplier_natural_key = any(array({{ decp_batch_suppliers() }}))
    {%- endif %}
),

suppliers as (
    select
        supplier_natural_key,
        min(supplier_id_type) as supplier_id_type,
        min(supplier_siret) as supplier_siret,
        min(supplier_siret_status) as supplier_siret_status,
        min(coalesce(supplier_siret, supplier_id_raw)) as supplier_identifier,
        (array_agg(supplier_name order by is_current desc, contract_key) filter (where supplier_name is not null))[1]
            as published_name,
        mode() within group (order by supplier_category_raw) as tabular_category,
        mode() within group (order by supplier_commune_code_raw) as tabular_commune_code,
        mode() within group (order by supplier_departement_code_raw) as tabular_departement_code
    from rows
    group by supplier_natural_key
),

communes as (
    select commune_code from {{ ref('ref_cog_communes') }}
),

departements as (
    select distinct departement_code from {{ ref('ref_cog_communes') }}
),

sourced as (
    select
        s.*,
        left(s.supplier_siret, 9) as supplier_siren,
        legal_units.company_size as sirene_size,
        legal_units.legal_unit_name as sirene_name,
        coalesce(legal_units.is_name_restricted, false) as is_name_restricted,
        establishments.is_abroad as sirene_abroad,
        sirene_commune.commune_code as sirene_commune_code,
        tabular_commune.commune_code as tabular_commune,
        tabular_departement.departement_code as tabular_departement
    from suppliers as s
    left join {{ ref('stg_sirene__legal_units') }} as legal_units on legal_units.siren = left(s.supplier_siret, 9)
    left join {{ ref('stg_sirene__establishments') }} as establishments on establishments.siret = s.supplier_siret
    left join communes as sirene_commune on sirene_commune.commune_code = establishments.commune_code
    left join communes as tabular_commune on tabular_commune.commune_code = s.tabular_commune_code
    left join departements as tabular_departement on tabular_departement.departement_code = s.tabular_departement_code
),

classified as (
    select
        s.*,
        case
            when s.sirene_size in ('TPE', 'PME', 'ETI', 'GE') then s.sirene_size
            when s.tabular_category in ('PME', 'ETI', 'GE') then s.tabular_category
            else 'unknown'
        end as company_size,
        case
            when s.sirene_size in ('TPE', 'PME', 'ETI', 'GE') then 'sirene'
            when s.tabular_category in ('PME', 'ETI', 'GE') then 'decp_tabular'
            else 'none'
        end as company_size_source,
        case
            when s.sirene_commune_code is not null then 'commune:' || s.sirene_commune_code
            when s.sirene_abroad then 'abroad:abroad'
            when s.tabular_commune is not null then 'commune:' || s.tabular_commune
            when s.tabular_departement is not null then 'departement:' || s.tabular_departement
            when s.supplier_id_type in ('HORS-UE', 'UE') then 'abroad:abroad'
            when s.supplier_id_type = 'TVA' and s.supplier_identifier !~* '^FR' then 'abroad:abroad'
        end as geography_natural_key,
        case
            when s.sirene_commune_code is not null or s.sirene_abroad then 'sirene'
            when s.tabular_commune is not null or s.tabular_departement is not null then 'decp_tabular'
            when s.supplier_id_type in ('HORS-UE', 'UE', 'TVA') and coalesce(s.supplier_identifier !~* '^FR', true)
                then 'identifier'
            else 'none'
        end as location_source
    from sourced as s
),

members as (
select
    {{ surrogate_key('supplier', 'c.supplier_natural_key') }} as supplier_key,
    c.supplier_natural_key,
    c.supplier_id_type,
    c.supplier_identifier,
    c.supplier_siret,
    c.supplier_siren,
    c.supplier_siret_status,
    case when not c.is_name_restricted then coalesce(c.sirene_name, c.published_name) end as supplier_name,
    c.is_name_restricted,
    c.company_size,
    case c.company_size when 'TPE' then 'Très petite entreprise' when 'PME' then 'Petite ou moyenne entreprise'
        when 'ETI' then 'Entreprise de taille intermédiaire' when 'GE' then 'Grande entreprise' else 'Inconnue' end
        as company_size_fr,
    c.company_size_source,
    coalesce(geography.geography_key, {{ unknown_key() }}) as supplier_geography_key,
    coalesce(geography.geography_level = 'abroad', false) as is_abroad,
    geography.commune_code,
    geography.departement_code,
    geography.region_code,
    c.location_source
from classified as c
left join {{ ref('dim_geography') }} as geography
    on geography.geography_key = {{ surrogate_key('geography', 'c.geography_natural_key') }}

{%- if not incremental %}

union all

select {{ unknown_key() }}, 'unknown', null, null, null, null, null, null, false, 'unknown', 'Inconnue', 'none',
       {{ unknown_key() }}, false, null, null, null, 'none'
{%- endif %}
)

-- attributes_batch_id: see macros/indicator_groups.sql
{{ with_attributes_batch('members', 'supplier_key', ['company_size', 'is_abroad', 'departement_code', 'region_code']) }}
