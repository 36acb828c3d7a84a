{{ config(materialized="table") }}

-- The base keys (int_decp__record_keys) of the records of the pending loads: the incremental DECP models recompute
-- every record and contract of these keys. Empty when the models are rebuilt in full.
select distinct {{ decp_base_key('records') }} as base_key
from {{ ref('int_decp__records') }} as records
where records.load_id = any({{ decp_current_loads() }})
  and not (select is_full_rebuild from {{ ref('int_decp__batch') }})
  and records.buyer_siret is not null
