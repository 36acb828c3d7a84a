{# The unified contract shape of the DECP staging models.

   Each staging model reads its raw table once into a CTE of text columns with the same names
   (see _decp__models.yml: *_raw columns, suppliers and modifications as normalised jsonb), then calls
   this macro, which types and normalises the values and names every problem found in quality_flags.
   The flags' reasons are in the seed ref_quality_flags. #}

{% macro decp_contract_shape(extracted) %}
cleaned as (
    select
        e.*,
        {{ clean_identifier('e.buyer_id_raw') }} as buyer_id_cleaned,
        {{ contract_id_key('e.contract_id_raw') }} as contract_id,
        {{ iso_date_text('e.notification_date_raw') }} as notification_iso,
        {{ iso_date_text('e.publication_date_raw') }} as publication_iso,
        {{ to_amount('e.amount_raw') }} as amount_parsed,
        {{ cpv_digits('e.cpv_raw') }} as cpv_digits,
        -- the free texts together: one search for mojibake and lost characters instead of one per field
        concat_ws('|', e.object_raw, e.buyer_name_raw, e.place_name_raw, e.suppliers::text) as free_text,
        {{ to_numeric('e.duration_raw') }} as duration_number,
        {{ to_numeric('e.offers_raw') }} as offers_number,
        {{ to_numeric('e.advance_rate_raw') }} as advance_rate_number,
        {{ to_numeric('e.origin_eu_raw') }} as origin_eu_number,
        {{ to_numeric('e.origin_france_raw') }} as origin_france_number,
        nullif(upper({{ strip_spaces('e.place_code_raw') }}), '') as place_code_cleaned
    from {{ extracted }} as e
    offset 0  -- optimisation fence: each expression below is computed once per row, not inlined into every use
),

typed as (
    select
        c.*,
        {{ siret_value('c.buyer_id_cleaned') }} as buyer_siret,
        {{ iso_to_date('c.notification_iso') }} as notification_date,
        {{ iso_to_date('c.publication_iso') }} as publication_date,
        {{ amount_problem('c.amount_parsed') }} as amount_problem,
        {{ cpv_code_from_digits('c.cpv_digits') }} as cpv_code,
        {{ months_from_numeric('c.duration_number') }} as duration_months,
        {{ offer_count_from_numeric('c.offers_number') }} as offers_received,
        coalesce({{ has_mojibake('c.free_text') }}, false) as had_mojibake,
        coalesce({{ has_replacement_char('c.free_text') }}, false) as has_lost_characters,
        {{ enum_value('nature') }} as nature,
        {{ enum_value('procedure') }} as procedure,
        {{ enum_value('price_form') }} as price_form,
        {{ enum_value('place_type') }} as place_type,
        {{ enum_value('ccag') }} as ccag,
        {{ enum_value('grouping') }} as grouping_type
    from cleaned as c
    {{ enum_joins('nature', 'c.nature_raw') }}
    {{ enum_joins('procedure', 'c.procedure_raw') }}
    {{ enum_joins('price_form', 'c.price_form_raw') }}
    {{ enum_joins('place_type', 'c.place_type_raw') }}
    {{ enum_joins('ccag', 'c.ccag_raw') }}
    {{ enum_joins('grouping', 'c.grouping_raw') }}
    offset 0
),

shaped as (
    select
        t.*,
        {{ siret_status('t.buyer_siret') }} as buyer_siret_status,
        case when t.record_kind_raw = 'contrat-concession'
                  or t.nature in ('Concession de travaux', 'Concession de service', 'Concession de service public',
                                  'Délégation de service public')
             then 'contrat-concession' else 'marche' end as record_kind,
        -- a place code that lost its leading zero to integer typing: postal code 2350 -> 02350, département 2 -> 02
        case when t.place_type = 'Code postal' and t.place_code_cleaned ~ '^[0-9]{4}$' then '0' || t.place_code_cleaned
             when t.place_type = 'Code département' and t.place_code_cleaned ~ '^[0-9]$' then '0' || t.place_code_cleaned
             else t.place_code_cleaned end as place_code,
        case when t.amount_problem is null then t.amount_parsed end as amount_usable_eur,
        {{ has_consideration('t.social_raw', 'social') }} as has_social_consideration,
        {{ has_consideration('t.environmental_raw', 'environmental') }} as has_environmental_consideration,
        -- a field has mojibake only if the free texts have some: otherwise only trimmed
        case when t.had_mojibake then {{ clean_text('t.object_raw') }} else nullif(btrim(t.object_raw), '') end as object,
        case when t.had_mojibake then {{ clean_text('t.buyer_name_raw') }} else nullif(btrim(t.buyer_name_raw), '') end
            as buyer_name,
        case when t.had_mojibake then {{ clean_text('t.place_name_raw') }} else nullif(btrim(t.place_name_raw), '') end
            as place_name
    from typed as t
    offset 0
)

select
    (s.load_id * 10000000000 + s.record_number)::bigint as record_id,
    s.load_id,
    s.record_number,
    s.raw_table,
    s.layout,
    s.record_kind,
    s.platform,
    s.source_file,
    s.buyer_id_raw,
    s.buyer_siret,
    s.buyer_siret_status,
    s.buyer_name,
    s.contract_id_raw,
    s.contract_id,
    s.tabular_uid,
    s.nature_raw,
    s.nature,
    s.contract_type_raw,
    s.object,
    s.cpv_raw,
    s.cpv_code,
    s.procedure_raw,
    s.procedure,
    s.place_code_raw,
    s.place_code,
    s.place_type_raw,
    s.place_type,
    s.place_name,
    s.duration_raw,
    s.duration_months,
    s.notification_date_raw,
    s.notification_date,
    s.publication_date_raw,
    s.publication_date,
    s.amount_raw,
    s.amount_parsed as amount_eur,
    s.amount_usable_eur,
    s.price_form_raw,
    s.price_form,
    s.offers_received,
    s.ccag,
    s.grouping_type,
    {{ to_boolean('s.innovative_raw') }} as is_innovative,
    {{ to_boolean('s.advance_raw') }} as advance_granted,
    {{ share_from_numeric('s.advance_rate_number') }} as advance_rate,
    {{ to_boolean('s.subcontracting_raw') }} as subcontracting_declared,
    nullif(btrim(s.framework_id_raw), '') as framework_contract_id,
    s.has_social_consideration,
    s.has_environmental_consideration,
    {{ share_from_numeric('s.origin_eu_number') }} as origin_eu_share,
    {{ share_from_numeric('s.origin_france_number') }} as origin_france_share,
    s.suppliers,
    s.modifications,
    {{ to_numeric('s.tabular_version_raw') }}::int as tabular_version,
    {{ to_boolean('s.tabular_is_current_raw') }} as tabular_is_current,
    s.buyer_category_raw,
    s.buyer_commune_code_raw,
    s.buyer_departement_code_raw,
    array_remove(array[
        case when s.buyer_siret is null then 'buyer_id_missing'
             when s.buyer_siret_status in ('wrong_length', 'luhn_failed', 'not_numeric')
                 then 'buyer_siret_' || s.buyer_siret_status end,
        case when s.buyer_siret is distinct from s.buyer_id_cleaned then 'buyer_siret_leading_zero_restored' end,
        case when s.contract_id is null then 'contract_id_missing' end,
        case when s.has_unusable_marker or s.contract_id_raw like 'INX%' then 'value_marked_unusable_by_source' end,
        case when s.notification_date_raw is null or btrim(s.notification_date_raw) = '' then 'notification_date_missing'
             when s.notification_date is null then 'notification_date_invalid'
             when s.notification_date > current_date then 'notification_date_in_future' end,
        case when s.publication_date is null and nullif(btrim(s.publication_date_raw), '') is not null
                 then 'publication_date_invalid'
             when s.publication_date < s.notification_date then 'publication_before_notification' end,
        case when s.amount_raw is null or btrim(s.amount_raw) = '' then 'amount_missing'
             when s.amount_parsed is null then 'amount_not_numeric'
             else s.amount_problem end,
        case when {{ is_not_communicated('s.duration_raw') }} then 'duration_not_communicated'
             when s.duration_months is null and nullif(btrim(s.duration_raw), '') is not null then 'duration_invalid' end,
        case when s.record_kind = 'contrat-concession' then null
             when s.cpv_raw is null or btrim(s.cpv_raw) = '' then 'cpv_missing'
             when s.cpv_code is null then 'cpv_malformed'
             when s.cpv_code ~ '^0' and s.cpv_digits ~ '^[0-9]{7}$'
                 then 'cpv_leading_zero_restored' end,
        case when s.nature is null and nullif(btrim(s.nature_raw), '') is not null then 'nature_unmapped' end,
        case when s.procedure is null and nullif(btrim(s.procedure_raw), '') is not null then 'procedure_unmapped' end,
        case when s.price_form is null and nullif(btrim(s.price_form_raw), '') is not null then 'price_form_unmapped' end,
        case when s.place_type is null and nullif(btrim(s.place_type_raw), '') is not null then 'place_type_unmapped' end,
        case when s.offers_received is null and nullif(btrim(s.offers_raw), '') is not null then 'offers_received_invalid' end,
        case when s.had_mojibake then 'text_mojibake_repaired' end,
        case when s.has_lost_characters then 'text_replacement_character' end,
        case when jsonb_array_length(s.suppliers) = 0 then 'supplier_missing' end
    ], null) as quality_flags
from shaped as s
{% endmacro %}
