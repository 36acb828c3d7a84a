-- The shares of a contract in fct_contract_suppliers add up to the contract's usable amounts (equal split
-- between co-contractors; one 'unknown' supplier row for a contract published without supplier).
-- On an incremental run, the contracts the run recomputed (see macro decp_batch_slice).
{%- set full = decp_batch_is_full() %}
{%- set recomputed = "where contract_sk in (select contract_sk from " ~ decp_intermediate('int_decp__batch_contract_keys') ~ ")" %}
select contracts.contract_sk, contracts.amount_usable_eur, shares.amount_shares, shares.share_total
from (select * from {{ ref('fct_contracts') }} {{ '' if full else recomputed }}) as contracts
left join (
    select contract_sk, sum(amount_share_eur) as amount_shares, sum(amount_share) as share_total
    from {{ ref('fct_contract_suppliers') }}
    {{ '' if full else recomputed }}
    group by contract_sk
) as shares on shares.contract_sk = contracts.contract_sk
where shares.contract_sk is null
   or abs(shares.share_total - 1) > 0.00001
   or abs(coalesce(shares.amount_shares, 0) - coalesce(contracts.amount_usable_eur, 0)) > 0.0001
