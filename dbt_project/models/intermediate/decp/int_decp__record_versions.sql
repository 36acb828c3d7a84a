{{ config(
    materialized='incremental', incremental_strategy='decp_replace',
    analyze_columns=['record_id', 'load_id', 'contract_key', 'publication_id', 'version_index', 'from_tabular_row'], decp_key='contract_key',
    indexes=[{'columns': ['contract_key']}],
    post_hook=["{{ decp_mark_processed() }}"]) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_contract_keys') }}
{%- set batch = decp_batch() if is_incremental() else none %}
{%- set incremental = batch is not none and not batch.full %}

-- The versions of a contract each source record describes: one row per record and version.
-- Version 0 is the initial award; version k applies the k-th modification on top of version k-1
-- (a modification that does not restate the amount, duration or suppliers keeps the previous ones).
-- * JSON/XML records carry their modifications in a list: version k = k-th item, in published order.
-- * Ministry CSV rows carry at most one modification, numbered idModification.
-- * decp.info tabular rows are already one version each (modification_id); where the column is absent,
--   versions are numbered by notification date within the publication, as decp.info itself does.
-- Rejected records (no key) have no version.
with records as (
    select
        r.record_id, r.load_id, r.layout, r.notification_date, r.publication_date, r.amount_eur, r.duration_months,
        r.suppliers, r.modifications, r.tabular_version, k.contract_key, k.publication_id
    from {{ ref('int_decp__records') }} as r
    join {{ ref('int_decp__record_keys') }} as k on k.record_id = r.record_id
    where k.rejection_reason is null
    {%- if incremental %}
      and k.contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
    {%- endif %}
),

published_versions as (
    -- the initial award of every record that is not a decp.info row and has modifications
    select
        record_id, load_id, publication_id, contract_key,
        0 as version_index,
        notification_date as version_date,
        publication_date,
        amount_eur,
        duration_months,
        case when jsonb_array_length(suppliers) > 0 then suppliers end as suppliers
    from records
    where layout <> 'decp-tabular' and jsonb_array_length(modifications) > 0

    union all

    -- their modifications
    select
        r.record_id, r.load_id, r.publication_id, r.contract_key,
        (m.item ->> 'position')::int,
        {{ to_date_any("m.item ->> 'notification_date'") }},
        {{ to_date_any("m.item ->> 'publication_date'") }},
        {{ to_amount("m.item ->> 'amount'") }},
        {{ to_months("m.item ->> 'duration'") }},
        case when jsonb_array_length(m.item -> 'suppliers') > 0 then m.item -> 'suppliers' end
    from records as r
    cross join jsonb_array_elements(r.modifications) as m (item)
    where r.layout <> 'decp-tabular'
),

carried as (
    -- group numbers that change at each version restating a value: the value of the group's first row is
    -- the last one stated (PostgreSQL has no IGNORE NULLS)
    select
        *,
        count(amount_eur) over by_version as amount_group,
        count(duration_months) over by_version as duration_group,
        count(suppliers) over by_version as suppliers_group
    from published_versions
    window by_version as (partition by record_id order by version_index)
),

record_versions as (
    select
        record_id, load_id, publication_id, contract_key, version_index, version_date, publication_date,
        first_value(amount_eur) over (partition by record_id, amount_group order by version_index) as amount_eur,
        first_value(duration_months) over (partition by record_id, duration_group order by version_index)
            as duration_months,
        coalesce(first_value(suppliers) over (partition by record_id, suppliers_group order by version_index),
                 '[]'::jsonb) as suppliers
    from carried
),

unmodified_versions as (
    -- a record without modification has its initial award only: nothing to carry over
    select
        record_id, load_id, publication_id, contract_key,
        0 as version_index,
        notification_date as version_date,
        publication_date,
        amount_eur,
        duration_months,
        suppliers
    from records
    where layout <> 'decp-tabular' and jsonb_array_length(modifications) = 0
),

tabular_versions as (
    select
        record_id, load_id, publication_id, contract_key,
        coalesce(tabular_version,
                 (dense_rank() over (partition by publication_id order by notification_date))::int - 1) as version_index,
        notification_date as version_date,
        publication_date,
        amount_eur,
        duration_months,
        suppliers
    from records
    where layout = 'decp-tabular'
)

select
    versions.*,
    {{ amount_problem('versions.amount_eur') }} as amount_problem
from (
    select *, false as from_tabular_row from record_versions
    union all
    select *, false from unmodified_versions
    union all
    select *, true from tabular_versions
) as versions
