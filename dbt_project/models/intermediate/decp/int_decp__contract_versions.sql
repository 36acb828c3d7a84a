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
    select
        contract_key,
        version_index,
        publication_id,
        min(record_id) as record_id,
        array_agg(record_id order by record_id) as source_record_ids,
        max(load_id) as load_id,
        -- decp.info rows of one version differ only by their supplier
        (array_agg(version_date order by record_id))[1] as version_date,
        (array_agg(publication_date order by record_id))[1] as publication_date,
        (array_agg(amount_eur order by record_id))[1] as amount_eur,
        (array_agg(amount_problem order by record_id))[1] as amount_problem,
        (array_agg(duration_months order by record_id))[1] as duration_months,
        jsonb_path_query_array(jsonb_agg(suppliers order by record_id), '$[*][*]') as suppliers
    from {{ ref('int_decp__record_versions') }}
    group by contract_key, version_index, publication_id
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
