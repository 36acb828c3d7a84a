{{ config(pre_hook='set local jit = off', post_hook='analyze {{ this }}') }}

-- For every DECP load: what the loader counted, what raw holds, and where each record went. The records
-- in the marts are read from the marts' own lineage (fct_contract_modifications.source_record_ids), not
-- from the dedup's intentions, so a record lost anywhere between raw and the marts breaks the balance:
--   loaded_records = raw_records = records_in_marts + records_rejected + records_duplicated.
-- Tested by the data test assert_rows on this model.
with raw_records as (
    select load_id, count(*) as raw_records from {{ source('decp', 'decp_records') }} group by load_id
    union all
    select load_id, count(*) from {{ source('decp', 'decp_tabular_rows') }} group by load_id
),

loads as (
    -- DECP loads: by their format, or because raw DECP tables hold their rows. The raw tables have no
    -- foreign key to meta.loads (orcp/sql/warehouse.sql): rows of a load that is not 'loaded' show here
    -- with loaded_records 0 and fail the test.
    select
        coalesce(loads.load_id, raw_records.load_id) as load_id, loads.file_name, loads.member,
        loads.format, loads.records as loaded_records, loads.finished_at, raw_records.raw_records
    from (select * from {{ source('orcp_meta', 'loads') }} where status = 'loaded') as loads
    full join raw_records on raw_records.load_id = loads.load_id
    where {{ is_decp_load_format('loads.format') }} or raw_records.load_id is not null
),

in_marts as (
    select record_id / 10000000000 as load_id, count(*) as records_in_marts
    from (select distinct unnest(source_record_ids) as record_id from {{ ref('fct_contract_modifications') }}) as lineage
    group by 1
),

dispositions as (
    select
        load_id,
        count(*) filter (where disposition = 'rejected') as records_rejected,
        count(*) filter (where disposition = 'duplicate') as records_duplicated
    from {{ ref('int_decp__record_dispositions') }}
    group by load_id
)

select
    loads.load_id,
    loads.file_name,
    loads.member,
    loads.format,
    loads.finished_at as loaded_at,
    coalesce(loads.loaded_records, 0) as loaded_records,
    coalesce(loads.raw_records, 0) as raw_records,
    coalesce(in_marts.records_in_marts, 0) as records_in_marts,
    coalesce(dispositions.records_rejected, 0) as records_rejected,
    coalesce(dispositions.records_duplicated, 0) as records_duplicated,
    coalesce(loads.loaded_records, 0)
        - coalesce(in_marts.records_in_marts, 0)
        - coalesce(dispositions.records_rejected, 0)
        - coalesce(dispositions.records_duplicated, 0) as unaccounted_records
from loads
left join in_marts on in_marts.load_id = loads.load_id
left join dispositions on dispositions.load_id = loads.load_id
