{{ config(
    materialized='incremental', incremental_strategy='decp_replace', decp_key='buyer_siret_or_sirene',
    pre_hook='set local jit = off', post_hook=['{{ decp_analyze() }}', '{{ decp_mark_processed() }}']) }}
-- depends_on: {{ ref('int_decp__batch') }}
{%- set batch = decp_dimension_batch() %}
{%- set incremental = batch is not none %}

-- One row per buyer (SIRET as published, cleaned) of a kept record, plus the 'unknown' member.
--
-- Category, from the first source that has one:
--   1. the INSEE legal category in SIRENE (when loaded), by longest prefix in ref_buyer_categories;
--   2. acheteur_categorie of the decp.info tabular dataset (ref_buyer_categories_tabular);
--   3. the SIREN numbering of public bodies: 21 communes, 22 départements, 23 régions, 24-25
--      intercommunal bodies and syndicates, 26 public hospitals;
--   else unknown. Location likewise: SIRENE establishment, decp.info acheteur commune/département, the
--   INSEE commune code a commune's SIREN embeds ("21" + département + "0" + commune number), else unknown.
with records as (
    select buyer_siret, buyer_name, buyer_category_raw, buyer_commune_code_raw, buyer_departement_code_raw,
           load_id, record_number
    from {{ ref('int_decp__records') }}
    where buyer_siret is not null
    {%- if incremental %}
      -- records are only ever added (by load): a buyer changes only with new records of its own, or with SIRENE
      and buyer_siret = any(array({{ decp_pending_buyer_sirets(batch) }}))
    {%- endif %}
),

buyers as (
    select
        buyer_siret,
        left(buyer_siret, 9) as buyer_siren,
        (array_agg(buyer_name order by load_id desc, record_number desc) filter (where buyer_name is not null))[1]
            as published_name,
        mode() within group (order by buyer_category_raw) as tabular_category,
        mode() within group (order by buyer_commune_code_raw) as tabular_commune_code,
        mode() within group (order by buyer_departement_code_raw) as tabular_departement_code
    from records
    group by buyer_siret
),

communes as (
    select commune_code, departement_code from {{ ref('ref_cog_communes') }}
),

departements as (
    select distinct departement_code from {{ ref('ref_cog_communes') }}
),

sourced as (
    select
        b.*,
        status.status as siret_status,
        legal_units.legal_unit_name as sirene_name,
        legal_units.legal_category,
        coalesce(legal_units.is_name_restricted, false) as is_name_restricted,
        by_legal_category.buyer_category as legal_category_buyer_category,
        by_legal_category.local_authority_level as legal_category_level,
        tabular.buyer_category as tabular_buyer_category,
        tabular.local_authority_level as tabular_level,
        sirene_commune.commune_code as sirene_commune_code,
        tabular_commune.commune_code as tabular_commune,
        tabular_departement.departement_code as tabular_departement,
        siren_commune.commune_code as siren_commune_code,
        siren_departement.departement_code as siren_departement_code
    from buyers as b
    cross join lateral (select {{ siret_status('b.buyer_siret') }} as status) as status
    left join {{ ref('stg_sirene__legal_units') }} as legal_units on legal_units.siren = b.buyer_siren
    left join lateral (
        select categories.buyer_category, categories.local_authority_level
        from {{ ref('ref_buyer_categories') }} as categories
        where legal_units.legal_category like categories.legal_category_prefix || '%'
        order by length(categories.legal_category_prefix) desc
        limit 1
    ) as by_legal_category on true
    left join {{ ref('ref_buyer_categories_tabular') }} as tabular on tabular.tabular_category = b.tabular_category
    left join {{ ref('stg_sirene__establishments') }} as establishments on establishments.siret = b.buyer_siret
    left join communes as sirene_commune on sirene_commune.commune_code = establishments.commune_code
    left join communes as tabular_commune on tabular_commune.commune_code = b.tabular_commune_code
    left join departements as tabular_departement on tabular_departement.departement_code = b.tabular_departement_code
    left join communes as siren_commune
        on b.buyer_siren ~ '^21[0-9]{7}$'
       and siren_commune.commune_code = case when substr(b.buyer_siren, 3, 2) = '97'
                                             then substr(b.buyer_siren, 3, 3) || substr(b.buyer_siren, 7, 2)
                                             else substr(b.buyer_siren, 3, 2) || substr(b.buyer_siren, 6, 3) end
    left join departements as siren_departement
        on b.buyer_siren ~ '^22[0-9]{7}$'
       and siren_departement.departement_code = case when substr(b.buyer_siren, 3, 2) = '97'
                                                     then substr(b.buyer_siren, 3, 3) else substr(b.buyer_siren, 3, 2) end
),

classified as (
    select
        s.*,
        case
            when s.legal_category is not null then coalesce(s.legal_category_buyer_category, 'other')
            when s.tabular_buyer_category is not null then s.tabular_buyer_category
            when s.buyer_siren ~ '^2[1-5]' then 'local_authority'
            when s.buyer_siren ~ '^26' then 'health'
            else 'unknown'
        end as buyer_category,
        case
            when s.legal_category is not null then s.legal_category_level
            when s.tabular_buyer_category is not null then s.tabular_level
            when s.buyer_siren ~ '^21' then 'commune'
            when s.buyer_siren ~ '^22' then 'departement'
            when s.buyer_siren ~ '^23' then 'region'
            when s.buyer_siren ~ '^2[45]' then 'intercommunal'
        end as local_authority_level,
        case
            when s.legal_category is not null then 'sirene'
            when s.tabular_buyer_category is not null then 'decp_tabular'
            when s.buyer_siren ~ '^2[1-6]' then 'siren_range'
            else 'none'
        end as category_source,
        case
            when s.sirene_commune_code is not null then 'commune:' || s.sirene_commune_code
            when s.tabular_commune is not null then 'commune:' || s.tabular_commune
            when s.tabular_departement is not null then 'departement:' || s.tabular_departement
            when s.siren_commune_code is not null then 'commune:' || s.siren_commune_code
            when s.siren_departement_code is not null then 'departement:' || s.siren_departement_code
        end as geography_natural_key,
        case
            when s.sirene_commune_code is not null then 'sirene'
            when s.tabular_commune is not null or s.tabular_departement is not null then 'decp_tabular'
            when s.siren_commune_code is not null or s.siren_departement_code is not null then 'siren_range'
            else 'none'
        end as location_source
    from sourced as s
),

members as (
select
    {{ surrogate_key('buyer', 'c.buyer_siret') }} as buyer_key,
    c.buyer_siret,
    c.buyer_siren,
    c.siret_status as buyer_siret_status,
    case when not c.is_name_restricted then coalesce(c.sirene_name, c.published_name) end as buyer_name,
    c.legal_category,
    legal_labels."libellé" as legal_category_label,
    c.buyer_category,
    category_labels.label_fr as buyer_category_fr,
    c.local_authority_level,
    level_labels.label_fr as local_authority_level_fr,
    c.category_source,
    coalesce(geography.geography_key, {{ unknown_key() }}) as buyer_geography_key,
    geography.commune_code,
    geography.departement_code,
    geography.region_code,
    coalesce(geography.is_hauts_de_france, false) as is_hauts_de_france,
    c.location_source
from classified as c
left join {{ ref('ref_insee_legal_categories') }} as legal_labels on legal_labels.code = c.legal_category
left join {{ ref('ref_buyer_category_labels') }} as category_labels
    on category_labels.kind = 'category' and category_labels.code = c.buyer_category
left join {{ ref('ref_buyer_category_labels') }} as level_labels
    on level_labels.kind = 'level' and level_labels.code = c.local_authority_level
left join {{ ref('dim_geography') }} as geography
    on geography.geography_key = {{ surrogate_key('geography', 'c.geography_natural_key') }}

union all

select {{ unknown_key() }}, null, null, 'missing', null, null, null, 'unknown', 'Inconnue', null, null, 'none',
       {{ unknown_key() }}, null, null, null, false, 'none'
)

-- attributes_batch_id: see macros/indicator_groups.sql
{{ with_attributes_batch('members', 'buyer_key', ['departement_code', 'region_code']) }}
