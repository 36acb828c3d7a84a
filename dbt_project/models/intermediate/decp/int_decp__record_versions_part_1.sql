-- Part 1 of int_decp__record_versions (macro decp_record_versions_part, macros/decp_dedup.sql).
{{ decp_record_versions_part(1) }}
