{{ config(
    materialized='incremental', incremental_strategy='decp_replace', decp_key='contract_sk', unique_key='contract_sk',
    indexes=[{'columns': ['contract_sk']}],
    pre_hook=['set local jit = off', "set local work_mem = '256MB'"],
    post_hook=['{{ decp_analyze() }}', '{{ decp_mark_processed() }}']) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_contract_keys') }}
{%- set batch = decp_partial_batch() %}
{%- set incremental = batch is not none %}

-- One row per version of a contract: version 0 is the initial award, version k the state after its k-th
-- modification; is_current marks the version fct_contracts shows. source_record_ids are the raw records the
-- version is kept from (load_id * 10^10 + record_number): the lineage the load reconciliation counts.
select
    versions.contract_sk,
    versions.version_index,
    versions.is_current,
    coalesce(version_dates.date_key, {{ unknown_key() }}) as version_date_key,
    versions.version_date,
    versions.publication_date,
    versions.amount_eur,
    versions.amount_usable_eur,
    versions.amount_problem,
    versions.amount_usable_eur - lag(versions.amount_usable_eur) over by_version as amount_change_eur,
    versions.duration_months,
    versions.duration_months - lag(versions.duration_months) over by_version as duration_change_months,
    jsonb_array_length(versions.suppliers) as supplier_count,
    versions.publications,
    versions.record_id as source_record_id,
    versions.source_record_ids
from {{ ref('int_decp__contract_versions') }} as versions
left join {{ ref('dim_date') }} as version_dates on version_dates.calendar_date = versions.version_date
{%- if incremental %}
where versions.contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
{%- endif %}
window by_version as (partition by versions.contract_sk order by versions.version_index)
