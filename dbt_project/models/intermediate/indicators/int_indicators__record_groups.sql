-- depends_on: {{ ref('int_decp__batch') }}
{%- set batch = indicator_groups_model('buyer_siret') %}
{%- set incremental = batch is not none %}
-- The source records (both raw tables) by buyer SIRET as published x platform x year (notification, else
-- publication) x what became of them (int_decp__record_dispositions), for data_completeness. A record's
-- disposition changes only with the records of its buyer + id, so an incremental run recomputes the groups of
-- the pending loads' buyers, and those of records without buyer (always rejected, few).

select
    records.buyer_siret,
    records.platform,
    coalesce(extract(year from records.notification_date), extract(year from records.publication_date))::int as year,
    dispositions.disposition,
    dispositions.duplicate_reason,
    count(*) as source_records
from {{ ref('int_decp__records') }} as records
inner join {{ ref('int_decp__record_dispositions') }} as dispositions on dispositions.record_id = records.record_id
{%- if incremental %}
where records.buyer_siret = any(array({{ decp_pending_buyer_sirets(batch) }})) or records.buyer_siret is null
{%- endif %}
group by 1, 2, 3, 4, 5
