{{ config(
    materialized='incremental', incremental_strategy='decp_replace',
    analyze_columns=['contract_sk', 'contract_key', 'main_record_id', 'buyer_siret', 'notification_date', 'cpv_code', 'procedure', 'nature', 'place_geography_level', 'place_geography_code'], decp_key='contract_key',
    indexes=[{'columns': ['contract_key'], 'unique': true}, {'columns': ['buyer_siret']}],
    post_hook=["{{ decp_mark_processed() }}"]) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_contract_keys') }}
{%- set batch = decp_batch() if is_incremental() else none %}
{%- set incremental = batch is not none and not batch.full %}

-- One row per contract (contract key): its current version, its initial award, the attributes of the
-- record the current version is kept from, where it was published and how often.
with versions as (
    select * from {{ ref('int_decp__contract_versions') }}
    {%- if incremental %}
    where contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
    {%- endif %}
),

current_versions as (
    select * from versions where is_current
),

initial_versions as (
    select distinct on (contract_key) *
    from versions
    order by contract_key, version_index
),

publications as (
    -- every publication of the contract, kept or duplicate, with its initial award's fingerprint
    select
        keys.contract_key,
        count(distinct keys.publication_id) as publications,
        count(*) as source_records,
        array_agg(distinct keys.platform order by keys.platform) as platforms
    from {{ ref('int_decp__record_keys') }} as keys
    where keys.rejection_reason is null
    {%- if incremental %}
      and keys.contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
    {%- endif %}
    group by keys.contract_key
),

initial_awards as (
    -- lots published under one id show as publications of version 0 that disagree on the award (a contract
    -- published once cannot disagree with itself: only the others are compared)
    select
        contract_key,
        count(distinct concat_ws('|', version_date, trim_scale(amount_eur),
              (select string_agg(supplier ->> 'id', ',' order by supplier ->> 'id')
               from jsonb_array_elements(suppliers) as supplier))) as distinct_initial_awards
    from (
        select versions.contract_key, versions.publication_id, min(versions.version_date) as version_date,
               min(versions.amount_eur) as amount_eur,
               jsonb_path_query_array(jsonb_agg(versions.suppliers), '$[*][*]') as suppliers
        from {{ ref('int_decp__record_versions') }} as versions
        join publications on publications.contract_key = versions.contract_key and publications.publications > 1
        where versions.version_index = 0
        {%- if incremental %}
          and versions.contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
        {%- endif %}
        group by versions.contract_key, versions.publication_id
    ) as initial_publications
    group by contract_key
)

select
    current_versions.contract_sk,
    current_versions.contract_key,
    current_versions.record_id as main_record_id,
    current_versions.version_index as modifications,
    records.layout,
    records.record_kind,
    records.buyer_siret,
    records.buyer_name,
    records.contract_id,
    records.contract_id_raw,
    records.nature,
    records.contract_type_raw,
    records.object,
    records.cpv_code,
    records.procedure,
    records.place_code,
    records.place_type,
    records.place_geography_level,
    records.place_geography_code,
    initial_versions.version_date as notification_date,
    records.publication_date,
    current_versions.version_date as current_version_date,
    initial_versions.amount_eur as initial_amount_eur,
    initial_versions.amount_usable_eur as initial_amount_usable_eur,
    initial_versions.amount_problem as initial_amount_problem,
    current_versions.amount_eur,
    current_versions.amount_usable_eur,
    current_versions.amount_problem,
    initial_versions.duration_months as initial_duration_months,
    current_versions.duration_months,
    current_versions.suppliers,
    jsonb_array_length(current_versions.suppliers) as supplier_count,
    records.price_form,
    records.offers_received,
    records.ccag,
    records.grouping_type,
    records.is_innovative,
    records.advance_granted,
    records.advance_rate,
    records.subcontracting_declared,
    records.framework_contract_id,
    records.has_social_consideration,
    records.has_environmental_consideration,
    publications.publications,
    publications.source_records,
    publications.platforms,
    coalesce(initial_awards.distinct_initial_awards, 1) > 1 as key_shared_by_different_awards,
    records.quality_flags
        || case when coalesce(initial_awards.distinct_initial_awards, 1) > 1
                then array['key_shared_by_different_awards'] else '{}'::text[] end
        as quality_flags
from current_versions
join initial_versions on initial_versions.contract_key = current_versions.contract_key
join {{ ref('int_decp__records') }} as records on records.record_id = current_versions.record_id
join publications on publications.contract_key = current_versions.contract_key
left join initial_awards on initial_awards.contract_key = current_versions.contract_key
