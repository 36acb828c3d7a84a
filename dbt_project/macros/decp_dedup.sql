{# The deduplication chain (int_decp__record_keys -> int_decp__record_versions -> int_decp__contract_versions) in
   parts that dbt builds side by side, one per thread. Every rule of the chain works within one base key (buyer +
   id: its publications, years, versions and contracts), so the base keys are split by hash: part p keys the
   records whose base key falls in part p, and its versions and contracts come from its own keys. Each model of
   the chain is the union view of its parts; var('decp_dedup_parts') = 1 puts everything in part 1 (the unit
   tests do). #}

{% macro decp_in_dedup_part(base_key, part) -%}
    {%- set parts = var('decp_dedup_parts') | int -%}
    {%- if parts not in (1, 2) -%}
        {#- two part models per step exist: any other count would leave records in no table -#}
        {{ exceptions.raise_compiler_error("var decp_dedup_parts must be 1 or 2 (the _part_1 and _part_2 models), not " ~ parts) }}
    {%- elif parts == 1 -%}
        {{ 'true' if part == 1 else 'false' }}
    {%- else -%}
        abs(hashtext(coalesce({{ base_key }}, ''))::bigint) % {{ parts }} = {{ part - 1 }}
    {%- endif -%}
{%- endmacro %}

{# Part `part` of int_decp__record_keys (see the top of this file). #}
{% macro decp_record_keys_part(part) %}
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
{%- set batch = decp_partial_batch() %}
{%- set incremental = batch is not none %}
with records as (
    select * from (
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
    ) as keyed
    where {{ decp_in_dedup_part('keyed.base_key', part) }}
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
{% endmacro %}

{# Part `part` of int_decp__record_versions: the versions of the records part `part` keyed. #}
{% macro decp_record_versions_part(part) %}
{{ config(
    materialized='incremental', incremental_strategy='decp_replace',
    analyze_columns=['record_id', 'load_id', 'contract_key', 'publication_id', 'version_index', 'from_tabular_row'], decp_key='contract_key',
    indexes=[{'columns': ['contract_key']}],
    post_hook=["{{ decp_mark_processed() }}"]) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_contract_keys') }}
{%- set batch = decp_partial_batch() %}
{%- set incremental = batch is not none %}

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
    join {{ ref('int_decp__record_keys_part_' ~ part) }} as k on k.record_id = r.record_id
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
{% endmacro %}

{# Part `part` of int_decp__contract_versions: the contracts of the versions of part `part`. #}
{% macro decp_contract_versions_part(part) %}
{{ config(
    materialized='incremental', incremental_strategy='decp_replace',
    analyze_columns=['contract_sk', 'contract_key', 'version_index', 'is_current', 'record_id', 'publication_id', 'version_date'], decp_key='contract_key',
    indexes=[{'columns': ['contract_key']}],
    post_hook=["{{ decp_mark_processed() }}"]) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_contract_keys') }}
{%- set batch = decp_partial_batch() %}
{%- set incremental = batch is not none %}

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
    from {{ ref('int_decp__record_versions_part_' ~ part) }}
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
    from {{ ref('int_decp__record_versions_part_' ~ part) }}
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
{% endmacro %}
