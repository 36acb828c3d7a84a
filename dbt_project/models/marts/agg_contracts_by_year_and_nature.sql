{{ config(pre_hook='set local jit = off', post_hook='analyze {{ this }}') }}

-- Count and amount of contracts by year of notification and nature (the observatory's first table):
-- one row per current contract of fct_contracts (deduplicated), nature normalised to the schemas' values,
-- amounts = usable initial amounts (EUR excl. VAT; placeholders and out-of-range amounts left out).
select
    contracts.notification_year,
    natures.nature,
    count(*) as contracts,
    sum(contracts.initial_amount_usable_eur) as amount_eur
from {{ ref('fct_contracts') }} as contracts
join {{ ref('dim_contract_nature') }} as natures on natures.nature_key = contracts.nature_key
group by 1, 2
