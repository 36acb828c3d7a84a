{# The DECP staging models' SQL, as macros so that int_decp__records can run the same SQL on the records of
   a few loads only (where: a condition on the raw table's columns, applied where the raw table is read;
   the views' optimisation fences would otherwise stop the filter from reaching the raw scan). #}

{% macro stg_decp__records_sql(where=none) %}
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
    {% if where %}where {{ where }}{% endif %}
),

{{ decp_contract_shape('extracted') }}
{% endmacro %}

{% macro stg_decp__tabular_rows_sql(where=none) %}
with source as (
    select
        load_id,
        record_number,
        source,
        source_file,
        layout,
        record_kind,
        record,
        -- the ministry marks values it judged unusable with an INX prefix: flag the row once
        record::text ~ '": "INX' as has_unusable_marker
    from {{ source('decp', 'decp_tabular_rows') }}
    {% if where %}where {{ where }}{% endif %}
),

extracted as (
    select
        load_id,
        record_number,
        'decp_tabular_rows' as raw_table,
        layout,
        record_kind as record_kind_raw,
        coalesce({{ tabular_value("record ->> 'sourceDataset'") }}, {{ tabular_value("record ->> 'source'") }}, source)
            as platform,
        source_file,
        {{ tabular_value("coalesce(record ->> 'acheteur_id', record ->> 'acheteur.id')") }} as buyer_id_raw,
        {{ tabular_value("coalesce(record ->> 'acheteur_nom', record ->> 'acheteur.nom')") }} as buyer_name_raw,
        -- kept with its INX prefix: contract_id_key drops the prefix and the row is flagged
        case when btrim(record ->> 'id') not in ('', 'MQ', 'CDL') then btrim(record ->> 'id') end as contract_id_raw,
        {{ tabular_value("record ->> 'uid'") }} as tabular_uid,
        {{ tabular_value("record ->> 'nature'") }} as nature_raw,
        {{ tabular_value("record ->> 'type'") }} as contract_type_raw,
        {{ tabular_value("record ->> 'objet'") }} as object_raw,
        {{ tabular_value("record ->> 'codeCPV'") }} as cpv_raw,
        {{ tabular_value("record ->> 'procedure'") }} as procedure_raw,
        {{ tabular_value("coalesce(record ->> 'lieuExecution_code', record ->> 'lieuExecution.code')") }} as place_code_raw,
        {{ tabular_value("coalesce(record ->> 'lieuExecution_typeCode', record ->> 'lieuExecution.typeCode')") }}
            as place_type_raw,
        {{ tabular_value("coalesce(record ->> 'lieuExecution_nom', record ->> 'lieuExecution.nom')") }} as place_name_raw,
        {{ tabular_value("record ->> 'dureeMois'") }} as duration_raw,
        {{ tabular_value("record ->> 'dateNotification'") }} as notification_date_raw,
        {{ tabular_value("record ->> 'datePublicationDonnees'") }} as publication_date_raw,
        {{ tabular_value("record ->> 'montant'") }} as amount_raw,
        {{ tabular_value("record ->> 'formePrix'") }} as price_form_raw,
        {{ tabular_value("record ->> 'offresRecues'") }} as offers_raw,
        {{ tabular_value("record ->> 'ccag'") }} as ccag_raw,
        {{ tabular_value("record ->> 'typeGroupementOperateurs'") }} as grouping_raw,
        {{ tabular_value("record ->> 'marcheInnovant'") }} as innovative_raw,
        {{ tabular_value("record ->> 'attributionAvance'") }} as advance_raw,
        {{ tabular_value("record ->> 'tauxAvance'") }} as advance_rate_raw,
        {{ tabular_value("record ->> 'sousTraitanceDeclaree'") }} as subcontracting_raw,
        {{ tabular_value("record ->> 'idAccordCadre'") }} as framework_id_raw,
        {{ tabular_value("record ->> 'considerationsSociales'") }} as social_raw,
        {{ tabular_value("record ->> 'considerationsEnvironnementales'") }} as environmental_raw,
        {{ tabular_value("record ->> 'origineUE'") }} as origin_eu_raw,
        {{ tabular_value("record ->> 'origineFrance'") }} as origin_france_raw,
        parsed.suppliers,
        parsed.modifications,
        {{ tabular_value("record ->> 'modification_id'") }} as tabular_version_raw,
        {{ tabular_value("record ->> 'donneesActuelles'") }} as tabular_is_current_raw,
        {{ tabular_value("record ->> 'acheteur_categorie'") }} as buyer_category_raw,
        {{ tabular_value("record ->> 'acheteur_commune_code'") }} as buyer_commune_code_raw,
        {{ tabular_value("record ->> 'acheteur_departement_code'") }} as buyer_departement_code_raw,
        has_unusable_marker
    from source
    cross join lateral (
        select
            -- decp-tabular: the row's one supplier, with decp.info's company category and location;
            -- ministry exports: titulaire_id_1..3
            case when layout = 'decp-tabular' then
                case when {{ tabular_value("record ->> 'titulaire_id'") }} is not null
                          or {{ tabular_value("record ->> 'titulaire_nom'") }} is not null
                     then jsonb_build_array(jsonb_build_object(
                        'id', {{ tabular_value("record ->> 'titulaire_id'") }},
                        'id_type', {{ tabular_value("record ->> 'titulaire_typeIdentifiant'") }},
                        'name', {{ tabular_value("record ->> 'titulaire_nom'") }},
                        'category', {{ tabular_value("record ->> 'titulaire_categorie'") }},
                        'commune_code', {{ tabular_value("record ->> 'titulaire_commune_code'") }},
                        'departement_code', {{ tabular_value("record ->> 'titulaire_departement_code'") }},
                        'region_code', {{ tabular_value("record ->> 'titulaire_region_code'") }}))
                     else '[]'::jsonb end
            else
                (select coalesce(jsonb_agg(jsonb_build_object(
                            'id', {{ tabular_value("record ->> ('titulaire_id_' || n)") }},
                            'id_type', {{ tabular_value("record ->> ('titulaire_typeIdentifiant_' || n)") }},
                            'name', {{ tabular_value("record ->> ('titulaire_denominationSociale_' || n)") }}) order by n),
                        '[]'::jsonb)
                 from generate_series(1, 3) as n
                 where {{ tabular_value("record ->> ('titulaire_id_' || n)") }} is not null
                    or {{ tabular_value("record ->> ('titulaire_denominationSociale_' || n)") }} is not null)
            end as suppliers,
            -- ministry exports: the row's modification, if any (its number is idModification)
            case when coalesce({{ tabular_value("record ->> 'idModification'") }},
                               {{ tabular_value("record ->> 'montantModification'") }},
                               {{ tabular_value("record ->> 'dureeMoisModification'") }},
                               {{ tabular_value("record ->> 'dateNotificationModification'") }},
                               {{ tabular_value("record ->> 'dateNotificationModificationModification'") }}) is not null
                 then jsonb_build_array(jsonb_build_object(
                    'position', greatest(coalesce({{ to_numeric(tabular_value("record ->> 'idModification'")) }}::int, 1), 1),
                    'notification_date', coalesce(
                        {{ tabular_value("record ->> 'dateNotificationModificationModification'") }},
                        {{ tabular_value("record ->> 'dateNotificationModification'") }}),
                    'publication_date', coalesce(
                        {{ tabular_value("record ->> 'datePublicationDonneesModificationModification'") }},
                        {{ tabular_value("record ->> 'datePublicationDonneesModification'") }}),
                    'amount', {{ tabular_value("record ->> 'montantModification'") }},
                    'duration', {{ tabular_value("record ->> 'dureeMoisModification'") }},
                    'object', {{ tabular_value("record ->> 'objetModification'") }},
                    'suppliers', case when {{ tabular_value("record ->> 'idTitulaireModification'") }} is not null
                        then jsonb_build_array(jsonb_build_object(
                            'id', {{ tabular_value("record ->> 'idTitulaireModification'") }},
                            'id_type', {{ tabular_value("record ->> 'typeIdentifiantTitulaireModification'") }},
                            'name', null))
                        else '[]'::jsonb end))
                 else '[]'::jsonb end as modifications
        offset 0
    ) as parsed
),

{{ decp_contract_shape('extracted') }}
{% endmacro %}
