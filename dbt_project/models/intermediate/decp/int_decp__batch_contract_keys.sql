{{ config(materialized="table") }}

-- The contract keys of the pending base keys, as they were before this run and as they are now: a contract key is
-- its base key, or the base key and a publication's initial year when the id was reused across years; raw is
-- append-only, so the years of a base key's records now include those it had before.
select distinct candidates.contract_key, md5(candidates.contract_key) as contract_sk
from {{ ref('int_decp__record_keys') }} as keys
join {{ ref('int_decp__batch_base_keys') }} as batch_keys on batch_keys.base_key = keys.base_key
cross join lateral (
    values (keys.base_key), (keys.base_key || '|' || coalesce(keys.initial_year::text, 'unknown'))
) as candidates (contract_key)
