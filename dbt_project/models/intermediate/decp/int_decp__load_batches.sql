{{ config(materialized="incremental", incremental_strategy="append") }}

-- The log of DECP loads as the models processed them: one row per load and batch (dbt run) in which its raw rows
-- were new or had changed. A full refresh starts the log again with every load. SIRENE loads are logged too: the
-- buyers' and suppliers' dimensions depend on them. See macros/decp_incremental.sql.
with raw_counts as (
    select load_id, min(raw_kind) as raw_kind, sum(raw_records)::bigint as raw_records
    from (
        select load_id, 'decp' as raw_kind, count(*) as raw_records from {{ source('decp', 'decp_records') }} group by load_id
        union all
        select load_id, 'decp', count(*) from {{ source('decp', 'decp_tabular_rows') }} group by load_id
        union all
        select load_id, 'sirene', count(*) from {{ source('sirene', 'sirene_records') }} group by load_id
    ) as counts
    group by load_id
),

{% if is_incremental() %}
known as (
    select distinct on (load_id) load_id, raw_kind, raw_records
    from {{ this }}
    order by load_id, batch_id desc
),

changes as (
    -- new loads, and loads already processed whose raw rows changed (raw_records 0: their rows are gone)
    select coalesce(raw_counts.load_id, known.load_id) as load_id,
           coalesce(raw_counts.raw_kind, known.raw_kind) as raw_kind,
           coalesce(raw_counts.raw_records, 0) as raw_records,
           known.load_id is not null and coalesce(raw_counts.raw_kind, known.raw_kind) = 'decp' as is_reload
    from raw_counts
    full join known on known.load_id = raw_counts.load_id
    where coalesce(raw_counts.raw_records, 0) <> coalesce(known.raw_records, 0)
)
{% else %}
changes as (
    select load_id, raw_kind, raw_records, false as is_reload from raw_counts
)
{% endif %}

select
    -- transaction ids only grow: a batch number that stays unique across full refreshes
    pg_current_xact_id()::text::bigint as batch_id,
    load_id,
    raw_kind,
    raw_records,
    is_reload,
    now() as batched_at
from changes
