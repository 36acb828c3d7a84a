-- Every contract of fct_contracts has exactly one current version in fct_contract_modifications, its latest.
-- On an incremental run, the contracts the run recomputed (see macro decp_batch_slice).
{%- set full = decp_batch_is_full() %}
{%- set recomputed = "where contract_sk in (select contract_sk from " ~ decp_intermediate('int_decp__batch_contract_keys') ~ ")" %}
select contracts.contract_sk, versions.current_versions, versions.latest_version, contracts.modifications
from (select * from {{ ref('fct_contracts') }} {{ '' if full else recomputed }}) as contracts
left join (
    select contract_sk, count(*) filter (where is_current) as current_versions, max(version_index) as latest_version,
           max(version_index) filter (where is_current) as current_version
    from {{ ref('fct_contract_modifications') }}
    {{ '' if full else recomputed }}
    group by contract_sk
) as versions on versions.contract_sk = contracts.contract_sk
where versions.current_versions is distinct from 1
   or versions.current_version is distinct from versions.latest_version
   or versions.latest_version is distinct from contracts.modifications
