{# Incremental groups of the DECP indicators.

   An indicator cell (year x territory x buyer category) sums the contracts of many buyers, and a buyer's
   territory and category come from dim_buyer. The groups models (models/intermediate/indicators/) hold the
   additive measures of the indicators by buyer x year (x breakdown): an incremental run recomputes only the groups
   of the buyers int_indicators__batch_buyers names (decp_key 'buyer_key'), and the indicators sum a hundred
   thousand groups instead of a million contracts. Every measure is a count or a sum, so that a sum of groups
   equals the aggregate over their contracts. #}

{% macro indicator_group_models() -%}
    {{ return(['int_indicators__contract_groups', 'int_indicators__contract_mix_groups',
               'int_indicators__supplier_size_groups',
               'int_indicators__supplier_location_groups', 'int_indicators__completeness_groups',
               'int_indicators__record_groups']) }}
{%- endmacro %}

{# The configuration of a groups model: incremental, its rows deleted and recomputed by `key` (decp_replace).
   Returns the batch when this run recomputes only the batch's groups, none on a full build (decp_partial_batch). #}
{% macro indicator_groups_model(key='buyer_key') %}
    {{ config(materialized='incremental', incremental_strategy='decp_replace', decp_key=key,
              indexes=[{'columns': [key]}], post_hook=['{{ decp_analyze() }}', '{{ decp_mark_processed() }}']) }}
    {{ return(decp_partial_batch()) }}
{% endmacro %}

{# The latest batch every groups model has processed (null while none has a watermark). #}
{% macro indicator_groups_processed_through() -%}
    (select min(batch_id) from {{ decp_watermarks() }}
     where model_name in ('{{ indicator_group_models() | join("', '") }}'))
{%- endmacro %}

{# The contracts in the scope of the DECP indicators: public contracts (marchés; concessions are left out: their
   value is the concessionaire's expected revenue, not a purchase) with a known notification year; the buyer comes
   later, from dim_buyer. Those of the batch's buyers only on an incremental run. #}
{% macro indicator_group_contracts(incremental) %}
    select
        contracts.contract_sk,
        contracts.buyer_key,
        contracts.notification_year as year,
        contracts.contract_type,
        procedures.procedure_family,
        procedures.is_open_to_competition,
        contracts.initial_amount_usable_eur as amount_eur,
        contracts.offers_received,
        contracts.is_innovative,
        contracts.has_social_consideration,
        contracts.has_environmental_consideration
    from {{ ref('fct_contracts') }} as contracts
    inner join {{ ref('dim_procedure') }} as procedures on procedures.procedure_key = contracts.procedure_key
    where contracts.record_kind = 'marche' and contracts.notification_year is not null
    {%- if incremental %}
      and contracts.buyer_key = any(array(select buyer_key from {{ ref('int_indicators__batch_buyers') }}))
    {%- endif %}
{% endmacro %}

{# Flags with a known / true split: each gives six measures in int_indicators__contract_groups. #}
{% macro indicator_flag_measures(flag) -%}
    {{ return([
        (flag ~ '_known', 'count(' ~ flag ~ ')'),
        (flag ~ '_known_with_amount', 'count(amount_eur) filter (where ' ~ flag ~ ' is not null)'),
        (flag ~ '_known_amount_eur', 'sum(amount_eur) filter (where ' ~ flag ~ ' is not null)'),
        (flag ~ '_contracts', 'count(*) filter (where ' ~ flag ~ ')'),
        (flag ~ '_with_amount', 'count(amount_eur) filter (where ' ~ flag ~ ')'),
        (flag ~ '_amount_eur', 'coalesce(sum(amount_eur) filter (where ' ~ flag ~ '), 0)')]) }}
{%- endmacro %}

{# A groups model's rows with what places them in cells (decp_cell_totals): the buyer's category and location
   (category_of_buyer is the buyer's own category; the cell's is buyer_category). #}
{% macro decp_buyer_groups(groups) -%}
    (select
        groups.*,
        buyers.buyer_category as category_of_buyer,
        buyers.buyer_category_fr as category_of_buyer_fr,
        buyers.departement_code as buyer_departement_code,
        buyers.region_code as buyer_region_code,
        buyers.is_hauts_de_france
    from {{ ref(groups) }} as groups
    inner join {{ ref('dim_buyer') }} as buyers on buyers.buyer_key = groups.buyer_key)
{%- endmacro %}

{# [(name, 'sum(name)')] for decp_cell_totals over a groups model. #}
{% macro summed(names) -%}
    {%- set measures = [] -%}
    {%- for name in names %}{% do measures.append((name, 'sum(' ~ name ~ ')')) %}{% endfor -%}
    {{ return(measures) }}
{%- endmacro %}

{# The batch in which a dimension member's tracked attributes last changed (attributes_batch_id), by comparing the
   new members (CTE `members`) with the table being replaced. The groups models use it to recompute the buyers
   whose suppliers changed size or location, and the buyers that moved. #}
{% macro with_attributes_batch(members, key, attributes) -%}
    {%- set previous = adapter.get_relation(this.database, this.schema, this.identifier) if execute else none -%}
    {%- set tracked = previous is not none and not should_full_refresh()
        and 'attributes_batch_id' in (adapter.get_columns_in_relation(previous) | map(attribute='name') | list) -%}
    select
        {{ members }}.*,
        {%- if tracked %}
        case
            when previous.{{ key }} is not null
                 and ({% for a in attributes %}previous.{{ a }}{{ ', ' if not loop.last }}{% endfor %})
                     is not distinct from
                     ({% for a in attributes %}{{ members }}.{{ a }}{{ ', ' if not loop.last }}{% endfor %})
                then previous.attributes_batch_id
            else batch.batch_id
        end as attributes_batch_id
        {%- else %}
        batch.batch_id as attributes_batch_id
        {%- endif %}
    from {{ members }}
    cross join {{ ref('int_decp__batch') }} as batch
    {%- if tracked %}
    left join {{ previous }} as previous on previous.{{ key }} = {{ members }}.{{ key }}
    {%- endif %}
{%- endmacro %}

{# The key fields of data_completeness: (name, condition on fct_contracts alias c for "missing or invalid", French
   label). A concession has no CPV code in the DECP schemas (contrat-concession): it never misses one. #}
{% macro completeness_key_fields() -%}
    {%- set unknown = unknown_key() -%}
    {%- set key_fields = [
        ('notification_date', "c.notification_date is null or 'notification_date_in_future' = any(c.quality_flags)",
         "Part des marchés sans date de notification valide"),
        ('amount', "c.amount_usable_eur is null", "Part des marchés sans montant exploitable"),
        ('duration', "c.duration_months is null", "Part des marchés sans durée exploitable"),
        ('cpv', "c.record_kind = 'marche' and c.cpv_key = " ~ unknown, "Part des marchés sans code CPV valide"),
        ('procedure', "c.procedure_key = " ~ unknown, "Part des marchés sans procédure reconnue"),
        ('nature', "c.nature_key = " ~ unknown, "Part des marchés sans nature reconnue"),
        ('place', "c.place_geography_key = " ~ unknown, "Part des marchés sans lieu d'exécution localisé"),
        ('supplier_siret', "c.quality_flags && array['supplier_missing', 'supplier_siret_invalid']",
         "Part des marchés sans titulaire ou avec un SIRET de titulaire invalide"),
        ('buyer_siret', "c.quality_flags && array['buyer_siret_wrong_length', 'buyer_siret_luhn_failed', 'buyer_siret_not_numeric']",
         "Part des marchés dont le SIRET de l'acheteur est invalide"),
    ] -%}
    {{ return(key_fields) }}
{%- endmacro %}
