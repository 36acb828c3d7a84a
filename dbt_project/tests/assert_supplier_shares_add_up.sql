-- The shares of a contract in fct_contract_suppliers add up to the contract's usable amounts (equal split
-- between co-contractors; one 'unknown' supplier row for a contract published without supplier).
select contracts.contract_sk, contracts.amount_usable_eur, shares.amount_shares, shares.share_total
from {{ ref('fct_contracts') }} as contracts
left join (
    select contract_sk, sum(amount_share_eur) as amount_shares, sum(amount_share) as share_total
    from {{ ref('fct_contract_suppliers') }}
    group by contract_sk
) as shares on shares.contract_sk = contracts.contract_sk
where shares.contract_sk is null
   or abs(shares.share_total - 1) > 0.00001
   or abs(coalesce(shares.amount_shares, 0) - coalesce(contracts.amount_usable_eur, 0)) > 0.0001
