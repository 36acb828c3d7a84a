{{ config(materialized="table") }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__records') }}

-- The base keys (int_decp__record_keys) of the records of the pending loads: the incremental DECP models recompute
-- every record and contract of these keys. Empty when the models are rebuilt in full (decided when the model runs:
-- a full build does not read the million records for nothing).
{%- if decp_batch_is_full() %}
select null::text as base_key where false
{%- else %}
select distinct {{ decp_base_key('records') }} as base_key
from {{ ref('int_decp__records') }} as records
where records.load_id = any({{ decp_current_loads() }})
  and records.buyer_siret is not null
{%- endif %}
