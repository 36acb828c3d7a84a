-- Indicator data_completeness (INDICATORS.md, proposition 1 of the observatory): how complete is what we know?
-- Two parts in one long table (standard indicator columns, so that it publishes like the others):
--   per buyer x year (Hauts-de-France buyers, territory = the buyer's département; buyer_siret) and per
--   territory x year (each département, the region 32, France FR; buyer_siret 'all'):
--     contracts_declared, one missing_<field>_share per key field, any_key_field_missing_share,
--     days_since_last_publication;
--   per source platform x year (the region 32 and France FR; platform and 'all'):
--     source_records, rejected_share, duplicate_share, cross_platform_duplicate_share.
-- Year = notification year, else the year of data publication; null when the contract has neither.
-- min_records applies to statistics (shares, and means over several buyers); counts and one buyer's
-- days since its last publication are facts published whatever n.
{% set min_records = var('min_records') %}
{% set key_fields = completeness_key_fields() %}

with as_of as (
    -- the data are as of the end of the latest DECP load
    select coalesce({{ decp_as_of_date() }}, current_date) as as_of_date
),

-- The contracts by buyer x year (int_indicators__completeness_groups, kept up to date incrementally) with what
-- the buyer is now; counted by year and buyer, then placed in territories: the places multiply groups, not a
-- million contracts.
buyer_groups as (
    select
        groups.*,
        buyers.buyer_siret,
        buyers.buyer_name,
        coalesce(buyers.is_hauts_de_france, false) as is_hauts_de_france,
        buyers.departement_code
    from {{ ref('int_indicators__completeness_groups') }} as groups
    left join {{ ref('dim_buyer') }} as buyers on buyers.buyer_key = groups.buyer_key
),

contract_groups as (
    select
        year, is_hauts_de_france, departement_code, buyer_siret,
        max(buyer_name) as buyer_name,
        sum(contracts) as contracts,
        {%- for name, _, _ in key_fields %}
        sum(missing_{{ name }}) as missing_{{ name }},
        {%- endfor %}
        sum(missing_any) as missing_any
    from buyer_groups
    group by year, is_hauts_de_france, departement_code, buyer_siret
),

contracts_placed as (
    select contract_groups.*, 'departement' as territory_level, departement_code as territory_code,
           buyer_siret as buyer
    from contract_groups where is_hauts_de_france
    union all
    select contract_groups.*, 'departement', departement_code, 'all' from contract_groups where is_hauts_de_france
    union all
    select contract_groups.*, 'region', '32', 'all' from contract_groups where is_hauts_de_france
    union all
    select contract_groups.*, 'national', 'FR', 'all' from contract_groups
),

contract_cells as (
    select
        year, territory_level, territory_code, buyer,
        max(buyer_name) as buyer_name,
        sum(contracts) as contracts,
        {%- for name, _, _ in key_fields %}
        sum(missing_{{ name }}) as missing_{{ name }},
        {%- endfor %}
        sum(missing_any) as missing_any
    from contracts_placed
    group by year, territory_level, territory_code, buyer
),

buyer_publications as (
    select
        year, buyer_siret, is_hauts_de_france, departement_code,
        sum(contracts) as contracts,
        sum(with_publication_date) as with_publication_date,
        as_of.as_of_date - max(last_publication_date) as days_since_last_publication
    from buyer_groups
    cross join as_of
    group by year, buyer_siret, is_hauts_de_france, departement_code, as_of.as_of_date
),

publications_placed as (
    select buyer_publications.*, departement_code as territory_code, buyer_siret as buyer
    from buyer_publications where is_hauts_de_france
    union all
    select buyer_publications.*, departement_code, 'all' from buyer_publications where is_hauts_de_france
    union all
    select buyer_publications.*, '32', 'all' from buyer_publications where is_hauts_de_france
    union all
    select buyer_publications.*, 'FR', 'all' from buyer_publications
),

publication_cells as (
    select
        year, territory_code, buyer,
        sum(days_since_last_publication) as days_sum,
        count(days_since_last_publication) as buyers_known,
        sum(with_publication_date) as with_publication_date,
        sum(contracts) as contracts
    from publications_placed
    group by year, territory_code, buyer
),

-- Source records (both raw tables) and what became of them, placed by their buyer (rejected records name
-- no buyer: France only).
records as (
    select
        groups.disposition,
        groups.duplicate_reason,
        groups.platform,
        groups.year,
        groups.source_records,
        coalesce(buyers.is_hauts_de_france, false) as is_hauts_de_france
    from {{ ref('int_indicators__record_groups') }} as groups
    left join {{ ref('dim_buyer') }} as buyers on buyers.buyer_siret = groups.buyer_siret
),

records_placed as (
    select records.*, 'region' as territory_level, '32' as territory_code from records where is_hauts_de_france
    union all
    select records.*, 'national', 'FR' from records
),

record_cells as (
    select
        year, territory_level, territory_code,
        coalesce(platform, 'all') as platform,
        sum(source_records) as source_records,
        coalesce(sum(source_records) filter (where disposition = 'rejected'), 0) as rejected,
        coalesce(sum(source_records) filter (where disposition = 'duplicate'), 0) as duplicates,
        coalesce(sum(source_records) filter (where duplicate_reason = 'other_platform'), 0) as cross_platform_duplicates
    from records_placed
    group by grouping sets ((year, territory_level, territory_code, platform), (year, territory_level, territory_code))
),

-- One row per measure, before the standard fields. enough = the value may be published.
measures as (
    select
        'contracts_declared' as measure, 'Marchés déclarés' as measure_label_fr,
        year, territory_level, territory_code, buyer, buyer_name, 'all' as platform,
        contracts::numeric as raw_value, contracts::numeric as numerator, null::numeric as denominator,
        contracts as n, 1.0 as coverage, true as enough, false as not_available
    from contract_cells
    {%- for name, _, label in key_fields + [('any', none, "Part des marchés avec au moins un champ clé absent ou invalide")] %}
    union all
    select
        '{{ "any_key_field_missing_share" if name == "any" else "missing_" ~ name ~ "_share" }}',
        '{{ label | replace("'", "''") }}',
        year, territory_level, territory_code, buyer, buyer_name, 'all',
        round(missing_{{ name }}::numeric / contracts, 4), missing_{{ name }}, contracts,
        contracts, 1.0, contracts >= {{ min_records }}, false
    from contract_cells
    {%- endfor %}
    union all
    select
        'days_since_last_publication', 'Jours depuis la dernière publication de données',
        publication_cells.year, contract_cells.territory_level, publication_cells.territory_code,
        publication_cells.buyer, contract_cells.buyer_name, 'all',
        round(days_sum::numeric / nullif(buyers_known, 0), 1), days_sum, buyers_known,
        buyers_known, with_publication_date::numeric / publication_cells.contracts,
        publication_cells.buyer <> 'all' or buyers_known >= {{ min_records }}, buyers_known = 0
    from publication_cells
    inner join contract_cells
        on contract_cells.year is not distinct from publication_cells.year
        and contract_cells.territory_code = publication_cells.territory_code
        and contract_cells.buyer = publication_cells.buyer
    union all
    select
        'source_records', 'Enregistrements sources reçus',
        year, territory_level, territory_code, 'all', null, platform,
        source_records, source_records, null, source_records, 1.0, true, false
    from record_cells
    union all
    -- a rejected record names no buyer: it cannot be placed in the region
    select
        'rejected_share', 'Part des enregistrements rejetés',
        year, territory_level, territory_code, 'all', null, platform,
        round(rejected::numeric / source_records, 4), rejected, source_records, source_records, 1.0,
        source_records >= {{ min_records }}, territory_level <> 'national'
    from record_cells
    union all
    select
        'duplicate_share', 'Part des enregistrements en doublon',
        year, territory_level, territory_code, 'all', null, platform,
        round(duplicates::numeric / source_records, 4), duplicates, source_records, source_records, 1.0,
        source_records >= {{ min_records }}, false
    from record_cells
    union all
    select
        'cross_platform_duplicate_share', 'Part des enregistrements déjà publiés par une autre plateforme',
        year, territory_level, territory_code, 'all', null, platform,
        round(cross_platform_duplicates::numeric / source_records, 4), cross_platform_duplicates, source_records,
        source_records, 1.0, source_records >= {{ min_records }}, false
    from record_cells
),

territories (territory_code, territory_name) as (
    {{ indicator_territories() }}
)

select
    'data_completeness' as indicator_id,
    measures.measure,
    measures.measure_label_fr,
    measures.year,
    measures.territory_level,
    measures.territory_code,
    territories.territory_name,
    measures.buyer as buyer_siret,
    case when measures.buyer <> 'all' then measures.buyer_name end as buyer_name,
    measures.platform,
    case when measures.enough and not measures.not_available then measures.raw_value end as value,
    case when not measures.not_available then measures.numerator end as numerator,
    case when not measures.not_available then measures.denominator end as denominator,
    measures.n::bigint as n,
    null::numeric as unknown_share,
    round(measures.coverage::numeric, 4) as coverage,
    40000::numeric as threshold_eur,
    '{{ var("method_version") }}'::text as method_version,
    as_of.as_of_date,
    case when measures.not_available then 'not available'
         when measures.enough then 'ok'
         else 'insufficient data' end as status
from measures
cross join as_of
left join territories on territories.territory_code = measures.territory_code
