{{ config(
    materialized='incremental', incremental_strategy='decp_replace', decp_key='contract_sk', unique_key='contract_sk',
    indexes=[{'columns': ['contract_sk']}, {'columns': ['supplier_key']}],
    pre_hook=['set local jit = off', "set local work_mem = '256MB'"],
    post_hook=['{{ decp_analyze() }}', '{{ decp_mark_processed() }}']) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_contract_keys') }}
{%- set batch = decp_partial_batch() %}
{%- set incremental = batch is not none %}

-- One row per contract and supplier of its current version. A contract's amount is split equally between
-- its co-contractors (the observatory's rule): amount_share_eur = amount / number of suppliers. A contract
-- published without any supplier has one row for the 'unknown' supplier with the whole amount, so that the
-- shares of a contract always add up to its amount.
with contracts as (
    select contract_sk, buyer_key, notification_date_key, cpv_key, contract_type, initial_amount_usable_eur,
           amount_usable_eur, supplier_count
    from {{ ref('fct_contracts') }}
    {%- if incremental %}
    where contract_sk in (select contract_sk from {{ ref('int_decp__batch_contract_keys') }})
    {%- endif %}
),

suppliers as (
    select contract_sk, supplier_position, supplier_natural_key, supplier_siret_status, is_id_type_inferred
    from {{ ref('int_decp__version_suppliers') }}
    where is_current
    {%- if incremental %}
      and contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
    {%- endif %}
)

select
    c.contract_sk,
    coalesce(s.supplier_position, 1) as supplier_position,
    -- dim_supplier's key, computed from the natural key (every one is a member: see the relationships test)
    -- rather than joined, so that the facts need not wait for the dimension
    coalesce({{ surrogate_key('supplier', 's.supplier_natural_key') }}, {{ unknown_key() }}) as supplier_key,
    c.buyer_key,
    c.notification_date_key,
    c.cpv_key,
    c.contract_type,
    greatest(c.supplier_count, 1) as co_contractors,
    round(1.0 / greatest(c.supplier_count, 1), 6) as amount_share,
    -- 6 decimals: exact enough for the shares of a contract to add up to its amount
    round(c.initial_amount_usable_eur / greatest(c.supplier_count, 1), 6) as initial_amount_share_eur,
    round(c.amount_usable_eur / greatest(c.supplier_count, 1), 6) as amount_share_eur,
    s.supplier_siret_status,
    coalesce(s.is_id_type_inferred, false) as is_id_type_inferred
from contracts as c
left join suppliers as s on s.contract_sk = c.contract_sk
