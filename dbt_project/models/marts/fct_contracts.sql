{{ config(
    materialized='incremental', incremental_strategy='decp_replace', decp_key='contract_sk', unique_key='contract_sk',
    indexes=[{'columns': ['contract_sk'], 'unique': true}, {'columns': ['buyer_key', 'buyer_geography_key']}],
    pre_hook=['set local jit = off', "set local work_mem = '256MB'"],
    post_hook=['{{ decp_analyze() }}', '{{ decp_mark_processed() }}']) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_contract_keys') }}, {{ ref('int_decp__records') }}
{%- set batch = decp_batch() if is_incremental() else none %}
{%- set incremental = batch is not none and not batch.full %}

-- One row per contract (deduplicated, see int_decp__record_keys and int_decp__contract_versions), at its
-- current version, with the keys of its dimensions (the 'unknown' member when a value is missing) and the
-- initial award beside the current state. Amounts are EUR excl. VAT; *_usable_eur are null when the amount
-- is unusable (amount_problem says why).
with contracts as (
    select * from {{ ref('int_decp__contracts') }}
    {%- if incremental %}
    -- the pending contracts, and those of the buyers whose location changed in dim_buyer: a buyer's location
    -- depends on its records (decp.info columns) and on SIRENE, so only buyers of the pending loads are compared,
    -- or every buyer when SIRENE data changed
    where contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
       or buyer_siret in (
            select buyers.buyer_siret from {{ ref('dim_buyer') }} as buyers
            where (buyers.buyer_siret in (
                       select pending.buyer_siret from {{ ref('int_decp__records') }} as pending
                       where pending.load_id = any({{ decp_pending_loads(batch) }}))
                   or (select is_sirene_changed from {{ ref('int_decp__batch') }}))
              and exists (select 1 from {{ this }} as facts
                          where facts.buyer_key = buyers.buyer_key
                            and facts.buyer_geography_key <> buyers.buyer_geography_key))
    {%- endif %}
)

select
    c.contract_sk,
    c.contract_key,
    c.contract_id,
    c.contract_id_raw,
    coalesce(buyers.buyer_key, {{ unknown_key() }}) as buyer_key,
    coalesce(buyers.buyer_geography_key, {{ unknown_key() }}) as buyer_geography_key,
    coalesce(notification_dates.date_key, {{ unknown_key() }}) as notification_date_key,
    coalesce(places.geography_key, {{ unknown_key() }}) as place_geography_key,
    coalesce(cpv.cpv_key, {{ unknown_key() }}) as cpv_key,
    coalesce(procedures.procedure_key, {{ unknown_key() }}) as procedure_key,
    coalesce(natures.nature_key, {{ unknown_key() }}) as nature_key,
    c.record_kind,
    -- works / supplies / services: from the CPV code's division (also for a code missing from CPV 2008),
    -- else the decp.info "type" column, else unknown
    coalesce({{ cpv_contract_type('c.cpv_code') }},
             case c.contract_type_raw when 'Travaux' then 'works' when 'Fournitures' then 'supplies'
                                      when 'Services' then 'services' end,
             'unknown') as contract_type,
    c.notification_date,
    extract(year from c.notification_date)::int as notification_year,
    c.publication_date,
    c.object,
    c.initial_amount_eur,
    c.initial_amount_usable_eur,
    c.initial_amount_problem,
    c.amount_eur,
    c.amount_usable_eur,
    c.amount_problem,
    c.initial_duration_months,
    c.duration_months,
    c.modifications,
    c.current_version_date,
    c.supplier_count,
    c.offers_received,
    c.price_form,
    c.ccag,
    c.grouping_type,
    c.is_innovative,
    c.advance_granted,
    c.advance_rate,
    c.subcontracting_declared,
    c.framework_contract_id,
    c.has_social_consideration,
    c.has_environmental_consideration,
    c.layout as source_layout,
    c.platforms,
    c.publications,
    c.source_records,
    c.main_record_id as source_record_id,
    c.key_shared_by_different_awards,
    c.quality_flags
from contracts as c
left join {{ ref('dim_buyer') }} as buyers on buyers.buyer_siret = c.buyer_siret
left join {{ ref('dim_date') }} as notification_dates on notification_dates.calendar_date = c.notification_date
left join {{ ref('dim_geography') }} as places
    on places.geography_key = {{ surrogate_key('geography', "c.place_geography_level || ':' || c.place_geography_code") }}
left join {{ ref('dim_cpv') }} as cpv on cpv.cpv_code = c.cpv_code
left join {{ ref('dim_procedure') }} as procedures on procedures.procedure = c.procedure
left join {{ ref('dim_contract_nature') }} as natures on natures.nature = c.nature
