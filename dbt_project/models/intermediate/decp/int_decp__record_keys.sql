{{ config(
    materialized='incremental', incremental_strategy='decp_replace',
    analyze_columns=['record_id', 'load_id', 'base_key', 'contract_key', 'publication_id', 'rejection_reason', 'initial_year'], decp_key='base_key',
    indexes=[{'columns': ['base_key']}, {'columns': ['contract_key']}, {'columns': ['load_id']}],
    post_hook=["{{ decp_mark_processed() }}"]) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_base_keys') }}

-- The contract key of every source record, or why the record is rejected.
--
-- Contract key = buyer SIRET + cleaned contract id, + the notification year when the same buyer and id
-- were used for contracts notified in different years (ids repeated from year to year).
-- * A record without a usable id (empty, zeros, NC) is keyed on a hash of its buyer, notification date,
--   amount, suppliers and object instead: exact re-publications still collapse, distinct contracts do not.
-- * Rows of the decp.info tabular dataset are parts of one publication (one row per supplier and
--   modification): the rows of one load with the same buyer and id form one publication, whose initial
--   notification date is that of its version 0 rows.
-- * A record without a buyer identifier cannot be keyed: it is rejected.
{%- set batch = decp_batch() if is_incremental() else none %}
{%- set incremental = batch is not none and not batch.full %}
with records as (
    select
        records.record_id,
        records.load_id,
        records.layout,
        records.platform,
        records.buyer_siret,
        records.notification_date,
        records.tabular_version,
        records.buyer_siret is null as is_rejected,
        {{ decp_base_key('records') }} as base_key
    from {{ ref('int_decp__records') }} as records
    {%- if incremental %}
    -- every record of the pending base keys (those already keyed, and the new ones), and the pending loads' rejects
    where records.record_id in (
        select record_id from {{ this }}
        where base_key in (select base_key from {{ ref('int_decp__batch_base_keys') }})
        union all
        select record_id from {{ ref('int_decp__records') }} where load_id = any({{ decp_pending_loads(batch) }}))
    {%- endif %}
),

publications as (
    select
        record_id,
        load_id,
        platform,
        is_rejected,
        base_key,
        case when layout = 'decp-tabular' then min(record_id) over publication else record_id end as publication_id,
        case when layout = 'decp-tabular'
             then coalesce(min(notification_date) filter (where coalesce(tabular_version, 0) = 0) over publication,
                           min(notification_date) over publication)
             else notification_date end as initial_notification_date
    from records
    window publication as (partition by load_id, base_key)
),

years as (
    select
        *,
        extract(year from initial_notification_date)::int as initial_year,
        min(extract(year from initial_notification_date)::int) over (partition by base_key)
            <> max(extract(year from initial_notification_date)::int) over (partition by base_key)
            as id_reused_across_years
    from publications
    where not is_rejected
)

select
    records.record_id,
    records.load_id,
    records.platform,
    case when records.is_rejected then 'buyer_id_missing' end as rejection_reason,
    years.base_key,
    years.publication_id,
    years.initial_notification_date,
    years.initial_year,
    coalesce(years.id_reused_across_years, false) as id_reused_across_years,
    years.base_key || case when years.id_reused_across_years
                           then '|' || coalesce(years.initial_year::text, 'unknown') else '' end as contract_key
from records
left join years on years.record_id = records.record_id
