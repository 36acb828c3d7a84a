{{ config(materialized='table') }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__records') }}, {{ ref('dim_buyer') }}, {{ ref('dim_supplier') }}
-- depends_on: {{ ref('fct_contracts') }}, {{ ref('fct_contract_suppliers') }}
-- The buyers whose indicator groups an incremental run recomputes (macros/indicator_groups.sql): the buyers of the
-- pending loads' records (their contracts may be new, changed or gone), the buyers of contracts whose suppliers
-- changed size or location, and the buyers that moved (local_retention compares supplier and buyer locations).
-- Empty when the DECP models are rebuilt in full.
{%- if decp_batch_is_full() %}
select null::text as buyer_key where false
{%- else %}
select coalesce(buyers.buyer_key, {{ unknown_key() }}) as buyer_key
from (select distinct buyer_siret from {{ ref('int_decp__records') }}
      where load_id = any({{ decp_current_loads() }})) as pending
left join {{ ref('dim_buyer') }} as buyers on buyers.buyer_siret = pending.buyer_siret

union

select contracts.buyer_key
from {{ ref('fct_contract_suppliers') }} as contract_suppliers
inner join {{ ref('fct_contracts') }} as contracts on contracts.contract_sk = contract_suppliers.contract_sk
where contract_suppliers.supplier_key = any(array(
    select supplier_key from {{ ref('dim_supplier') }}
    where attributes_batch_id > {{ indicator_groups_processed_through() }}))

union

select buyer_key from {{ ref('dim_buyer') }}
where attributes_batch_id > {{ indicator_groups_processed_through() }}
{%- endif %}
