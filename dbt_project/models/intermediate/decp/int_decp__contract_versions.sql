{{ config(
    materialized='incremental', incremental_strategy='decp_replace',
    analyze_columns=['contract_sk', 'contract_key', 'version_index', 'is_current', 'record_id', 'publication_id', 'version_date'], decp_key='contract_key',
    indexes=[{'columns': ['contract_key']}],
    post_hook=["{{ decp_mark_processed() }}"]) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_contract_keys') }}
{%- set batch = decp_batch() if is_incremental() else none %}
{%- set incremental = batch is not none and not batch.full %}

-- One row per contract version (contract key x version index): the version kept among every
-- publication of it, with the source records it comes from.
--
-- A publication of a version is one record (JSON, XML, ministry CSV) or the rows of one decp.info
-- publication with that version (one row per supplier: their suppliers are gathered). When several
-- publications give the same version (the same contract from several platforms, or published again in a
-- later file), the one kept is, in order: from the publication with the most versions (the most
-- complete), the latest published (datePublicationDonnees), from the latest load, the first record.
-- The others are duplicates (int_decp__record_dispositions).
with publication_versions as (
    -- decp.info rows: the rows of one publication and version differ only by their supplier
    select
        contract_key,
        version_index,
        publication_id,
        min(record_id) as record_id,
        array_agg(record_id order by record_id) as source_record_ids,
        max(load_id) as load_id,
        (array_agg(version_date order by record_id))[1] as version_date,
        (array_agg(publication_date order by record_id))[1] as publication_date,
        (array_agg(amount_eur order by record_id))[1] as amount_eur,
        (array_agg(amount_problem order by record_id))[1] as amount_problem,
        (array_agg(duration_months order by record_id))[1] as duration_months,
        jsonb_path_query_array(jsonb_agg(suppliers order by record_id), '$[*][*]') as suppliers
    from {{ ref('int_decp__record_versions') }}
    where from_tabular_row
    {%- if incremental %}
      and contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
    {%- endif %}
    group by contract_key, version_index, publication_id

    union all

    -- any other record is a publication of its own, with one row per version: nothing to gather
    select
        contract_key, version_index, publication_id, record_id, array[record_id], load_id, version_date,
        publication_date, amount_eur, amount_problem, duration_months, suppliers
    from {{ ref('int_decp__record_versions') }}
    where not from_tabular_row
    {%- if incremental %}
      and contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
    {%- endif %}
),

completeness as (
    select *, max(version_index) over (partition by publication_id) as publication_versions
    from publication_versions
),

ranked as (
    select
        *,
        count(*) over (partition by contract_key, version_index) as publications,
        row_number() over (
            partition by contract_key, version_index
            order by publication_versions desc,
                     publication_date desc nulls last,
                     load_id desc,
                     publication_id
        ) as preference
    from completeness
)

select
    md5(contract_key) as contract_sk,
    contract_key,
    version_index,
    version_index = max(version_index) over (partition by contract_key) as is_current,
    publication_id,
    record_id,
    source_record_ids,
    publications,
    version_date,
    publication_date,
    amount_eur,
    amount_problem,
    case when amount_problem is null then amount_eur end as amount_usable_eur,
    duration_months,
    suppliers
from ranked
where preference = 1
