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
),

kept_records as (
    select distinct unnest(source_record_ids) as record_id
    from {{ ref('int_decp__contract_versions') }}
),

latest_version as (
    select record_id, max(version_index) as version_index
    from {{ ref('int_decp__record_versions') }}
    group by record_id
),

kept_for as (
    select
        latest_version.record_id,
        kept.record_id as kept_record_id,
        kept_record.platform as kept_platform
    from latest_version
    join keys on keys.record_id = latest_version.record_id
    join {{ ref('int_decp__contract_versions') }} as kept
        on kept.contract_key = keys.contract_key and kept.version_index = latest_version.version_index
    join keys as kept_record on kept_record.record_id = kept.record_id
)

select
    keys.record_id,
    keys.load_id,
    keys.contract_key,
    case when keys.rejection_reason is not null then 'rejected'
         when kept_records.record_id is not null then 'in_marts'
         else 'duplicate' end as disposition,
    keys.rejection_reason,
    case when keys.rejection_reason is null and kept_records.record_id is null
         then kept_for.kept_record_id end as duplicate_of_record_id,
    case when keys.rejection_reason is not null or kept_records.record_id is not null then null
         when kept_for.kept_platform = keys.platform then 'published_again'
         else 'other_platform' end as duplicate_reason
from keys
left join kept_records on kept_records.record_id = keys.record_id
left join kept_for on kept_for.record_id = keys.record_id
