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
with records as (
    select
        record_id,
        load_id,
        layout,
        platform,
        buyer_siret,
        notification_date,
        tabular_version,
        buyer_siret is null as is_rejected,
        buyer_siret || '|' || coalesce(contract_id, 'noid:' || md5(concat_ws('|',
            notification_date, trim_scale(amount_eur), object, (select string_agg(supplier ->> 'id', ',' order by supplier ->> 'id')
                                                    from jsonb_array_elements(suppliers) as supplier)))) as base_key
    from {{ ref('int_decp__records') }}
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
