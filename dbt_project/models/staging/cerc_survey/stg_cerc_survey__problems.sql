-- One row per problem the intake found in a survey row (the lines of its control report, except
-- those about the file's layout): what was written, where, and whether it rejected the row.
with source as (
    select * from {{ source('cerc_survey', 'cerc_survey_rows') }}
)

select
    source.load_id,
    source.record_number,
    source.source_file,
    source.record_kind,
    source.record ->> 'sheet' as sheet_name,
    (source.record ->> 'row')::int as sheet_row,
    problem.position as problem_number,
    problem.item ->> 'column' as column_letter,
    problem.item ->> 'header' as column_header,
    problem.item ->> 'value' as written_value,
    problem.item ->> 'problem' as problem,
    problem.item ->> 'severity' as severity
from source
cross join lateral jsonb_array_elements(source.record -> 'problems')
    with ordinality as problem (item, position)
