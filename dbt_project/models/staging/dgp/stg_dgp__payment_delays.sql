-- One row per raw DGP row (none dropped), typed, with its status:
--   current     the row counts: its load is the latest successful load containing its year
--               ("reloading a year replaces that year only": older loads of the year are superseded,
--               other years keep their own latest load);
--   superseded  a later load brought the same year;
--   duplicate   same budget, year and delay as an earlier row of the same load;
--   rejected    no readable year (reject_reason says why).
-- Labels differ between files: each raw row carries the field -> column mapping its file used.
with source as (
    select * from {{ source('dgp', 'dgp_rows') }}
),

fields as (
    select
        load_id,
        record_number,
        source_file,
        record ->> 'problem' as row_problem,
        nullif(btrim(record -> 'row' ->> (record -> 'mapping' ->> 'year')), '') as year_raw,
        nullif(upper(btrim(record -> 'row' ->> (record -> 'mapping' ->> 'department_code'))), '') as department_raw,
        nullif(btrim(record -> 'row' ->> (record -> 'mapping' ->> 'department_name')), '') as department_name,
        nullif(btrim(record -> 'row' ->> (record -> 'mapping' ->> 'entity_name')), '') as entity_name,
        nullif(btrim(record -> 'row' ->> (record -> 'mapping' ->> 'siret')), '') as siret_raw,
        nullif(btrim(record -> 'row' ->> (record -> 'mapping' ->> 'budget_type')), '') as budget_type,
        nullif(btrim(record -> 'row' ->> (record -> 'mapping' ->> 'budget_nature')), '') as budget_nature_raw,
        nullif(btrim(record -> 'row' ->> (record -> 'mapping' ->> 'payment_delay_days')), '') as payment_delay_raw,
        nullif(lower(btrim(record -> 'row' ->> (record -> 'mapping' ->> 'ceiling_respected'))), '') as ceiling_flag_raw
    from source
),

typed as (
    select
        *,
        substring(year_raw from '^((?:19|20)[0-9]{2})(?:[^0-9]|$)')::int as year,
        -- '62', '62 - Pas-de-Calais', '2A'; spreadsheets turn '02' into '2'
        lpad(substring(department_raw from '^(97[1-8]|2A|2B|[0-9]{1,2})(?:[^0-9A-Z]|$)'), 2, '0') as department_code_candidate,
        regexp_replace(siret_raw, '[^0-9]', '', 'g') as siret_digits,
        case
            when upper(budget_nature_raw) in ('BP', 'BA', 'BR') then upper(budget_nature_raw)
            when budget_nature_raw ~* '^budget\s+principal' then 'BP'
            when budget_nature_raw ~* '^budget\s+annexe' then 'BA'
            when budget_nature_raw ~* '^budget\s+rattach' then 'BR'
        end as budget_nature,
        -- decimal comma or point; spaces (also non-breaking) group thousands
        {{ to_numeric("replace(regexp_replace(payment_delay_raw, '[\\s\\u00a0\\u202f]', '', 'g'), ',', '.')") }}
            as payment_delay_parsed,
        case
            when ceiling_flag_raw in ('true', 'vrai', 'oui', 'o', 'yes', '1') then true
            when ceiling_flag_raw in ('false', 'faux', 'non', 'n', 'no', '0') then false
        end as ceiling_respected_source
    from fields
),

checked as (
    select
        *,
        case when department_code_candidate ~ '^(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-8])$'
             then department_code_candidate end as department_code,
        case when length(siret_digits) = 14 then siret_digits end as siret,
        max(load_id) over (partition by year) as latest_load_of_year,
        row_number() over (
            partition by load_id, year, siret_digits, entity_name, budget_type, budget_nature_raw, payment_delay_raw
            order by record_number
        ) as occurrence
    from typed
)

select
    load_id,
    record_number,
    source_file,
    year,
    department_code,
    department_name,
    entity_name,
    siret,
    left(siret, 9) as siren,
    budget_type,
    budget_nature,
    -- a negative delay is impossible: unusable, like an unreadable one
    case when payment_delay_parsed >= 0 then payment_delay_parsed end as payment_delay_days,
    ceiling_respected_source,
    case
        when year is null then 'rejected'
        when load_id < latest_load_of_year then 'superseded'
        when occurrence > 1 then 'duplicate'
        else 'current'
    end as row_status,
    case when year is null then 'year missing or unreadable: ' || coalesce(quote_literal(year_raw), 'empty') end
        as reject_reason,
    -- what is wrong with a kept row (it still counts; the indicator reports the coverage)
    nullif(concat_ws('; ',
        row_problem,
        case when department_code is null then 'department code unreadable: ' || coalesce(department_raw, 'empty') end,
        case when siret is null then 'SIRET not 14 digits: ' || coalesce(siret_raw, 'empty') end,
        case when payment_delay_parsed is null then 'delay unreadable: ' || coalesce(payment_delay_raw, 'empty') end,
        case when payment_delay_parsed < 0 then 'negative delay: ' || payment_delay_raw end
    ), '') as quality_issues,
    year_raw,
    department_raw,
    siret_raw,
    budget_nature_raw,
    payment_delay_raw
from checked
