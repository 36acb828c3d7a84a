{{ config(materialized="table") }}

-- The work of the current dbt run on the DECP models, one row: the DECP loads of every batch that some incremental
-- model has not processed yet, whether the models are rebuilt in full, and whether SIRENE data changed (the buyers'
-- locations then have to be compared again). See macros/decp_incremental.sql.
with marks as (
    select min(batch_id) as processed_through
    from {{ decp_watermarks() }}
    where model_name in ('{{ decp_incremental_models() | join("', '") }}')
),

pending as (
    select batches.*
    from {{ ref('int_decp__load_batches') }} as batches
    where batches.batch_id > coalesce((select processed_through from marks), -1)
)

select
    -- 0 before any DECP or SIRENE load: the models are then marked as having processed nothing yet
    coalesce((select max(batch_id) from {{ ref('int_decp__load_batches') }}), 0) as batch_id,
    {{ 'true' if flags.FULL_REFRESH else 'coalesce(bool_or(is_reload), false)' }} as is_full_rebuild,
    coalesce(array_agg(distinct load_id order by load_id) filter (where raw_kind = 'decp'), '{}'::bigint[]) as load_ids,
    coalesce(bool_or(raw_kind = 'sirene'), false) as is_sirene_changed
from pending
