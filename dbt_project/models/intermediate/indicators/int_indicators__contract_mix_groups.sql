-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_indicators__batch_buyers') }}
{%- set incremental = indicator_groups_model() is not none %}
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
