{{ config(materialized="table") }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__record_keys') }}, {{ ref('int_decp__batch_base_keys') }}

-- The contract keys of the pending base keys, as they were before this run and as they are now: a contract key is
-- its base key, or the base key and a publication's initial year when the id was reused across years; raw is
-- append-only, so the years of a base key's records now include those it had before. Empty on a full rebuild.
{%- if decp_batch_is_full() %}
select null::text as contract_key, null::text as contract_sk where false
{%- else %}
select distinct candidates.contract_key, md5(candidates.contract_key) as contract_sk
from {{ ref('int_decp__record_keys') }} as keys
join {{ ref('int_decp__batch_base_keys') }} as batch_keys on batch_keys.base_key = keys.base_key
cross join lateral (
    values (keys.base_key), (keys.base_key || '|' || coalesce(keys.initial_year::text, 'unknown'))
) as candidates (contract_key)
{%- endif %}
