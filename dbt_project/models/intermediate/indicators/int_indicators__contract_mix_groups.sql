{{ config(
    materialized='incremental', incremental_strategy='decp_replace', decp_key='buyer_key',
    indexes=[{'columns': ['buyer_key']}],
    post_hook=['{{ decp_analyze() }}', '{{ decp_mark_processed() }}']) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_indicators__batch_buyers') }}
{%- set batch = decp_batch() if is_incremental() else none %}
{%- set incremental = batch is not none and not batch.full %}
-- The contracts in the scope of the DECP indicators by buyer x notification year x works/supplies/services x
-- procedure family, for the breakdowns of order_book (by nature) and competition (by procedure family).

with contracts as (
    {{- indicator_group_contracts(incremental) }}
)

select
    buyer_key, year, contract_type, procedure_family,
    count(*) as contracts,
    count(amount_eur) as contracts_with_amount,
    sum(amount_eur) as amount_eur
from contracts
group by buyer_key, year, contract_type, procedure_family
