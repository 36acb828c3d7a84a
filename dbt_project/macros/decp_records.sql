{# int_decp__records is the union of `parts` tables that dbt builds side by side (one per thread): this is the
   SQL of one part, the records whose record_number % parts = part - 1. One table of a million records took a
   minute on one core while the other core had nothing to do: every DECP model waits for it.

   Every DECP source record (both raw tables) in the unified contract shape, with its place of execution placed in
   COG 2025 and the checks that need reference data. The staging views' SQL is run here, filtered at the raw scan.
   Incremental: the records of the pending loads (int_decp__batch). No merge joins (the intermediate/decp folder's
   pre-hook): the planner underestimates the rows and would sort half a million wide rows on disk three times to
   join them with small reference tables. #}
{% macro decp_records_part(part, parts) %}
{{ config(
    materialized='incremental', incremental_strategy='decp_replace',
    analyze_columns=['record_id', 'load_id', 'buyer_siret', 'layout', 'notification_date', 'place_code', 'cpv_code', 'contract_id'], decp_key='load',
    indexes=[{'columns': ['record_id'], 'unique': true}, {'columns': ['load_id']}, {'columns': ['buyer_siret']}],
    post_hook=["{{ decp_mark_processed() }}"]) }}
{%- set batch = decp_partial_batch() %}
{%- set rows = "record_number % " ~ parts ~ " = " ~ (part - 1) %}
{%- set rows = "load_id = any(" ~ decp_pending_loads(batch) ~ ") and " ~ rows if batch is not none else rows %}
with records as (
    ({{ stg_decp__records_sql(rows) }})
    union all
    ({{ stg_decp__tabular_rows_sql(rows) }})
),

departements as (
    select distinct departement_code, region_code from {{ ref('ref_cog_communes') }}
),

regions as (
    select distinct region_code from {{ ref('ref_cog_communes') }}
),

candidates as (
    select
        r.*,
        commune.commune_code as code_as_commune,
        postal.commune_code as postal_commune,
        named.commune_code as postal_named_commune,
        postal.departement_code as postal_departement,
        departement.departement_code as code_as_departement,
        region.region_code as code_as_region,
        cpv.id is not null as cpv_is_known
    from records as r
    left join {{ ref('ref_cog_communes') }} as commune on commune.commune_code = r.place_code
    left join {{ ref('int_geography__postal_codes') }} as postal
        on postal.postal_code = r.place_code and r.place_code ~ '^[0-9]{5}$'
    -- the commune's name picks one of the communes a postal code serves (label_key only computed then)
    left join {{ ref('int_geography__postal_code_commune_names') }} as named
        on named.postal_code = r.place_code
       and named.name_key = case when postal.communes_served > 1 and r.place_name is not null
                                 then {{ label_key('r.place_name') }} end
    -- départements: the code itself, or the leading characters of an arrondissement, canton, commune or postal
    -- code (also CEDEX codes, which La Poste's base does not list)
    left join departements as departement
        on departement.departement_code = case
            when r.place_type = 'Code département' then r.place_code
            when r.place_type = 'Code région' then null
            when r.place_code ~ '^97[0-9]{1,3}$' then left(r.place_code, 3)
            when r.place_code ~ '^[0-9]{5}$'
                 or (r.place_type in ('Code arrondissement', 'Code canton') and length(r.place_code) in (3, 4))
                then left(r.place_code, 2)
            when r.place_type is null and length(r.place_code) in (2, 3) then r.place_code
           end
    left join regions as region on region.region_code = r.place_code and r.place_type = 'Code région'
    left join {{ ref('ref_cpv_2008') }} as cpv on left(cpv.id, 8) = r.cpv_code
    offset 0
),

placed as (
    select
        c.*,
        -- the declared type first; a code whose declared type does not fit ("Code région" 83220) is read
        -- by its shape: 5 digits known to La Poste are a postal code
        case
            when c.place_type = 'Code commune' and c.code_as_commune is not null then 'commune'
            when coalesce(c.postal_named_commune, c.postal_commune) is not null
                 and (c.place_type = 'Code postal' or c.code_as_commune is null) then 'commune'
            when c.postal_departement is not null
                 and (c.place_type = 'Code postal' or c.code_as_commune is null) then 'departement'
            when c.code_as_commune is not null then 'commune'
            when c.code_as_departement is not null then 'departement'
            when c.code_as_region is not null then 'region'
        end as place_geography_level,
        case
            when c.place_type = 'Code commune' and c.code_as_commune is not null then c.code_as_commune
            when coalesce(c.postal_named_commune, c.postal_commune) is not null
                 and (c.place_type = 'Code postal' or c.code_as_commune is null)
                then coalesce(c.postal_named_commune, c.postal_commune)
            when c.postal_departement is not null
                 and (c.place_type = 'Code postal' or c.code_as_commune is null) then c.postal_departement
            when c.code_as_commune is not null then c.code_as_commune
            when c.code_as_departement is not null then c.code_as_departement
            when c.code_as_region is not null then c.code_as_region
        end as place_geography_code
    from candidates as c
)

select
    p.record_id,
    p.load_id,
    p.record_number,
    p.raw_table,
    p.layout,
    p.record_kind,
    p.platform,
    p.source_file,
    p.buyer_id_raw,
    p.buyer_siret,
    p.buyer_siret_status,
    p.buyer_name,
    p.contract_id_raw,
    p.contract_id,
    p.tabular_uid,
    p.nature_raw,
    p.nature,
    p.contract_type_raw,
    p.object,
    p.cpv_raw,
    p.cpv_code,
    p.procedure_raw,
    p.procedure,
    p.place_code_raw,
    p.place_code,
    p.place_type_raw,
    p.place_type,
    p.place_name,
    p.place_geography_level,
    p.place_geography_code,
    p.duration_raw,
    p.duration_months,
    p.notification_date_raw,
    p.notification_date,
    p.publication_date_raw,
    p.publication_date,
    p.amount_raw,
    p.amount_eur,
    p.amount_usable_eur,
    p.price_form_raw,
    p.price_form,
    p.offers_received,
    p.ccag,
    p.grouping_type,
    p.is_innovative,
    p.advance_granted,
    p.advance_rate,
    p.subcontracting_declared,
    p.framework_contract_id,
    p.has_social_consideration,
    p.has_environmental_consideration,
    p.origin_eu_share,
    p.origin_france_share,
    p.suppliers,
    p.modifications,
    p.tabular_version,
    p.tabular_is_current,
    p.buyer_category_raw,
    p.buyer_commune_code_raw,
    p.buyer_departement_code_raw,
    p.quality_flags
        || case when p.cpv_code is not null and not p.cpv_is_known then array['cpv_unknown_code'] else '{}'::text[] end
        || case when p.place_code is not null and p.place_geography_level is null
                then array['place_unresolved'] else '{}'::text[] end
        as quality_flags
from placed as p
{% endmacro %}
