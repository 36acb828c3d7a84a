-- One row per record of raw.decp_records (DECP JSON and XML, 2019 and v2 layouts, contracts and
-- concessions), typed and normalised into the unified contract shape (macro decp_contract_shape).
-- One pass over the raw jsonb: every field is read here once.
with extracted as (
    select
        load_id,
        record_number,
        'decp_records' as raw_table,
        layout,
        record_kind as record_kind_raw,
        coalesce(nullif(btrim(record ->> 'source'), ''), source) as platform,
        source_file,
        coalesce({{ json_text('record', 'acheteur', 'id') }}, {{ json_text('record', 'autoriteConcedante', 'id') }})
            as buyer_id_raw,
        coalesce({{ json_text('record', 'acheteur', 'nom') }}, {{ json_text('record', 'autoriteConcedante', 'nom') }})
            as buyer_name_raw,
        record ->> 'id' as contract_id_raw,
        null::text as tabular_uid,
        record ->> 'nature' as nature_raw,
        null::text as contract_type_raw,
        record ->> 'objet' as object_raw,
        record ->> 'codeCPV' as cpv_raw,
        record ->> 'procedure' as procedure_raw,
        {{ json_text('record', 'lieuExecution', 'code') }} as place_code_raw,
        {{ json_text('record', 'lieuExecution', 'typeCode') }} as place_type_raw,
        {{ json_text('record', 'lieuExecution', 'nom') }} as place_name_raw,
        record ->> 'dureeMois' as duration_raw,
        coalesce(record ->> 'dateNotification', record ->> 'dateSignature') as notification_date_raw,
        record ->> 'datePublicationDonnees' as publication_date_raw,
        coalesce(record ->> 'montant', record ->> 'valeurGlobale') as amount_raw,
        record ->> 'formePrix' as price_form_raw,
        record ->> 'offresRecues' as offers_raw,
        record ->> 'ccag' as ccag_raw,
        record ->> 'typeGroupementOperateurs' as grouping_raw,
        record ->> 'marcheInnovant' as innovative_raw,
        record ->> 'attributionAvance' as advance_raw,
        record ->> 'tauxAvance' as advance_rate_raw,
        record ->> 'sousTraitanceDeclaree' as subcontracting_raw,
        record ->> 'idAccordCadre' as framework_id_raw,
        record ->> 'considerationsSociales' as social_raw,
        record ->> 'considerationsEnvironnementales' as environmental_raw,
        record ->> 'origineUE' as origin_eu_raw,
        record ->> 'origineFrance' as origin_france_raw,
        parsed.suppliers,
        parsed.modifications,
        null::text as tabular_version_raw,
        null::text as tabular_is_current_raw,
        null::text as buyer_category_raw,
        null::text as buyer_commune_code_raw,
        null::text as buyer_departement_code_raw,
        false as has_unusable_marker
    from {{ source('decp', 'decp_records') }}
    -- in FROM (not in the select list) so that each list is built once per record, however often it is used
    cross join lateral (
        select
            {{ normalised_parties("coalesce(record -> 'titulaires', record -> 'concessionnaires')") }} as suppliers,
            {{ normalised_modifications("record -> 'modifications'") }} as modifications
        offset 0
    ) as parsed
),

{{ decp_contract_shape('extracted') }}
