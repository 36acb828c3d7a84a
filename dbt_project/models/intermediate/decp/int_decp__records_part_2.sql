-- depends_on: {{ ref('int_decp__batch') }}, {{ ref('ref_decp_enum_variants') }}, {{ ref('stg_decp__records') }}, {{ ref('stg_decp__tabular_rows') }}
-- Part 2 of int_decp__records (macro decp_records_part).
{{ decp_records_part(2, 2) }}
