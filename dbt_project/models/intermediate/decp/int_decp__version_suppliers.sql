{{ config(
    materialized='incremental', incremental_strategy='decp_replace',
    analyze_columns=['contract_sk', 'contract_key', 'version_index', 'is_current', 'supplier_position', 'supplier_natural_key'], decp_key='contract_key',
    indexes=[{'columns': ['contract_key']}, {'columns': ['supplier_natural_key']}],
    pre_hook=["{{ decp_remember_replaced_suppliers() }}"],
    post_hook=["{{ decp_mark_processed() }}"]) }}
-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('int_decp__batch_contract_keys') }}
{%- set batch = decp_partial_batch() %}
{%- set incremental = batch is not none %}

-- One row per kept contract version and supplier, in published order, the supplier's identifier cleaned:
-- typeIdentifiant mapped to the schema ("Siret", "" -> SIRET...), or inferred from the identifier's shape
-- when missing (13-14 digits: SIRET; 2 letters then digits: TVA), the SIRET checked (14 digits and Luhn;
-- La Poste's 356000000xxxxx valid without Luhn).
with parties as (
    select
        versions.contract_sk,
        versions.contract_key,
        versions.version_index,
        versions.is_current,
        parties.position::int as supplier_position,
        jsonb_array_length(versions.suppliers) as supplier_count,
        {{ supplier_columns('parties.party') }}
    from {{ ref('int_decp__contract_versions') }} as versions
    cross join jsonb_array_elements(versions.suppliers) with ordinality as parties (party, position)
    {%- if incremental %}
    where versions.contract_key in (select contract_key from {{ ref('int_decp__batch_contract_keys') }})
    {%- endif %}
),

typed as (
    select
        p.*,
        coalesce({{ enum_value('id_type') }},
                 case when p.supplier_id_cleaned ~ '^[0-9]{13,14}$' then 'SIRET'
                      when p.supplier_id_cleaned ~ '^[A-Z]{2}[0-9A-Z]{2,13}$' then 'TVA' end) as supplier_id_type,
        {{ enum_value('id_type') }} is null as is_id_type_inferred
    from parties as p
    {{ enum_joins('id_type', 'p.supplier_id_type_raw') }}
    offset 0
),

checked as (
    select
        t.*,
        case when t.supplier_id_type = 'SIRET' then {{ siret_value('t.supplier_id_cleaned') }} end as supplier_siret
    from typed as t
    offset 0
)

select
    c.contract_sk,
    c.contract_key,
    c.version_index,
    c.is_current,
    c.supplier_position,
    c.supplier_count,
    c.supplier_id_raw,
    c.supplier_id_type_raw,
    c.supplier_id_type,
    c.is_id_type_inferred and c.supplier_id_type is not null as is_id_type_inferred,
    c.supplier_siret,
    case when c.supplier_id_type = 'SIRET' then {{ siret_status('c.supplier_siret') }} end as supplier_siret_status,
    -- natural key of dim_supplier; null (unknown member) when the supplier has no identifier
    case when c.supplier_id_type = 'SIRET' then 'SIRET:' || c.supplier_siret
         when c.supplier_id_cleaned is not null then coalesce(c.supplier_id_type, 'UNKNOWN') || ':' || c.supplier_id_cleaned
    end as supplier_natural_key,
    c.supplier_name,
    c.supplier_category_raw,
    c.supplier_commune_code_raw,
    c.supplier_departement_code_raw,
    c.supplier_region_code_raw
from checked as c
