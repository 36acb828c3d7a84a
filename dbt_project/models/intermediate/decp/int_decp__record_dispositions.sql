{{ config(
    materialized='incremental', incremental_strategy='decp_replace',
    analyze_columns=['record_id', 'load_id', 'contract_key', 'disposition'], decp_key='contract_key_or_load',
    indexes=[{'columns': ['contract_key']}, {'columns': ['load_id']}, {'columns': ['record_id']}],
    post_hook=["{{ decp_mark_processed() }}"]) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_contract_keys') }}
{%- set batch = decp_partial_batch() %}
{%- set incremental = batch is not none %}

-- What became of every source record (both raw tables), one row each:
--   in_marts   the record is (one of) the source(s) of a contract version kept in the marts;
--   duplicate  every version it describes is kept from another publication: duplicate_of_record_id names
--              the record kept for its latest version;
--   rejected   it cannot be keyed (rejection_reason, explained in ref_quality_flags).
-- marts.rpt_decp_load_reconciliation checks, per load, that raw = in marts + rejected + duplicates against
-- the marts' own lineage.
with keys as (
    select record_id, load_id, contract_key, rejection_reason, platform
    from {{ ref('int_decp__record_keys') }}
    {%- if incremental %}
    where contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }}) or load_id = any({{ decp_pending_loads(batch) }})
    {%- endif %}
),

kept_records as (
    select distinct unnest(source_record_ids) as record_id
    from {{ ref('int_decp__contract_versions') }}
    {%- if incremental %}
    where contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
    {%- endif %}
),

dispositions as (
    select
        keys.*,
        case when keys.rejection_reason is not null then 'rejected'
             when kept_records.record_id is not null then 'in_marts'
             else 'duplicate' end as disposition
    from keys
    left join kept_records on kept_records.record_id = keys.record_id
),

duplicates as (
    -- only duplicates name the record kept instead of them
    select record_id, contract_key, platform from dispositions where disposition = 'duplicate'
),

latest_version as (
    select versions.record_id, max(versions.version_index) as version_index
    from {{ ref('int_decp__record_versions') }} as versions
    where versions.record_id in (select record_id from duplicates)
    {%- if incremental %}
      and versions.contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
    {%- endif %}
    group by versions.record_id
),

kept_for as (
    select
        duplicates.record_id,
        kept.record_id as kept_record_id,
        kept_record.platform = duplicates.platform as same_platform
    from duplicates
    join latest_version on latest_version.record_id = duplicates.record_id
    join {{ ref('int_decp__contract_versions') }} as kept
        on kept.contract_key = duplicates.contract_key and kept.version_index = latest_version.version_index
    join keys as kept_record on kept_record.record_id = kept.record_id
)

select
    dispositions.record_id,
    dispositions.load_id,
    dispositions.contract_key,
    dispositions.disposition,
    dispositions.rejection_reason,
    kept_for.kept_record_id as duplicate_of_record_id,
    case when dispositions.disposition <> 'duplicate' then null
         when kept_for.same_platform then 'published_again'
         else 'other_platform' end as duplicate_reason
from dispositions
left join kept_for on kept_for.record_id = dispositions.record_id
