{# Reading DECP records (jsonb) the way real files write them. #}

{# Text at a nested key, also when the file flattened it to a dotted key ("acheteur.id") or left a
   trailing space in the key ("nom "). #}
{% macro json_text(record, parent, key) -%}
    coalesce({{ record }} -> '{{ parent }}' ->> '{{ key }}', {{ record }} ->> '{{ parent }}.{{ key }}',
             {{ record }} -> '{{ parent }}' ->> '{{ key }} ')
{%- endmacro %}

{# The parties (titulaires, concessionnaires) of a jsonb value as a clean array
   [{"id", "id_type", "name"}], whatever the nesting: plain list (2019), wrapped list
   ([{"titulaire": {...}}], v2), lists of lists (consolidated files). Strings and empty objects are skipped. #}
{% macro normalised_parties(expr) -%}
    (select coalesce(jsonb_agg(jsonb_build_object(
                'id', party ->> 'id',
                'id_type', party ->> 'typeIdentifiant',
                'name', coalesce(party ->> 'denominationSociale', party ->> 'nom')) order by position), '[]'::jsonb)
     from jsonb_path_query({{ expr }},
            'strict $.** ? (@.type() == "object" && (exists(@.id) || exists(@.denominationSociale)))', '{}', true)
          with ordinality as parties (party, position))
{%- endmacro %}

{# The modifications of a record as a clean array, in published order:
   [{"position", "notification_date", "publication_date", "amount", "duration", "object", "suppliers"}] with
   the values as sent (text). v2 wraps each one in {"modification": {...}}; concessions use signature dates
   and valeurGlobale. Most records have none: the subquery only runs for a non-empty array. #}
{% macro normalised_modifications(expr) -%}
    case when jsonb_typeof({{ expr }}) = 'array' then case when jsonb_array_length({{ expr }}) > 0 then
    (select coalesce(jsonb_agg(jsonb_build_object(
                'position', position,
                'notification_date', coalesce(m ->> 'dateNotificationModification', m ->> 'dateSignatureModification'),
                'publication_date', m ->> 'datePublicationDonneesModification',
                'amount', coalesce(m ->> 'montant', m ->> 'valeurGlobale'),
                'duration', m ->> 'dureeMois',
                'object', m ->> 'objetModification',
                'suppliers', {{ normalised_parties("coalesce(m -> 'titulaires', m -> 'concessionnaires')") }}
            ) order by position), '[]'::jsonb)
     from jsonb_array_elements(case when jsonb_typeof({{ expr }}) = 'array' then {{ expr }} end)
          with ordinality as items (item, position)
     cross join lateral (select case when jsonb_typeof(item -> 'modification') = 'object'
                                     then item -> 'modification' else item end as m) as unwrapped
     where jsonb_typeof(m) = 'object') else '[]'::jsonb end else '[]'::jsonb end
{%- endmacro %}

{# Mapping of an enum field to the schema's value (seed ref_decp_enum_variants). Most values are already
   exactly a schema value: the exact join finds them and the costlier label_key is computed only for the
   others (the CASE makes the second join key null when the first join matched). #}
{% macro enum_joins(field, raw_expr) -%}
    left join (select distinct field, value from {{ ref('ref_decp_enum_variants') }}) as {{ field }}_exact
        on {{ field }}_exact.field = '{{ field }}' and {{ field }}_exact.value = {{ raw_expr }}
    left join {{ ref('ref_decp_enum_variants') }} as {{ field }}_variant
        on {{ field }}_variant.field = '{{ field }}'
       and {{ field }}_variant.variant_key = case when {{ field }}_exact.value is null and {{ raw_expr }} is not null
                                                  then {{ label_key(raw_expr) }} end
{%- endmacro %}

{% macro enum_value(field) -%}
    coalesce({{ field }}_exact.value, {{ field }}_variant.value)
{%- endmacro %}

{# A supplier of a normalised parties array, cleaned: identifier, its type (typeIdentifiant mapped to the
   schema, or inferred from the shape when missing: 13-14 digits = SIRET, 2 letters + digits = TVA), the
   SIRET and its status, and the natural key used by dim_supplier ("SIRET:…", "TVA:…"). #}
{% macro supplier_columns(party) -%}
    {{ clean_identifier(party ~ " ->> 'id'") }} as supplier_id_cleaned,
    {{ party }} ->> 'id' as supplier_id_raw,
    {{ party }} ->> 'id_type' as supplier_id_type_raw,
    {{ clean_text(party ~ " ->> 'name'") }} as supplier_name,
    {{ party }} ->> 'category' as supplier_category_raw,
    {{ party }} ->> 'commune_code' as supplier_commune_code_raw,
    {{ party }} ->> 'departement_code' as supplier_departement_code_raw,
    {{ party }} ->> 'region_code' as supplier_region_code_raw
{%- endmacro %}

{# The base key of a record (int_decp__record_keys): buyer SIRET + cleaned contract id, or, without a usable id, a
   hash of the buyer's notification date, amount, object and supplier ids. Null without a buyer SIRET. #}
{% macro decp_base_key(r) -%}
    {{ r }}.buyer_siret || '|' || coalesce({{ r }}.contract_id, 'noid:' || md5(concat_ws('|',
        {{ r }}.notification_date, trim_scale({{ r }}.amount_eur), {{ r }}.object,
        (select string_agg(supplier ->> 'id', ',' order by supplier ->> 'id')
         from jsonb_array_elements({{ r }}.suppliers) as supplier))))
{%- endmacro %}
