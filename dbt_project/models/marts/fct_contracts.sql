{{ config(
    materialized='incremental', incremental_strategy='decp_replace', decp_key='contract_sk', unique_key='contract_sk',
    indexes=[{'columns': ['contract_sk'], 'unique': true}, {'columns': ['buyer_key', 'buyer_geography_key']}],
    pre_hook=['set local jit = off', "set local work_mem = '256MB'", '{{ decp_full_build_joins() }}'],
    post_hook=['{{ decp_analyze() }}', '{{ decp_mark_processed() }}']) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_contract_keys') }}, {{ ref('int_decp__records') }}
{%- set batch = decp_partial_batch() %}
{%- set incremental = batch is not none %}

-- One row per contract (deduplicated, see int_decp__record_keys and int_decp__contract_versions), at its
-- current version, with the keys of its dimensions (the 'unknown' member when a value is missing) and the
-- initial award beside the current state. Amounts are EUR excl. VAT; *_usable_eur are null when the amount
-- is unusable (amount_problem says why).
-- On an incremental run the tables below are filtered by `contract_key = any(array(...))` rather than `in (...)`:
-- the planner then expects a few keys and reads the 1M-row tables by index (with `in`, it took the estimate of
-- pending_contracts, half a million rows, and read everything: 4.3 s instead of 0.3 s for 1,000 new contracts).
with
{%- if incremental %}
pending_contracts as (
    -- the contracts of the pending loads' keys, and those whose buyer moved in dim_buyer: a buyer's location
    -- depends on its records (decp.info columns) and on SIRENE, so only buyers of the pending loads are
    -- compared, or every buyer when SIRENE data changed
    select contract_key from {{ ref('int_decp__batch_contract_keys') }}
    union
    select facts.contract_key
    from {{ this }} as facts
    join {{ ref('dim_buyer') }} as buyers on buyers.buyer_key = facts.buyer_key
    where facts.buyer_key = any(array(
            select buyer_key from {{ ref('dim_buyer') }}
            where buyer_siret in (select pending.buyer_siret from {{ ref('int_decp__records') }} as pending
                                  where pending.load_id = any({{ decp_pending_loads(batch) }}))
               or (select is_sirene_changed from {{ ref('int_decp__batch') }})))
      and facts.buyer_geography_key <> buyers.buyer_geography_key
),
{%- endif %}

versions as (
    -- each version with its contract's initial award beside it (window, not a self-join: the planner then
    -- knows there is one current version per contract and joins the records by hash instead of a million
    -- index lookups)
    select
        *,
        first_value(version_date) over by_contract as initial_version_date,
        first_value(amount_eur) over by_contract as initial_amount_eur,
        first_value(amount_usable_eur) over by_contract as initial_amount_usable_eur,
        first_value(amount_problem) over by_contract as initial_amount_problem,
        first_value(duration_months) over by_contract as initial_duration_months
    from {{ ref('int_decp__contract_versions') }}
    {%- if incremental %}
    where contract_key = any(array(select contract_key from pending_contracts))
    {%- endif %}
    window by_contract as (partition by contract_key order by version_index)
),

current_versions as (
    select * from versions where is_current
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
      and keys.contract_key = any(array(select contract_key from pending_contracts))
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
          and versions.contract_key = any(array(select contract_key from pending_contracts))
        {%- endif %}
        group by versions.contract_key, versions.publication_id
    ) as initial_publications
    group by contract_key
),

contracts as (
    -- one row per contract: its current version, its initial award, the attributes of the record the current
    -- version is kept from, where it was published and how often
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
        current_versions.initial_version_date as notification_date,
        records.publication_date,
        current_versions.version_date as current_version_date,
        current_versions.initial_amount_eur,
        current_versions.initial_amount_usable_eur,
        current_versions.initial_amount_problem,
        current_versions.amount_eur,
        current_versions.amount_usable_eur,
        current_versions.amount_problem,
        current_versions.initial_duration_months,
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
    join {{ ref('int_decp__records') }} as records on records.record_id = current_versions.record_id
    join publications on publications.contract_key = current_versions.contract_key
    left join initial_awards on initial_awards.contract_key = current_versions.contract_key
)

select
    c.contract_sk,
    c.contract_key,
    c.contract_id,
    c.contract_id_raw,
    coalesce(buyers.buyer_key, {{ unknown_key() }}) as buyer_key,
    coalesce(buyers.buyer_geography_key, {{ unknown_key() }}) as buyer_geography_key,
    coalesce(notification_dates.date_key, {{ unknown_key() }}) as notification_date_key,
    coalesce(places.geography_key, {{ unknown_key() }}) as place_geography_key,
    coalesce(cpv.cpv_key, {{ unknown_key() }}) as cpv_key,
    coalesce(procedures.procedure_key, {{ unknown_key() }}) as procedure_key,
    coalesce(natures.nature_key, {{ unknown_key() }}) as nature_key,
    c.record_kind,
    -- works / supplies / services: from the CPV code's division (also for a code missing from CPV 2008),
    -- else the decp.info "type" column, else unknown
    coalesce({{ cpv_contract_type('c.cpv_code') }},
             case c.contract_type_raw when 'Travaux' then 'works' when 'Fournitures' then 'supplies'
                                      when 'Services' then 'services' end,
             'unknown') as contract_type,
    c.notification_date,
    extract(year from c.notification_date)::int as notification_year,
    c.publication_date,
    c.object,
    c.initial_amount_eur,
    c.initial_amount_usable_eur,
    c.initial_amount_problem,
    c.amount_eur,
    c.amount_usable_eur,
    c.amount_problem,
    c.initial_duration_months,
    c.duration_months,
    c.modifications,
    c.current_version_date,
    c.supplier_count,
    c.offers_received,
    c.price_form,
    c.ccag,
    c.grouping_type,
    c.is_innovative,
    c.advance_granted,
    c.advance_rate,
    c.subcontracting_declared,
    c.framework_contract_id,
    c.has_social_consideration,
    c.has_environmental_consideration,
    c.layout as source_layout,
    c.platforms,
    c.publications,
    c.source_records,
    c.main_record_id as source_record_id,
    c.key_shared_by_different_awards,
    c.quality_flags
from contracts as c
left join {{ ref('dim_buyer') }} as buyers on buyers.buyer_siret = c.buyer_siret
left join {{ ref('dim_date') }} as notification_dates on notification_dates.calendar_date = c.notification_date
-- on the natural key, which the surrogate key hashes: no md5 per contract (2 s for a million)
left join {{ ref('dim_geography') }} as places
    on places.geography_level = c.place_geography_level and places.geography_code = c.place_geography_code
left join {{ ref('dim_cpv') }} as cpv on cpv.cpv_code = c.cpv_code
left join {{ ref('dim_procedure') }} as procedures on procedures.procedure = c.procedure
left join {{ ref('dim_contract_nature') }} as natures on natures.nature = c.nature
